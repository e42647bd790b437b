"""One login per shift: the OP session answers later requests silently (issue 6 item 7)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.clients import ClientRegistration, register_client
from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL
from idp.web.services import Services
from tests.conftest import ISSUER, Deployment, make_settings, seed_deployment
from tests.support import (
    CARER,
    PHYSICIAN,
    RelyingParty,
    login_through_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)

HOME_CARE = [f"900001{n:02d}" for n in range(1, 16)]


class CountingClient:
    """Wraps a TestClient and counts authentications (POSTs to a login method's form)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.authentications = 0

    def get(self, url: str, **kwargs: object) -> object:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, **kwargs: object) -> object:
        if url.startswith("/login/") and url.count("/") == 3:
            self.authentications += 1
        return self.client.post(url, **kwargs)  # type: ignore[arg-type]


def authorize_url(rp: RelyingParty, **extra: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    return (
        f"/authorize?{urlencode(rp.authorize_params(code_challenge=challenge, **extra))}",
        verifier,
    )


def shift_client(deployment: Deployment, ura: str) -> RelyingParty:
    rp = RelyingParty.confidential(f"epd-{ura}", ISSUER)
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            organisations=(ura,),
            name=f"EPD of {ura}",
        ),
    )
    return rp


def test_fifteen_organisations_one_authentication_fifteen_tokens(deployment: Deployment) -> None:
    """The out-of-hours carer's shift: one login, then the EPDs of all 15 organisations."""
    rps = [shift_client(deployment, ura) for ura in HOME_CARE]
    tokens = 0
    with deployment.client() as raw:
        browser = CountingClient(raw)
        seen = set()
        for rp in rps:
            url, verifier = authorize_url(rp)
            final = login_through_forms(browser, url, CARER)
            assert final.status_code == 303 and final.headers["location"].startswith(
                rp.redirect_uri
            )
            code = query_of(final.headers["location"])["code"]
            body = raw.post("/token", data=rp.token_form(code, verifier)).json()
            info = raw.get(
                "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
            ).json()
            seen.add(info["abonnee_nummer"])
            tokens += 1
    assert browser.authentications == 1
    assert tokens == 15
    assert seen == set(HOME_CARE)


def test_second_rp_is_silent_and_keeps_auth_time(
    deployment: Deployment, client: TestClient
) -> None:
    first, second = deployment.rp, deployment.restricted_rp
    url, verifier = authorize_url(first)
    final = login_through_forms(client, url, CARER, choose="90000103")
    code = query_of(final.headers["location"])["code"]
    id1 = verify_jwt(
        client.post("/token", data=first.token_form(code, verifier)).json()["id_token"],
        client.get("/jwks.json").json(),
    )
    url, verifier = authorize_url(second)
    response = client.get(url)  # straight back to the RP: no page at all
    assert response.status_code == 303 and response.headers["location"].startswith(
        second.redirect_uri
    )
    code = query_of(response.headers["location"])["code"]
    id2 = verify_jwt(
        client.post("/token", data=second.token_form(code, verifier)).json()["id_token"],
        client.get("/jwks.json").json(),
    )
    assert id2["auth_time"] == id1["auth_time"]
    assert id2["sid"] == id1["sid"] and id2["acr"] == LOA_HIGH
    assert id2["sub"] != id1["sub"]  # pairwise


def test_several_organisations_still_ask_which_one(
    deployment: Deployment, client: TestClient
) -> None:
    login_through_forms(client, authorize_url(deployment.restricted_rp)[0], CARER)
    response = client.get(authorize_url(deployment.rp)[0])
    assert response.status_code == 303 and response.headers["location"].startswith("/select/")


def test_prompt_none_with_a_session(deployment: Deployment, client: TestClient) -> None:
    login_through_forms(client, authorize_url(deployment.restricted_rp)[0], CARER)
    silent = client.get(authorize_url(deployment.restricted_rp, prompt="none")[0])
    assert "code" in query_of(silent.headers["location"])
    choice = client.get(authorize_url(deployment.rp, prompt="none")[0])
    assert query_of(choice.headers["location"])["error"] == "account_selection_required"


def test_prompt_select_account_shows_the_choice(deployment: Deployment, client: TestClient) -> None:
    login_through_forms(client, authorize_url(deployment.restricted_rp)[0], CARER)
    response = client.get(authorize_url(deployment.restricted_rp, prompt="select_account")[0])
    assert response.headers["location"].startswith("/select/")


