"""DigiD over SAML 2.0 through the ASGI app, against pysaml2's IdP classes served over ASGI.

The browser is played by test clients: ours keeps the binding and session cookies; the post to
the ACS comes from a client without cookies, as a browser sends a cross-site POST when the
cookies are SameSite=Lax (``idp.web.postback``).
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from idp.app import create_app
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL, SsoSession
from idp.settings import Settings
from idp.web.linking import LINK_MAX_AGE, may_offer_link
from registry import Bsn, bind_identity
from registry.db import create_engine
from tests import saml_idp
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.saml_idp import IDP_ENTITY_ID, PendingRequest, Posted, SamlTestIdp, auto_post
from tests.support import (
    CARER,
    PHYSICIAN,
    Form,
    RelyingParty,
    login_through_forms,
    parse_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)

BOUND_BSN = "999991772"  # bound to PHYSICIAN by the fixture
LINKED_BSN = "958310828"  # linked by CARER in the first-time binding test
NEVER_BSN = "932763133"  # never bound
BAD_BSN = "900000001"  # fails the elfproef
ALL_BSNS = (BOUND_BSN, LINKED_BSN, NEVER_BSN, BAD_BSN)


@dataclass
class DigidSite:
    settings: Settings
    app: Starlette
    rp: RelyingParty
    idp: SamlTestIdp

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DigidSite:
    tmp = tmp_path_factory.mktemp("digid-web")
    idp = SamlTestIdp(tmp / "idp")
    key, cert = saml_idp.key_pair(tmp, "sp")
    settings = make_settings(
        tmp,
        login_methods=("dev", "digid"),
        digid={"idp_metadata": idp.metadata_file, "sp_key": key, "sp_cert": cert},
    )
    rp, _, _ = seed_deployment(settings)
    app = create_app(settings)
    metadata = TestClient(app, base_url=ISSUER).get("/authn/digid/metadata")
    assert metadata.status_code == 200
    assert metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    idp.trust_sp(metadata.text)
    subject_key = load_or_create_secrets(settings.data_dir)["bsn_hash_secret"].encode()
    engine = create_engine(settings.database_url)
    bind_identity(engine, PHYSICIAN, "digid", Bsn(BOUND_BSN).keyed_hash(subject_key), actor="test")
    engine.dispose()
    return DigidSite(settings, app, rp, idp)


@pytest.fixture
def client(site: DigidSite) -> Iterator[TestClient]:
    with site.browser() as browser:
        yield browser


# -- the browser's steps -----------------------------------------------------------------------


def authorize(client: TestClient, rp: RelyingParty, **extra: str) -> tuple[str, str]:
    """``/authorize`` → the transaction's path and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge, **extra)
    response = client.get(f"/authorize?{urlencode(params)}")
    assert response.status_code == 303, response.text
    return response.headers["location"], verifier


def to_idp(client: TestClient, tx_path: str) -> str:
    """Choose DigiD: our signed AuthnRequest, as the redirect to the IdP."""
    response = client.get(f"{tx_path}/digid")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(saml_idp.IDP_SSO_URL + "?SAMLRequest=")
    return location


def log_in_at_idp(site: DigidSite, url: str, bsn: str) -> Form:
    """The person logs in at the IdP (its ASGI app); returns its auto-posting form."""
    idp_browser = TestClient(site.idp.app(), base_url=IDP_ENTITY_ID.removesuffix("/saml/idp"))
    page = idp_browser.get(url.removeprefix(IDP_ENTITY_ID.removesuffix("/saml/idp")))
    assert page.status_code == 200, page.text
    login_form = parse_forms(page.text)[0]
    posted = idp_browser.post(
        login_form.action.removeprefix(IDP_ENTITY_ID.removesuffix("/saml/idp")),
        data={**login_form.fields, "bsn": bsn},
    )
    (form,) = parse_forms(posted.text)
    assert form.action == f"{ISSUER}/authn/digid/acs"
    return form


def post_to_acs(site: DigidSite, fields: dict[str, str]) -> httpx.Response:
    """The cross-site POST: no cookies (SameSite=Lax), the IdP's Origin."""
    cross_site = TestClient(site.app, base_url=ISSUER, follow_redirects=False)
    return cross_site.post(
        "/authn/digid/acs", data=fields, headers={"Origin": "https://digid.idp.test"}
    )


