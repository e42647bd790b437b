"""Administrators log in for the register API without a declaration (issue 4 item 5)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from idp.clients import ClientRegistration, register_client
from tests.conftest import ISSUER, Deployment
from tests.support import (
    REGISTRY_ADMIN,
    REVOKED_NURSE,
    RelyingParty,
    login_through_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)


@pytest.fixture(scope="module")
def admin_app(deployment: Deployment) -> RelyingParty:
    rp = RelyingParty.confidential("register-admin-ui", ISSUER)
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            scopes=("openid", "registry"),
            name="Register administration",
        ),
    )
    return rp


def login(client: TestClient, rp: RelyingParty, dezi: str, scope: str) -> tuple[object, str]:
    verifier, challenge = pkce_pair()
    url = "/authorize?" + urlencode(
        rp.authorize_params(code_challenge=challenge, scope=scope, prompt="login")
    )
    return login_through_forms(client, url, dezi), verifier


def test_registry_admin_gets_an_api_token_through_login(
    deployment: Deployment, client: TestClient, admin_app: RelyingParty
) -> None:
    final, verifier = login(client, admin_app, REGISTRY_ADMIN, "openid registry")
    assert final.status_code == 303, final.text
    code = query_of(final.headers["location"])["code"]
    body = client.post("/token", data=admin_app.token_form(code, verifier)).json()
    access = verify_jwt(body["access_token"], client.get("/jwks.json").json())
    assert f"{ISSUER}/api/v1" in access["aud"]
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    organisations = client.get("/api/v1/organisations", headers=auth)
    assert organisations.status_code == 200, organisations.text
    info = client.get("/userinfo", headers=auth).json()
    assert info["dezi_nummer"] == REGISTRY_ADMIN and "abonnee_nummer" not in info


def test_without_the_registry_scope_no_declaration_means_no_token(
    client: TestClient, admin_app: RelyingParty
) -> None:
    final, _ = login(client, admin_app, REGISTRY_ADMIN, "openid")
    assert query_of(final.headers["location"])["error"] == "access_denied"


def test_a_non_administrator_without_declaration_gets_no_token(
    client: TestClient, admin_app: RelyingParty
) -> None:
    final, _ = login(client, admin_app, REVOKED_NURSE, "openid registry")
    assert query_of(final.headers["location"])["error"] == "access_denied"
