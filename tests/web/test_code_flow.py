"""The authorization code flow through the ASGI app, with the dev login method."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

from starlette.testclient import TestClient

from idp.protocol.models import LOA_HIGH
from tests.conftest import ISSUER, Deployment
from tests.support import (
    CARER,
    PHYSICIAN,
    REVOKED_NURSE,
    RelyingParty,
    login_through_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)


def start(rp: RelyingParty, **overrides: str | None) -> tuple[str, str, dict[str, str]]:
    verifier, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge, **overrides)
    return f"/authorize?{urlencode(params)}", verifier, params


def get_code(
    client: TestClient,
    rp: RelyingParty,
    dezi: str,
    choose: str | None = None,
    **overrides: str | None,
) -> tuple[str, str, dict[str, str]]:
    url, verifier, params = start(rp, **overrides)
    final = login_through_forms(client, url, dezi, choose=choose)
    assert final.status_code == 303, final.text
    location = final.headers["location"]
    assert location.startswith(rp.redirect_uri)
    query = query_of(location)
    assert query["iss"] == ISSUER  # RFC 9207
    assert query.get("state") == params.get("state")
    return query["code"], verifier, params


def test_carer_chooses_an_organisation_and_gets_tokens(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    code, verifier, params = get_code(client, rp, CARER, choose="90000107")
    response = client.post("/token", data=rp.token_form(code, verifier))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    jwks = client.get("/jwks.json").json()
    claims = verify_jwt(body["id_token"], jwks)
    assert claims["iss"] == ISSUER
    assert claims["aud"] == rp.client_id
    assert claims["nonce"] == params["nonce"]
    assert claims["acr"] == LOA_HIGH
    assert "amr" not in claims
    assert claims["exp"] - claims["iat"] <= 300
    assert {"jti", "nbf", "auth_time", "at_hash", "sub"} <= claims.keys()
    assert claims["sub"] != CARER and "dezi_nummer" not in claims  # minimal ID token

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    data = info.json()
    assert data["sub"] == claims["sub"]
    assert data["dezi_nummer"] == CARER
    assert data["abonnee_nummer"] == "90000107"
    assert data["voorvoegsel"] == "van der"
    assert data["rol_code"] == "86.000"
    assert "bsn" not in {k.lower() for k in data}


def test_access_token_is_rfc9068_jwt(deployment: Deployment, client: TestClient) -> None:
    rp = deployment.rp
    code, verifier, _ = get_code(client, rp, PHYSICIAN)
    body = client.post("/token", data=rp.token_form(code, verifier)).json()
    from idp.protocol.jose import unverified_header

    assert unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = verify_jwt(body["access_token"], client.get("/jwks.json").json())
    assert claims["aud"] == f"{ISSUER}/userinfo"
    assert claims["client_id"] == rp.client_id
    assert claims["exp"] - claims["iat"] <= 3600


def test_single_declaration_skips_the_choice(deployment: Deployment, client: TestClient) -> None:
    url, _, _ = start(deployment.rp)
    response = client.get(url)  # one method only: straight to it, no chooser
    assert response.headers["location"].endswith("/dev")
    login_page = client.get(response.headers["location"])
    assert 'name="dezi_nummer"' in login_page.text
    assert "Test login method" in login_page.text


def test_restricted_client_sees_only_its_organisation(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.restricted_rp
    code, verifier, _ = get_code(client, rp, CARER)  # no choice page: one usable declaration
    body = client.post("/token", data=rp.token_form(code, verifier)).json()
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["abonnee_nummer"] == "90000103"


def test_revoked_declaration_gets_a_clear_page_not_a_token(
    deployment: Deployment, client: TestClient
) -> None:
    url, _, _ = start(deployment.rp)
    final = login_through_forms(client, url, REVOKED_NURSE)
    assert final.status_code == 303
    assert query_of(final.headers["location"])["error"] == "access_denied"


def test_no_declaration_page_text(deployment: Deployment, client: TestClient) -> None:
    url, _, _ = start(deployment.rp)
    response = client.get(client.get(url).headers["location"])  # straight to the only method
    from tests.support import parse_forms

    form = parse_forms(response.text)[0]
    page = client.post(form.action, data={**form.fields, "dezi_nummer": REVOKED_NURSE})
    assert page.status_code == 403
    assert "no active declaration" in page.text


def test_pairwise_sub_differs_per_client(deployment: Deployment, client: TestClient) -> None:
    subs = []
    for rp in (deployment.rp, deployment.restricted_rp):
        code, verifier, _ = get_code(client, rp, CARER, choose="90000103")
        body = client.post("/token", data=rp.token_form(code, verifier)).json()
        subs.append(verify_jwt(body["id_token"], client.get("/jwks.json").json())["sub"])
    assert subs[0] != subs[1]


def test_dezi_profile_public_client_without_nonce(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.public_rp
    code, verifier, _ = get_code(client, rp, PHYSICIAN, nonce=None)
    response = client.post("/token", data=rp.token_form(code, verifier))
    assert response.status_code == 200, response.text
    claims = verify_jwt(response.json()["id_token"], client.get("/jwks.json").json())
    assert "nonce" not in claims


def test_code_reuse_fails_and_revokes_the_first_tokens(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    code, verifier, _ = get_code(client, rp, PHYSICIAN)
    first = client.post("/token", data=rp.token_form(code, verifier))
    assert first.status_code == 200
    access = first.json()["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    assert client.get("/userinfo", headers=auth).status_code == 200
    second = client.post("/token", data=rp.token_form(code, verifier))
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert client.get("/userinfo", headers=auth).status_code == 401


def test_twenty_concurrent_redemptions_give_one_success(deployment: Deployment) -> None:
    rp = deployment.rp
    with deployment.client() as browser:
        code, verifier, _ = get_code(browser, rp, PHYSICIAN)
    forms = [rp.token_form(code, verifier) for _ in range(20)]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def redeem(form: dict[str, str]) -> None:
        with deployment.client() as c:
            barrier.wait()
            status = c.post("/token", data=form).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=redeem, args=(f,)) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [400] * 19


def test_wrong_or_missing_verifier_is_invalid_grant(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    for verifier in ("x" * 43, ""):
        code, _, _ = get_code(client, rp, PHYSICIAN)
        form = rp.token_form(code, verifier)
        if not verifier:
            del form["code_verifier"]
        response = client.post("/token", data=form)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_at_token_endpoint(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    code, verifier, _ = get_code(client, rp, PHYSICIAN)
    form = rp.token_form(code, verifier, redirect_uri=rp.redirect_uri + "/x")
    assert client.post("/token", data=form).json()["error"] == "invalid_grant"


def test_code_for_another_client_is_refused(deployment: Deployment, client: TestClient) -> None:
    code, verifier, _ = get_code(client, deployment.rp, PHYSICIAN)
    other = deployment.restricted_rp
    form = other.token_form(code, verifier, redirect_uri=deployment.rp.redirect_uri)
    assert client.post("/token", data=form).json()["error"] == "invalid_grant"


def test_userinfo_signed_jwt_when_registered(deployment: Deployment, client: TestClient) -> None:
    from idp.clients import ClientRegistration, register_client

    rp = RelyingParty.confidential("epd-signed-userinfo", ISSUER, alg="ES256")
    register_client(
        deployment.settings,
        ClientRegistration(
            client_id=rp.client_id,
            redirect_uris=(rp.redirect_uri,),
            jwks=rp.jwks(),
            id_token_signed_response_alg="ES256",
            userinfo_signed_response_alg="RS256",
        ),
    )
    code, verifier, _ = get_code(client, rp, PHYSICIAN)
    body = client.post("/token", data=rp.token_form(code, verifier)).json()
    from idp.protocol.jose import unverified_header

    assert unverified_header(body["id_token"])["alg"] == "ES256"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.headers["content-type"].startswith("application/jwt")
    assert unverified_header(info.text)["alg"] == "RS256"
    claims = verify_jwt(info.text, client.get("/jwks.json").json())
    assert claims["dezi_nummer"] == PHYSICIAN and claims["aud"] == rp.client_id
