"""RP-initiated and back-channel logout (checklist I1, I2; issue 6 item 8)."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from idp.clients import ClientRegistration, register_client
from idp.protocol.jose import unverified_header
from idp.protocol.logout import BACKCHANNEL_EVENT
from idp.web.backchannel import BackchannelSender
from idp.web.services import Services
from tests.conftest import ISSUER, Deployment
from tests.support import (
    CARER,
    RelyingParty,
    login_through_forms,
    parse_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)


class Capture:
    def __init__(self) -> None:
        self.tokens: dict[str, list[str]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = parse_qs(request.content.decode())["logout_token"][0]
        self.tokens.setdefault(str(request.url), []).append(token)
        return httpx.Response(200)


@pytest.fixture
def capture(deployment: Deployment) -> Capture:
    capture = Capture()
    svc: Services = deployment.app.state.services
    sender = BackchannelSender(transport=httpx.MockTransport(capture.handler), delays=(0.0,))
    object.__setattr__(svc, "backchannel", sender)
    return capture


def logout_rp(deployment: Deployment, name: str, ura: str) -> RelyingParty:
    rp = RelyingParty.confidential(name, ISSUER)
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            organisations=(ura,),
            backchannel_logout_uri=f"https://rp.example/{name}/backchannel",
            post_logout_redirect_uris=(f"https://rp.example/{name}/bye",),
        ),
    )
    return rp


def sign_in(client: TestClient, rp: RelyingParty) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    url = f"/authorize?{urlencode(rp.authorize_params(code_challenge=challenge))}"
    final = login_through_forms(client, url, CARER)
    code = query_of(final.headers["location"])["code"]
    body: dict[str, str] = client.post("/token", data=rp.token_form(code, verifier)).json()
    return body


def userinfo_status(client: TestClient, tokens: dict[str, str]) -> int:
    return client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).status_code


def test_rp_initiated_logout_reaches_every_relying_party(
    deployment: Deployment, client: TestClient, capture: Capture
) -> None:
    a = logout_rp(deployment, "logout-a", "90000101")
    b = logout_rp(deployment, "logout-b", "90000102")
    tokens_a, tokens_b = sign_in(client, a), sign_in(client, b)
    assert userinfo_status(client, tokens_a) == userinfo_status(client, tokens_b) == 200
    sid = verify_jwt(tokens_a["id_token"], client.get("/jwks.json").json())["sid"]

    params = {
        "id_token_hint": tokens_a["id_token"],
        "post_logout_redirect_uri": "https://rp.example/logout-a/bye",
        "state": "st",
    }
    response = client.get("/logout?" + urlencode(params))
    assert response.status_code == 303
    assert response.headers["location"] == "https://rp.example/logout-a/bye?state=st"
    # Tokens of both relying parties stop working at once.
    assert userinfo_status(client, tokens_a) == userinfo_status(client, tokens_b) == 401
    deadline = time.monotonic() + 5  # deliveries run in the background, off the user's path
    while len(capture.tokens) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    jwks = client.get("/jwks.json").json()
    assert set(capture.tokens) == {
        "https://rp.example/logout-a/backchannel",
        "https://rp.example/logout-b/backchannel",
    }
    for uri, delivered in capture.tokens.items():
        assert len(delivered) == 1
        header = unverified_header(delivered[0])
        claims = verify_jwt(delivered[0], jwks)
        assert header["typ"] == "logout+jwt"
        assert claims["events"] == {BACKCHANNEL_EVENT: {}}
        assert claims["sid"] == sid and "nonce" not in claims
        assert claims["aud"] in uri and claims["exp"] - claims["iat"] <= 120
    # After logout, the session is gone: prompt=none needs a login.
    _verifier, challenge = pkce_pair()
    silent = client.get(
        "/authorize?" + urlencode(a.authorize_params(code_challenge=challenge, prompt="none"))
    )
    assert query_of(silent.headers["location"])["error"] == "login_required"


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.example/logout-c/bye?foo=bar",
        "https://evil.example/bye",
        "https://rp.example/logout-c/bye/",
    ],
)
def test_unregistered_post_logout_redirect_is_never_followed(
    deployment: Deployment, client: TestClient, capture: Capture, uri: str
) -> None:
    rp = logout_rp(deployment, "logout-c", "90000103")
    tokens = sign_in(client, rp)
    response = client.get(
        "/logout?"
        + urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": uri})
    )
    assert response.status_code == 400 and "location" not in response.headers
    assert userinfo_status(client, tokens) == 200  # nothing ended


def test_foreign_or_unsigned_hint_is_refused(
    deployment: Deployment, client: TestClient, capture: Capture
) -> None:
    rp = logout_rp(deployment, "logout-d", "90000104")
    tokens = sign_in(client, rp)
    other = RelyingParty.confidential("someone", ISSUER)
    forged = other.assertion(aud="logout-d", sid="x")
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    unsigned = f"{head}.{tokens['id_token'].split('.')[1]}."
    for hint in (forged, unsigned, "garbage"):
        response = client.get(
            "/logout?"
            + urlencode(
                {
                    "id_token_hint": hint,
                    "post_logout_redirect_uri": "https://rp.example/logout-d/bye",
                }
            )
        )
        assert response.status_code == 400 and "location" not in response.headers
    assert userinfo_status(client, tokens) == 200


def test_logout_without_hint_asks_for_confirmation(
    deployment: Deployment, client: TestClient, capture: Capture
) -> None:
    rp = logout_rp(deployment, "logout-e", "90000105")
    tokens = sign_in(client, rp)
    page = client.get("/logout")
    assert page.status_code == 200 and "Log out everywhere" in page.text
    form = parse_forms(page.text)[0]
    assert form.submits[0] == ("action", "logout")  # the approving button comes first
    refused = client.post(
        "/logout", data={**form.fields, "action": "logout", "csrf_token": "forged"}
    )
    assert refused.status_code == 403
    assert userinfo_status(client, tokens) == 200
    stay = client.post("/logout", data={**form.fields, "action": "stay"})
    assert "still logged in" in stay.text and userinfo_status(client, tokens) == 200
    done = client.post("/logout", data={**form.fields, "action": "logout"})
    assert done.status_code == 200 and "You are logged out" in done.text
    assert userinfo_status(client, tokens) == 401


def test_logout_without_session_is_harmless(deployment: Deployment) -> None:
    with deployment.client() as fresh:
        page = fresh.get("/logout")
        assert page.status_code == 200 and "logged out" in page.text


def test_discovery_advertises_logout(client: TestClient) -> None:
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["end_session_endpoint"] == f"{ISSUER}/logout"
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
