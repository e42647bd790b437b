"""The UZI-pas method in the ASGI app: certificate headers believed only from a trusted proxy.

The TLS handshakes themselves are in ``tests/mtls`` (nginx); here the proxy's headers are
played by the test client, from a trusted address or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from certs.testca import UziTestPki
from idp.app import create_app
from idp.authn.uzi import NO_CARD
from idp.web.proxy import TRUSTED_PEER, TrustedProxy
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import RelyingParty, parse_forms, pkce_pair, query_of

MTLS = "https://127.0.0.1:8443"


@pytest.fixture(scope="module")
def pki() -> UziTestPki:
    return UziTestPki()


@pytest.fixture(scope="module")
def uzi_app(
    tmp_path_factory: pytest.TempPathFactory, pki: UziTestPki
) -> tuple[Starlette, RelyingParty]:
    tmp = tmp_path_factory.mktemp("uzi-web")
    bundle = tmp / "uzi-ca.pem"
    bundle.write_bytes(pki.bundle_pem)
    settings = make_settings(
        tmp,
        login_methods=("dev", "uzi"),
        uzi_ca_bundle=bundle,
        uzi_mtls_url=MTLS,
        trusted_proxies=("127.0.0.2",),
    )
    rp, _, _ = seed_deployment(settings)
    return create_app(settings), rp


def browser(app: Starlette, peer: str = "testclient") -> TestClient:
    return TestClient(app, base_url=ISSUER, follow_redirects=False, client=(peer, 40000))


@pytest.fixture
def client(uzi_app: tuple[Starlette, RelyingParty]) -> Iterator[TestClient]:
    with browser(uzi_app[0]) as test_client:
        yield test_client


def uzi_page(client: TestClient, rp: RelyingParty) -> tuple[str, dict[str, str], str]:
    """Authorize, choose uzi; return the page's form action, fields and CSP."""
    _, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge, login_hint="uzi")
    response = client.get(f"/authorize?{urlencode(params)}")
    tx_path = response.headers["location"]
    page = client.get(f"{tx_path}/uzi")
    assert page.status_code == 200, page.text
    form = parse_forms(page.text)[0]
    return form.action, form.fields, page.headers["content-security-policy"]


def test_the_chooser_offers_uzi_and_the_page_posts_to_the_mtls_origin(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient
) -> None:
    action, fields, csp = uzi_page(client, uzi_app[1])
    assert action.startswith(f"{MTLS}/login/") and action.endswith("/uzi")
    assert "csrf_token" in fields and "dezi_nummer" not in fields
    assert f"form-action 'self' {MTLS} https://rp.example;" in csp


def test_headers_from_an_untrusted_peer_are_ignored_and_logged(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient, pki: UziTestPki
) -> None:
    action, fields, _ = uzi_page(client, uzi_app[1])
    forged = {
        "X-SSL-Client-Cert": quote(pki.card().cert_pem.decode(), safe=""),
        "X-SSL-Client-Verify": "SUCCESS",
        "X-Forwarded-For": "127.0.0.2",  # claiming to be the proxy changes nothing
    }
    with capture_logs() as logs:
        response = client.post(
            action.removeprefix(MTLS), data={**fields, "action": "login"}, headers=forged
        )
    assert response.status_code == 400
    assert NO_CARD in response.text.replace("&#39;", "'")
    assert "location" not in response.headers
    events = [e["event"] for e in logs]
    assert "client_cert_header_untrusted" in events
    assert "uzi_login_refused" in events


def test_a_form_field_cannot_stand_in_for_the_certificate(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient, pki: UziTestPki
) -> None:
    action, fields, _ = uzi_page(client, uzi_app[1])
    pem = pki.card().cert_pem.decode()
    data = {**fields, "action": "login", "client_certificate": pem, "pem": pem}
    response = client.post(action.removeprefix(MTLS), data=data)
    assert response.status_code == 400
    assert "No UZI-pas was presented" in response.text


def test_trusted_proxy_headers_log_in(
    uzi_app: tuple[Starlette, RelyingParty], pki: UziTestPki
) -> None:
    app, rp = uzi_app
    with browser(app, peer="127.0.0.2") as proxied:
        action, fields, _ = uzi_page(proxied, rp)
        headers = {
            "X-SSL-Client-Cert": quote(pki.card().cert_pem.decode(), safe=""),
            "X-SSL-Client-Verify": "SUCCESS",
            "X-Forwarded-For": "192.0.2.10",
            "Origin": MTLS,
        }
        response = proxied.post(
            action.removeprefix(MTLS), data={**fields, "action": "login"}, headers=headers
        )
    assert response.status_code == 303, response.text
    assert "code" in query_of(response.headers["location"])