def back_from_idp(site: DigidSite, client: TestClient, fields: dict[str, str]) -> httpx.Response:
    relayed = post_to_acs(site, fields)
    assert relayed.status_code == 303, relayed.text
    location = relayed.headers["location"]
    assert location.startswith("/login/") and "/digid/return?ticket=" in location
    return client.get(location)


def continue_forms(client: TestClient, response: httpx.Response) -> httpx.Response:
    """Follow local redirects and approve forms until the OP redirects to the client."""
    for _ in range(8):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/"):
                return response
            response = client.get(location)
            continue
        forms = [f for f in parse_forms(response.text) if f.method == "post"]
        if not forms:
            return response
        form = forms[0]
        data = dict(form.fields)
        for name, values in form.radios.items():
            data[name] = values[0]
        name, value = form.submits[0]
        data[name] = value
        response = client.post(form.action, data=data)
    raise AssertionError("too many steps")


def digid_login(
    site: DigidSite, client: TestClient, bsn: str, **extra: str
) -> tuple[httpx.Response, str]:
    tx_path, verifier = authorize(client, site.rp, **extra)
    form = log_in_at_idp(site, to_idp(client, tx_path), bsn)
    return back_from_idp(site, client, form.fields), verifier


def tokens(client: TestClient, rp: RelyingParty, final: httpx.Response, verifier: str) -> Any:
    assert final.status_code == 303, final.text
    assert final.headers["location"].startswith(rp.redirect_uri)
    code = query_of(final.headers["location"])["code"]
    response = client.post("/token", data=rp.token_form(code, verifier))
    assert response.status_code == 200, response.text
    body = response.json()
    claims = verify_jwt(body["id_token"], client.get("/jwks.json").json())
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    return claims, info.json()


def has_session(site: DigidSite, client: TestClient) -> bool:
    """Whether this browser has an OP session: a silent authorize succeeds only then."""
    _, challenge = pkce_pair()
    params = site.rp.authorize_params(code_challenge=challenge, prompt="none")
    response = client.get(f"/authorize?{urlencode(params)}")
    return "code" in query_of(response.headers.get("location", ""))


# -- journeys ----------------------------------------------------------------------------------


def test_a_bound_professional_gets_a_code_and_tokens(site: DigidSite, client: TestClient) -> None:
    returned, verifier = digid_login(site, client, BOUND_BSN)
    claims, info = tokens(client, site.rp, continue_forms(client, returned), verifier)
    assert claims["acr"] == LOA_SUBSTANTIAL  # DigiD Midden, never more (DECISIONS.md #7)
    assert info["dezi_nummer"] == PHYSICIAN
    assert BOUND_BSN not in json.dumps(claims) + json.dumps(info)
    assert has_session(site, client)


def test_the_return_needs_this_browsers_cookie(site: DigidSite, client: TestClient) -> None:
    tx_path, _ = authorize(client, site.rp)
    form = log_in_at_idp(site, to_idp(client, tx_path), BOUND_BSN)
    relayed = post_to_acs(site, form.fields)
    other_browser = site.browser()
    page = other_browser.get(relayed.headers["location"])
    assert page.status_code == 400 and "expired" in page.text
    # The ticket is still there for the right browser, and then used up.
    assert client.get(relayed.headers["location"]).status_code == 303
    assert "expired" in client.get(relayed.headers["location"]).text


def test_a_response_in_the_url_counts_for_nothing(site: DigidSite, client: TestClient) -> None:
    """Only the relay carries SAMLResponse; one in the query of the return URL is dropped."""
    tx_path, _ = authorize(client, site.rp)
    form = log_in_at_idp(site, to_idp(client, tx_path), BOUND_BSN)
    page = client.get(f"{tx_path}/digid/return?{urlencode(form.fields)}")
    assert page.status_code == 400
    assert not has_session(site, client)


def test_the_acs_refuses_a_post_without_a_login(site: DigidSite) -> None:
    assert post_to_acs(site, {"SAMLResponse": "PHg+"}).status_code == 400
    assert post_to_acs(site, {"RelayState": "x" * 43}).status_code == 400
    assert post_to_acs(site, {"RelayState": "../../etc", "SAMLResponse": "PHg+"}).status_code == 400
    unknown = TestClient(site.app, base_url=ISSUER).post(
        "/authn/nosuch/acs", data={"RelayState": "x" * 43, "SAMLResponse": "PHg+"}
    )
    assert unknown.status_code == 404


