"""RP 3: a Dezi-profile public client (``--auth-method none --profile dezi``) over real HTTP.

Plain httpx as the relying party, no nonce (Dezi v0.7 makes it optional), PKCE S256 binding the
code. The ID token is checked with jwskate against the discovered JWKS, not with our own stack.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from jwskate import JwkSet, SignedJwt

from tests.interop.live import LiveServer
from tests.support import CARER, login_through_forms, pkce_pair, query_of

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CLIENT_ID = "interop-dezi-public"
REDIRECT_URI = "https://dezi-public.example/cb"
CHOSEN_URA = "90000115"


@pytest.fixture(scope="module")
def public_client(live_server: LiveServer) -> str:
    live_server.register_client(
        CLIENT_ID,
        REDIRECT_URI,
        auth_method="none",
        profile="dezi",
        organisations=("90000103", CHOSEN_URA),
        name="Dezi public EPD",
    )
    return CLIENT_ID


def authorize_and_login(
    server: LiveServer, metadata: dict[str, Any]
) -> tuple[str, str, dict[str, str]]:
    """Authorization request without nonce, browser steps; return (code, verifier, callback)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{metadata['authorization_endpoint']}?{urlencode(params)}"
    with server.browser() as browser:
        final = login_through_forms(browser, url, CARER, choose=CHOSEN_URA)
    assert final.status_code == 303, final.text
    location = final.headers["location"]
    assert location.startswith(f"{REDIRECT_URI}?")
    callback = query_of(location)
    assert callback["state"] == state
    assert callback["iss"] == server.issuer  # RFC 9207
    return callback["code"], verifier, callback


def test_public_client_without_nonce(live_server: LiveServer, public_client: str) -> None:
    with httpx.Client(timeout=10.0) as rp:
        metadata = rp.get(live_server.url("/.well-known/openid-configuration")).json()
        assert metadata["issuer"] == live_server.issuer
        assert "none" in metadata["token_endpoint_auth_methods_supported"]
        jwks = JwkSet(rp.get(metadata["jwks_uri"]).json())

        code, verifier, _ = authorize_and_login(live_server, metadata)
        response = rp.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": public_client,
            },
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"

        id_token = SignedJwt(body["id_token"])
        assert id_token.alg in metadata["id_token_signing_alg_values_supported"]
        assert id_token.verify_signature(jwks.get_jwk_by_kid(id_token.kid), alg=id_token.alg)
        assert id_token.issuer == live_server.issuer
        assert id_token.audiences == [public_client]
        assert not id_token.is_expired()
        assert "nonce" not in id_token.claims

        info = rp.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
        assert info.status_code == 200, info.text
        assert info.headers["content-type"].startswith("application/json")
        data = info.json()
        assert data["sub"] == id_token.subject
        assert data["dezi_nummer"] == CARER
        assert data["abonnee_nummer"] == CHOSEN_URA


def test_public_client_without_code_verifier_is_refused(
    live_server: LiveServer, public_client: str
) -> None:
    """PKCE still binds a public client's code: no verifier, no tokens."""
    with httpx.Client(timeout=10.0) as rp:
        metadata = rp.get(live_server.url("/.well-known/openid-configuration")).json()
        code, _, _ = authorize_and_login(live_server, metadata)
        response = rp.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": public_client,
            },
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