def test_a_cross_origin_post_with_origin_null_from_the_issuer_page(
    uzi_app: tuple[Starlette, RelyingParty], pki: UziTestPki
) -> None:
    """Under the pages' referrer policy the browser sends ``Origin: null`` for the post from
    the issuer's page to the mTLS origin; Fetch Metadata says same-site."""
    app, rp = uzi_app
    card = quote(pki.card().cert_pem.decode(), safe="")
    base = {"X-SSL-Client-Cert": card, "X-SSL-Client-Verify": "SUCCESS", "Origin": "null"}
    for site, status in (("same-site", 303), ("cross-site", 403)):
        with browser(app, peer="127.0.0.2") as proxied:
            action, fields, _ = uzi_page(proxied, rp)
            response = proxied.post(
                action.removeprefix(MTLS),
                data={**fields, "action": "login"},
                headers={**base, "Sec-Fetch-Site": site},
            )
        assert response.status_code == status, site


def test_another_origin_is_refused(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient
) -> None:
    action, fields, _ = uzi_page(client, uzi_app[1])
    response = client.post(
        action.removeprefix(MTLS),
        data={**fields, "action": "login"},
        headers={"Origin": "https://127.0.0.1:9443"},
    )
    assert response.status_code == 403


def test_cancel_goes_back_to_the_client(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient
) -> None:
    action, fields, _ = uzi_page(client, uzi_app[1])
    response = client.post(action.removeprefix(MTLS), data={**fields, "action": "cancel"})
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "access_denied"


def test_the_return_path_has_no_certificate(
    uzi_app: tuple[Starlette, RelyingParty], client: TestClient
) -> None:
    """``GET /login/{tx}/uzi/return`` never carries a certificate, whatever its query says."""
    action, _, _ = uzi_page(client, uzi_app[1])
    response = client.get(f"{action.removeprefix(MTLS)}/return?client_certificate=x")
    assert response.status_code == 400
    assert "No UZI-pas was presented" in response.text


# ---- TrustedProxy: X-Forwarded-* only from a trusted peer -------------------------------------


def run_proxy(client: tuple[str, int], headers: list[tuple[bytes, bytes]]) -> Scope:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    middleware = TrustedProxy(app, trusted=("127.0.0.2", "10.0.0.0/8", "::1"))
    scope: Scope = {"type": "http", "client": client, "headers": headers, "scheme": "http"}
    asyncio.run(middleware(scope, _no_receive, _no_send))
    return seen[0]


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def _no_send(message: Message) -> None:
    return None


def test_forwarded_for_is_used_only_from_a_trusted_peer() -> None:
    xff = [(b"x-forwarded-for", b"192.0.2.1, 10.1.2.3"), (b"x-forwarded-proto", b"https")]
    proxied = run_proxy(("127.0.0.2", 5000), xff)
    assert proxied[TRUSTED_PEER] is True
    assert proxied["client"] == ("192.0.2.1", 0)  # the rightmost hop that is not a proxy
    assert proxied["scheme"] == "https"
    direct = run_proxy(("192.0.2.66", 5000), xff)
    assert direct[TRUSTED_PEER] is False
    assert direct["client"] == ("192.0.2.66", 5000)
    assert direct["scheme"] == "http"
    only_proxies = run_proxy(("::1", 1), [(b"x-forwarded-for", b"10.0.0.1, 10.0.0.2")])
    assert only_proxies["client"] == ("10.0.0.1", 0)
    assert run_proxy(("testclient", 1), xff)[TRUSTED_PEER] is False
    assert run_proxy(("127.0.0.2", 1), [])["client"] == ("127.0.0.2", 1)


def test_duplicate_certificate_headers_are_refused(
    uzi_app: tuple[Starlette, RelyingParty], pki: UziTestPki
) -> None:
    app, rp = uzi_app
    pem = quote(pki.card().cert_pem.decode(), safe="")
    with browser(app, peer="127.0.0.2") as proxied, capture_logs() as logs:
        action, fields, _ = uzi_page(proxied, rp)
        headers = [
            ("X-SSL-Client-Cert", pem),
            ("X-SSL-Client-Cert", pem),
            ("X-SSL-Client-Verify", "SUCCESS"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        response = proxied.post(
            action.removeprefix(MTLS),
            content=urlencode({**fields, "action": "login"}),
            headers=headers,
        )
    assert response.status_code == 400
    assert "client_cert_header_malformed" in [e["event"] for e in logs]
