"""Bad input, browser hardening and discovery through the ASGI app (checklist A, B, J, 2.8)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from starlette.testclient import TestClient

from tests.conftest import ISSUER, Deployment
from tests.support import PHYSICIAN, parse_forms, pkce_pair, query_of
from tests.web.test_code_flow import get_code, start


def test_discovery_documents_validate(client: TestClient) -> None:
    oidc = client.get("/.well-known/openid-configuration")
    assert oidc.status_code == 200
    metadata = oidc.json()
    OpenIDProviderMetadata(metadata).validate()
    AuthorizationServerMetadata(
        client.get("/.well-known/oauth-authorization-server").json()
    ).validate()
    assert metadata["issuer"] == ISSUER
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["subject_types_supported"] == ["pairwise"]
    for key, values in metadata.items():
        if key.endswith("alg_values_supported"):
            assert "none" not in values and not any(v.startswith("HS") for v in values)
    assert "client_secret_basic" not in metadata["token_endpoint_auth_methods_supported"]


def test_issuer_ignores_host_headers(client: TestClient) -> None:
    """Checklist A4: the issuer comes from configuration, never from the request."""
    response = client.get(
        "/.well-known/openid-configuration",
        headers={
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert "evil.example" not in response.text


def test_jwks_is_public_only(client: TestClient) -> None:
    keys = client.get("/jwks.json").json()["keys"]
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids)) >= 4  # next + active, RSA and EC
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys()


def test_security_headers_on_pages(deployment: Deployment, client: TestClient) -> None:
    url, _, _ = start(deployment.rp)
    client.get(url)
    page = client.get("/authorize")  # an error page
    assert page.status_code == 400
    csp = page.headers["content-security-policy"]
    assert (
        "frame-ancestors 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


def test_unknown_client_gets_an_error_page_not_a_redirect(client: TestClient) -> None:
    response = client.get(
        "/authorize?"
        + urlencode({"client_id": "nobody", "redirect_uri": "https://evil.example/cb"})
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Unknown client" in response.text


def test_prompt_none_without_session_is_login_required(
    deployment: Deployment, client: TestClient
) -> None:
    url, _, params = start(deployment.rp, prompt="none")
    response = client.get(url)
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert query["error"] == "login_required" and query["state"] == params["state"]


@pytest.mark.parametrize(
    "query",
    [b"client_id=%ff%fe", b"client_id=a%00b", b"&".join([b"x=1"] * 100)],
)
def test_malformed_query_is_a_clear_400(client: TestClient, query: bytes) -> None:
    response = client.get("/authorize?" + query.decode("latin-1"))
    assert response.status_code == 400


def test_token_endpoint_bad_input(client: TestClient) -> None:
    cases = [
        client.post(
            "/token",
            content=b"grant_type=authorization_code",
            headers={"Content-Type": "application/json"},
        ),
        client.post(
            "/token",
            content=b"grant_type=%ff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post("/token", data={"grant_type": "authorization_code"}),
        client.post(
            "/token",
            content=b"grant_type=a&grant_type=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        client.post("/token", data={"grant_type": "password", "client_id": "epd-public"}),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["error"] in {"invalid_request", "invalid_client", "unsupported_grant_type"}
        assert "\n" not in body.get("error_description", "")
    assert cases[-1].json()["error"] == "unsupported_grant_type"
    assert client.get("/token").status_code == 405


def test_huge_body_is_413(client: TestClient) -> None:
    response = client.post(
        "/token",
        content=b"a=" + b"b" * 200_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_userinfo_rejects_missing_and_wrong_tokens(
    deployment: Deployment, client: TestClient
) -> None:
    assert client.get("/userinfo").status_code == 401
    assert client.get("/userinfo").headers["www-authenticate"].startswith("Bearer")
    assert client.get("/userinfo", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    rp = deployment.rp
    code, verifier, _ = get_code(client, rp, PHYSICIAN)
    body = client.post("/token", data=rp.token_form(code, verifier)).json()
    # An ID token is not an access token (RFC 8725 §3.11).
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {body['id_token']}"})
    assert response.status_code == 401
    # Access token in the query string is refused (RFC 9700 §4.3.2).
    assert client.get("/userinfo", params={"access_token": body["access_token"]}).status_code in (
        400,
        401,
    )


def test_login_post_without_csrf_token_is_refused(
    deployment: Deployment, client: TestClient
) -> None:
    url, _, _ = start(deployment.rp)
    login = client.get(client.get(url).headers["location"])
    form = parse_forms(login.text)[0]
    data = {**form.fields, "dezi_nummer": PHYSICIAN}
    assert client.post(form.action, data={**data, "csrf_token": "forged"}).status_code == 403
    assert (
        client.post(form.action, data=data, headers={"Origin": "https://evil.example"}).status_code
        == 403
    )
    null_cross_site = {"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    assert client.post(form.action, data=data, headers=null_cross_site).status_code == 403
    del data["csrf_token"]
    assert client.post(form.action, data=data).status_code == 403


def test_browser_same_origin_post_with_null_origin_is_accepted(
    deployment: Deployment, client: TestClient
) -> None:
    """Under Referrer-Policy no-referrer, Chromium posts same-origin forms with Origin: null."""
    url, _, _ = start(deployment.rp)
    login = client.get(client.get(url).headers["location"])
    form = parse_forms(login.text)[0]
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    response = client.post(
        form.action, data={**form.fields, "dezi_nummer": PHYSICIAN}, headers=headers
    )
    assert response.status_code == 303


def test_login_cannot_be_finished_in_another_browser(deployment: Deployment) -> None:
    """The transaction is bound to the browser that started it (login CSRF, session swap)."""
    with deployment.client() as victim, deployment.client() as attacker:
        url, _, _ = start(deployment.rp)
        tx_location = victim.get(url).headers["location"]
        response = attacker.get(tx_location)
        assert response.status_code == 400
        assert "expired" in response.text


def test_unknown_number_and_malformed_number_look_the_same(
    deployment: Deployment, client: TestClient
) -> None:
    texts = []
    for number in ("999999999", "12"):
        url, _, _ = start(deployment.rp)
        login = client.get(client.get(url).headers["location"])
        form = parse_forms(login.text)[0]
        response = client.post(form.action, data={**form.fields, "dezi_nummer": number})
        assert response.status_code == 400
        # The pages differ only in the transaction id and its CSRF token.
        page = re.sub(r"/login/[A-Za-z0-9_-]+/", "/login/TX/", response.text)
        texts.append(re.sub(r'name="csrf_token" value="[0-9a-f]+"', 'name="csrf_token"', page))
    assert texts[0] == texts[1]
    assert "cannot log in" in texts[0]


def test_cancel_returns_access_denied(deployment: Deployment, client: TestClient) -> None:
    url, _, params = start(deployment.rp)
    login = client.get(client.get(url).headers["location"])
    form = parse_forms(login.text)[0]
    response = client.post(form.action, data={**form.fields, "action": "cancel"})
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert query["error"] == "access_denied" and query["state"] == params["state"]


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "database": True, "state": True}
    metrics = client.get("/metrics")
    assert "zorg_http_requests_total" in metrics.text


def test_unknown_path_is_a_page_not_a_trace(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_pkce_pair_helper_is_sane() -> None:
    verifier, challenge = pkce_pair()
    assert len(challenge) == 43 and 43 <= len(verifier) <= 128