def test_only_saml_methods_publish_metadata(site: DigidSite, client: TestClient) -> None:
    assert client.get("/authn/dev/metadata").status_code == 404
    xml = client.get("/authn/digid/metadata").text
    assert f'entityID="{ISSUER}"' in xml and f"{ISSUER}/authn/digid/acs" in xml


# -- first-time binding ------------------------------------------------------------------------


def test_first_time_binding_from_a_high_session(site: DigidSite, client: TestClient) -> None:
    _, challenge = pkce_pair()
    first = login_through_forms(
        client,
        f"/authorize?{urlencode(site.rp.authorize_params(code_challenge=challenge))}",
        CARER,
        choose="Test login",
    )
    assert first.status_code == 303  # a dev session at level high (DECISIONS.md #10)
    offer, verifier = digid_login(site, client, LINKED_BSN, prompt="login")
    assert offer.status_code == 200, offer.text
    assert "J. van der Berg" in offer.text and "Link" in offer.text
    form = parse_forms(offer.text)[0]
    assert form.action.endswith("/digid/link") and set(form.fields) == {"csrf_token", "ticket"}
    linked = client.post(form.action, data={**form.fields, "action": "link"})
    claims, info = tokens(client, site.rp, continue_forms(client, linked), verifier)
    assert claims["acr"] == LOA_SUBSTANTIAL and info["dezi_nummer"] == CARER

    rows = _rows(site, "SELECT method, subject_hash FROM identity_binding")
    key = load_or_create_secrets(site.settings.data_dir)["bsn_hash_secret"].encode()
    assert ("digid", Bsn(LINKED_BSN).keyed_hash(key)) in rows
    audit = _rows(site, "SELECT actor, action, object_id, detail FROM audit_record")
    assert (f"dezi:{CARER}", "identity.bind", CARER, '{"method": "digid"}') in audit

    # From now on DigiD alone logs her in, in a browser without any session.
    with site.browser() as fresh:
        returned, verifier = digid_login(site, fresh, LINKED_BSN)
        _, info = tokens(fresh, site.rp, continue_forms(fresh, returned), verifier)
        assert info["dezi_nummer"] == CARER


def test_without_a_high_session_a_page_explains_how_to_link(
    site: DigidSite, client: TestClient
) -> None:
    page, _ = digid_login(site, client, NEVER_BSN)
    assert page.status_code == 403
    assert "log in with your UZI-pas" in page.text and "administrator" in page.text
    assert NEVER_BSN not in page.text
    assert not has_session(site, client)
    assert len(_rows(site, "SELECT id FROM identity_binding")) <= 2  # nothing was bound


def test_declining_the_link_returns_to_the_client(site: DigidSite) -> None:
    with site.browser() as client:
        _, challenge = pkce_pair()
        url = f"/authorize?{urlencode(site.rp.authorize_params(code_challenge=challenge))}"
        assert login_through_forms(client, url, PHYSICIAN, choose="Test login").status_code == 303
        offer, _ = digid_login(site, client, NEVER_BSN, prompt="login")
        form = parse_forms(offer.text)[0]
        declined = client.post(form.action, data={**form.fields, "action": "cancel"})
        assert query_of(declined.headers["location"])["error"] == "access_denied"
        # The ticket went with the answer: approving afterwards finds nothing.
        late = client.post(form.action, data={**form.fields, "action": "link"})
        assert late.status_code == 400


def test_the_link_is_offered_only_from_a_recent_high_session_of_another_method() -> None:
    now = 1_800_000_000
    fresh = SsoSession(
        sid="s" * 43,
        dezi_nummer=CARER,
        acr=LOA_HIGH,
        auth_time=now - 60,
        login_method="uzi",
        created_at=now - 60,
        last_seen=now,
    )
    assert may_offer_link(fresh, "digid", now)
    assert not may_offer_link(None, "digid", now)
    assert not may_offer_link(replace(fresh, acr=LOA_SUBSTANTIAL), "digid", now)
    assert not may_offer_link(replace(fresh, login_method="digid"), "digid", now)
    assert not may_offer_link(replace(fresh, auth_time=now - LINK_MAX_AGE - 1), "digid", now)


def _rows(site: DigidSite, sql: str) -> list[tuple[Any, ...]]:
    path = site.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return list(connection.execute(sql))


# -- bad input: a clear page, a log line, no session -------------------------------------------

Attack = Any  # (site, client, tx_path, pending request) -> fields posted to the ACS


