"""Tokens for the registry API: the client credentials grant (RFC 6749 §4.4), the ``registry``
scope in the code flow, and what the API accepts as a bearer token (RFC 9068 §4, RFC 6750)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from idp.protocol.jose import unverified_claims, unverified_header
from registry import InvariantViolation, service
from tests.conftest import ISSUER
from tests.support import CARER, PHYSICIAN, RelyingParty, verify_jwt
from tests.web.api.conftest import HOME_URA, ORG_ADMIN_USER, ApiDeployment, bearer

API_AUDIENCE = f"{ISSUER}/api/v1"
USERINFO_AUDIENCE = f"{ISSUER}/userinfo"


# -- the client credentials grant -----------------------------------------------------------------


def test_client_credentials_token(api: ApiDeployment, http: TestClient) -> None:
    response = api.client_credentials(api.hr)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}  # §4.4.3
    assert body["token_type"] == "Bearer" and body["scope"] == "registry"
    assert 0 < body["expires_in"] <= 3600
    assert unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = verify_jwt(body["access_token"], http.get("/jwks.json").json())
    assert claims["iss"] == ISSUER
    assert claims["aud"] == API_AUDIENCE  # the API alone, never userinfo
    assert claims["sub"] == claims["client_id"] == api.hr.client_id  # RFC 9068 §2.2
    assert claims["exp"] - claims["iat"] <= 3600
    assert {"jti", "gid"} <= claims.keys() and "acr" not in claims


def test_es256_client_and_explicit_scope(api: ApiDeployment) -> None:
    response = api.client_credentials(api.hr_multi, scope="registry")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("scope", ["openid", "registry openid", "admin", " "])
def test_other_scopes_are_invalid_scope(api: ApiDeployment, scope: str) -> None:
    response = api.client_credentials(api.hr, scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_client_credentials_token_is_not_for_userinfo(api: ApiDeployment, http: TestClient) -> None:
    token = api.client_token(api.hr)
    assert http.get("/userinfo", headers=bearer(token)).status_code == 401


def test_unknown_client_and_wrong_key_are_invalid_client(api: ApiDeployment) -> None:
    stranger = RelyingParty.confidential("hr-stranger", ISSUER)
    assert api.client_credentials(stranger).json()["error"] == "invalid_client"
    impostor = RelyingParty.confidential(api.hr.client_id, ISSUER)  # same id, other key
    response = api.client_credentials(impostor)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_public_client_may_not_use_it(api: ApiDeployment, http: TestClient) -> None:
    response = http.post(
        "/token", data={"grant_type": "client_credentials", "client_id": "epd-public"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_code_flow_client_may_not_use_it(api: ApiDeployment) -> None:
    response = api.client_credentials(api.epd)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_registration_rules(api: ApiDeployment) -> None:
    rp = RelyingParty.confidential("hr-rules", ISSUER)
    with pytest.raises(InvariantViolation, match="private_key_jwt"):
        service.register_client(
            api.engine,
            client_id="hr-public",
            redirect_uris=(),
            auth_method="none",
            grant_types=("client_credentials",),
            scopes=("registry",),
            actor="test",
        )
    with pytest.raises(InvariantViolation, match="registry scope"):
        service.register_client(
            api.engine,
            client_id=rp.client_id,
            redirect_uris=(),
            auth_method="private_key_jwt",
            jwks=rp.jwks(),
            grant_types=("client_credentials",),
            actor="test",
        )


def test_discovery_advertises_the_grant(http: TestClient) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        metadata = http.get(path).json()
        assert set(metadata["grant_types_supported"]) == {
            "authorization_code",
            "client_credentials",
        }
        assert "registry" in metadata["scopes_supported"]


# -- the registry scope in the code flow ----------------------------------------------------


def test_registry_scope_adds_the_api_audience(api: ApiDeployment, http: TestClient) -> None:
    body = api.user_tokens(ORG_ADMIN_USER)
    assert body["scope"] == "openid registry"
    claims = verify_jwt(body["access_token"], http.get("/jwks.json").json())
    assert claims["aud"] == [USERINFO_AUDIENCE, API_AUDIENCE]
    token = body["access_token"]
    info = http.get("/userinfo", headers=bearer(token))
    assert info.status_code == 200 and info.json()["dezi_nummer"] == ORG_ADMIN_USER
    assert http.get("/api/v1/organisations", headers=bearer(token)).status_code == 200


def test_client_not_registered_for_registry_gets_openid_only(
    api: ApiDeployment, http: TestClient
) -> None:
    body = api.user_tokens(PHYSICIAN, rp=api.epd)
    assert body["scope"] == "openid"
    assert unverified_claims(body["access_token"])["aud"] == USERINFO_AUDIENCE
    response = http.get("/api/v1/organisations", headers=bearer(body["access_token"]))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# -- what the API accepts ----------------------------------------------------------------------


def test_no_token_is_401_with_a_challenge(http: TestClient) -> None:
    response = http.get("/api/v1/declarations")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="registry"'
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "bearer a.b.c", "Bearer " + "x" * 20000],
)
def test_bad_tokens_are_401(http: TestClient, header: str) -> None:
    response = http.get("/api/v1/organisations", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_id_token_is_not_an_access_token(api: ApiDeployment, http: TestClient) -> None:
    id_token = api.user_tokens(ORG_ADMIN_USER)["id_token"]
    assert http.get("/api/v1/organisations", headers=bearer(id_token)).status_code == 401


def test_tampered_token_is_401(api: ApiDeployment, http: TestClient, hr_token: str) -> None:
    header, payload, signature = hr_token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert http.get("/api/v1/organisations", headers=bearer(forged)).status_code == 401


def test_revoked_grant_is_401_at_once(api: ApiDeployment, http: TestClient) -> None:
    token = api.client_token(api.hr)
    assert http.get("/api/v1/organisations", headers=bearer(token)).status_code == 200
    api.app.state.services.state.revoke_grant(unverified_claims(token)["gid"])
    assert http.get("/api/v1/organisations", headers=bearer(token)).status_code == 401


def test_deactivated_client_is_401_at_once(api: ApiDeployment, http: TestClient) -> None:
    rp = RelyingParty.confidential("hr-temporary", ISSUER)

    def register(active: bool) -> None:
        service.register_client(
            api.engine,
            client_id=rp.client_id,
            redirect_uris=(),
            auth_method="private_key_jwt",
            jwks=rp.jwks(),
            organisations=(HOME_URA,),
            grant_types=("client_credentials",),
            scopes=("registry",),
            active=active,
            actor="test",
        )

    register(True)
    token = api.client_token(rp)
    assert http.get("/api/v1/organisations", headers=bearer(token)).status_code == 200
    register(False)
    assert http.get("/api/v1/organisations", headers=bearer(token)).status_code == 401


def test_client_without_organisations_gets_nothing(api: ApiDeployment, http: TestClient) -> None:
    auth = bearer(api.client_token(api.hr_none))
    for path in ("/organisations", "/professionals", "/declarations"):
        response = http.get(f"/api/v1{path}", headers=auth)
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}
    assert http.get(f"/api/v1/organisations/{HOME_URA}", headers=auth).status_code == 404
    assert http.get(f"/api/v1/professionals/{CARER}", headers=auth).status_code == 404
    created = http.post(
        "/api/v1/professionals",
        json={"voorletters": "A.", "achternaam": "Niemand"},
        headers=auth,
    )
    assert created.status_code == 403
    assert http.get("/api/v1/relying-parties", headers=auth).status_code == 403


def test_withdrawn_admin_grant_takes_effect_at_once(api: ApiDeployment, http: TestClient) -> None:
    token = api.user_token(ORG_ADMIN_USER)
    listing = http.get("/api/v1/organisations", headers=bearer(token)).json()
    assert [o["ura"] for o in listing["items"]] == [HOME_URA]
    service.revoke_admin(api.engine, ORG_ADMIN_USER, "org_admin", HOME_URA, actor="test")
    try:
        listing = http.get("/api/v1/organisations", headers=bearer(token)).json()
        assert listing["items"] == []
    finally:
        service.grant_admin(api.engine, ORG_ADMIN_USER, "org_admin", HOME_URA, actor="test")
