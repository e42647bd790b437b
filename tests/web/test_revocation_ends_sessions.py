"""Revoking a declaration ends the relying-party sessions that use it (issue 6 item 8)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.clients import ClientRegistration, register_client
from idp.web.backchannel import BackchannelSender
from idp.web.revocation_watch import RevocationWatcher
from idp.web.services import Services
from registry import SqlRegister, create_engine, revoke_declaration
from tests.conftest import ISSUER, Deployment, make_settings, seed_deployment
from tests.support import CARER, RelyingParty, login_through_forms, pkce_pair, query_of, verify_jwt


def shift_rp(deployment: Deployment, name: str, ura: str) -> RelyingParty:
    rp = RelyingParty.confidential(name, ISSUER)
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            organisations=(ura,),
            backchannel_logout_uri=f"https://rp.example/{name}/backchannel",
        ),
    )
    return rp


def sign_in(client: TestClient, rp: RelyingParty) -> str:
    verifier, challenge = pkce_pair()
    final = login_through_forms(
        client, "/authorize?" + urlencode(rp.authorize_params(code_challenge=challenge)), CARER
    )
    code = query_of(final.headers["location"])["code"]
    token: str = client.post("/token", data=rp.token_form(code, verifier)).json()["access_token"]
    return token


def status(client: TestClient, token: str) -> int:
    return client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    """Its own deployment: this test revokes one of the carer's demo declarations."""
    settings = make_settings(tmp_path)
    rp, public, restricted = seed_deployment(settings)
    return Deployment(settings, create_app(settings), rp, public, restricted)


@pytest.fixture
def client(deployment: Deployment) -> Iterator[TestClient]:
    with deployment.client() as test_client:
        yield test_client


def test_revoking_one_declaration_ends_that_rp_session_only(
    deployment: Deployment, client: TestClient
) -> None:
    delivered: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        delivered[str(request.url)] = parse_qs(request.content.decode())["logout_token"][0]
        return httpx.Response(200)

    svc: Services = deployment.app.state.services
    object.__setattr__(
        svc, "backchannel", BackchannelSender(transport=httpx.MockTransport(handler), delays=(0.0,))
    )
    revoked_rp = shift_rp(deployment, "shift-x", "90000111")
    other_rp = shift_rp(deployment, "shift-y", "90000112")
    revoked_token, other_token = sign_in(client, revoked_rp), sign_in(client, other_rp)
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {revoked_token}"}).json()
    watcher: RevocationWatcher = deployment.app.state.revocation_watcher

    # Her employer at 90000111 revokes the declaration.
    engine = create_engine(deployment.settings.database_url)
    declaration = next(
        d for d in SqlRegister(engine).usable_declarations(CARER, ("90000111",), datetime.now(UTC))
    )
    assert declaration.abonnee_nummer == info["abonnee_nummer"]
    revoke_declaration(engine, declaration.declaration_id, "left the organisation", actor="test")
    engine.dispose()

    assert client.portal is not None
    ended = client.portal.call(watcher.check_once)
    assert ended == 1
    assert status(client, revoked_token) == 401
    assert status(client, other_token) == 200
    deadline = time.monotonic() + 5
    while not delivered and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(delivered) == ["https://rp.example/shift-x/backchannel"]
    claims = verify_jwt(
        delivered["https://rp.example/shift-x/backchannel"], client.get("/jwks.json").json()
    )
    assert claims["aud"] == "shift-x" and "sid" in claims
    # A second look (another worker, or the next round) does nothing twice.
    assert client.portal.call(watcher.check_once) == 0