def _pending(site: DigidSite, client: TestClient, tx_path: str) -> PendingRequest:
    return site.idp.receive(to_idp(client, tx_path))


def replayed(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    """A response that logged someone in, posted again for a new login."""
    with site.browser() as victim:
        earlier_path, _ = authorize(victim, site.rp)
        form = log_in_at_idp(site, to_idp(victim, earlier_path), BOUND_BSN)
        assert back_from_idp(site, victim, form.fields).status_code in (200, 303)
    _pending(site, client, tx_path)
    return {**form.fields, "RelayState": tx_path.removeprefix("/login/")}


def altered(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    posted = site.idp.respond(_pending(site, client, tx_path), NEVER_BSN)
    document = base64.b64decode(posted.saml_response).replace(
        NEVER_BSN.encode(), BOUND_BSN.encode()
    )
    return {**posted.form(), "SAMLResponse": base64.b64encode(document).decode()}


def tweaked(tweak: saml_idp.Tweak) -> Attack:
    def attack(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
        return site.idp.respond(_pending(site, client, tx_path), tweak=tweak).form()

    return attack


def failing_elfproef(site: DigidSite, client: TestClient, tx_path: str) -> dict[str, str]:
    return site.idp.respond(_pending(site, client, tx_path), BAD_BSN).form()


BAD_INPUT: list[tuple[str, Attack, set[str]]] = [
    ("replayed assertion", replayed, {"in_response_to", "replayed"}),
    ("altered response", altered, {"signature"}),
    ("wrong audience", tweaked(saml_idp.wrong_audience), {"audience"}),
    ("wrong destination", tweaked(saml_idp.wrong_destination), {"destination"}),
    ("expired", tweaked(saml_idp.expired), {"conditions", "expired"}),
    ("unknown InResponseTo", tweaked(saml_idp.unknown_in_response_to), {"in_response_to"}),
    ("BSN failing the elfproef", failing_elfproef, {"bsn"}),
]


@pytest.mark.parametrize(("case", "attack", "reasons"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_gets_an_error_page_a_log_line_and_no_session(
    site: DigidSite,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    case: str,
    attack: Attack,
    reasons: set[str],
) -> None:
    tx_path, _ = authorize(client, site.rp)
    fields = attack(site, client, tx_path)
    caplog.set_level(logging.INFO)
    page = back_from_idp(site, client, fields)
    assert page.status_code == 400, page.text
    assert "Login failed" in page.text and "DigiD" in page.text
    refused = [
        json.loads(r.getMessage())
        for r in caplog.records
        if "digid_login_refused" in r.getMessage()
    ]
    assert len(refused) == 1 and refused[0]["reason"] in reasons, refused
    assert not has_session(site, client)
    assert not any(c.name.endswith("zorg_session") for c in client.cookies.jar)


# -- the BSN in clear: in no log line, no database row, no state entry -------------------------


def test_no_log_line_db_row_or_state_entry_holds_a_bsn(
    site: DigidSite, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with site.browser() as client:
        returned, _ = digid_login(site, client, BOUND_BSN)
        continue_forms(client, returned)
    for bsn in (NEVER_BSN, BAD_BSN):
        with site.browser() as client:
            digid_login(site, client, bsn)
    with site.browser() as client:
        tx_path, _ = authorize(client, site.rp)
        back_from_idp(site, client, altered(site, client, tx_path))
    logged = "\n".join(r.getMessage() for r in caplog.records) + "".join(capfd.readouterr())
    assert "digid_login_accepted" in logged and "digid_login_refused" in logged
    dump = "\n".join(_dump(site))
    entries = "\n".join(v for _, v in site.app.state.services.state._entries.values())
    for bsn in ALL_BSNS:
        assert bsn not in logged
        assert bsn not in dump
        assert bsn not in entries
    assert "SAMLResponse" not in entries and "PHNhbWxwOl" not in entries  # sealed


def _dump(site: DigidSite) -> Iterator[str]:
    path = Path(site.settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        yield from connection.iterdump()


def test_the_auto_post_page_is_what_a_browser_submits(site: DigidSite) -> None:
    """The test IdP's page is a plain form to our ACS (Bindings §3.5.4)."""
    posted = Posted(f"{ISSUER}/authn/digid/acs", "PHg+", "tx")
    (form,) = parse_forms(auto_post(posted))
    assert form.action == posted.action and form.fields == posted.form()