def test_prompt_login_and_max_age_force_authentication(deployment: Deployment) -> None:
    with deployment.client() as raw:
        browser = CountingClient(raw)
        login_through_forms(browser, authorize_url(deployment.restricted_rp)[0], CARER)
        login_through_forms(
            browser, authorize_url(deployment.restricted_rp, prompt="login")[0], CARER
        )
        assert browser.authentications == 2
        time.sleep(1.1)
        login_through_forms(browser, authorize_url(deployment.restricted_rp, max_age="0")[0], CARER)
        assert browser.authentications == 3
        login_through_forms(
            browser, authorize_url(deployment.restricted_rp, max_age="3600")[0], CARER
        )
        assert browser.authentications == 3


def test_fresh_login_gets_a_new_session_id(deployment: Deployment, client: TestClient) -> None:
    """Session fixation (ASVS 7.2.4, checklist J4)."""
    svc: Services = deployment.app.state.services
    login_through_forms(client, authorize_url(deployment.restricted_rp)[0], CARER)
    first = client.cookies.get("zorg_session")
    assert first
    login_through_forms(client, authorize_url(deployment.restricted_rp, prompt="login")[0], CARER)
    second = client.cookies.get("zorg_session")
    assert second and second != first
    assert svc.state.get_session(first) is None


def test_idle_and_absolute_timeouts(deployment: Deployment, client: TestClient) -> None:
    svc: Services = deployment.app.state.services
    login_through_forms(client, authorize_url(deployment.restricted_rp)[0], CARER)
    sid = client.cookies.get("zorg_session")
    assert sid
    session = svc.state.get_session(sid)
    assert session is not None
    idle = svc.settings.session_idle_ttl
    svc.state.put_session(replace(session, last_seen=int(time.time()) - idle - 1), ttl=60)
    response = client.get(authorize_url(deployment.restricted_rp, prompt="none")[0])
    assert query_of(response.headers["location"])["error"] == "login_required"
    absolute = svc.settings.session_absolute_ttl
    svc.state.put_session(replace(session, created_at=int(time.time()) - absolute - 1), ttl=60)
    response = client.get(authorize_url(deployment.restricted_rp, prompt="none")[0])
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_physician_session_does_not_reach_the_carer(
    deployment: Deployment, client: TestClient
) -> None:
    login_through_forms(client, authorize_url(deployment.rp)[0], PHYSICIAN)
    response = client.get(authorize_url(deployment.restricted_rp, prompt="none")[0])
    # The physician has no declaration at 90000103: no code, and no other person's session.
    assert query_of(response.headers["location"])["error"] == "access_denied"


@pytest.fixture(scope="module")
def substantial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A deployment whose only login method achieves substantial, to test level rules."""
    tmp: Path = tmp_path_factory.mktemp("substantial")
    settings = make_settings(tmp, dev_login_loa="substantial")
    rp, public, restricted = seed_deployment(settings)
    yield Deployment(settings, create_app(settings), rp, public, restricted)


def test_acr_never_exceeds_what_was_achieved(substantial: Deployment) -> None:
    with substantial.client() as client:
        rp = substantial.restricted_rp
        url, verifier = authorize_url(rp, acr_values=f"{LOA_SUBSTANTIAL} {LOA_HIGH}")
        final = login_through_forms(client, url, CARER)
        code = query_of(final.headers["location"])["code"]
        body = client.post("/token", data=rp.token_form(code, verifier)).json()
        assert (
            verify_jwt(body["id_token"], client.get("/jwks.json").json())["acr"] == LOA_SUBSTANTIAL
        )


def test_level_that_no_method_meets_is_refused(substantial: Deployment) -> None:
    with substantial.client() as client:
        response = client.get(authorize_url(substantial.restricted_rp, acr_values=LOA_HIGH)[0])
        assert query_of(response.headers["location"])["error"] == "access_denied"
        claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [LOA_HIGH]}}})
        response = client.get(authorize_url(substantial.restricted_rp, claims=claims)[0])
        assert query_of(response.headers["location"])["error"] == "access_denied"


def test_session_at_lower_level_needs_step_up(substantial: Deployment) -> None:
    with substantial.client() as client:
        login_through_forms(client, authorize_url(substantial.restricted_rp)[0], CARER)
        again = client.get(
            authorize_url(substantial.restricted_rp, acr_values=LOA_SUBSTANTIAL, prompt="none")[0]
        )
        assert "code" in query_of(again.headers["location"])
        step_up = client.get(
            authorize_url(substantial.restricted_rp, acr_values=LOA_HIGH, prompt="none")[0]
        )
        assert query_of(step_up.headers["location"])["error"] == "login_required"
