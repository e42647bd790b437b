"""Upstream OIDC in the ASGI app: the fixed return URI, the browser binding, the level guard.

The upstream OP is the in-memory ``FakeOp`` behind the method's fetcher; the real HTTP journey
between two running servers is in ``tests/interop/test_upstream_oidc.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from idp.app import create_app
from idp.authn.base import LoginContext, LoginOutcome, LoginStep, RedirectStep
from idp.authn.oidc_rp import UpstreamDirectory
from idp.authn.oidc_upstream import OidcUpstreamLogin
from idp.authn.upstream_key import public_jwks
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL
from idp.web.services import Services
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.support import (
    PHYSICIAN,
    RelyingParty,
    login_through_forms,
    parse_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)
from tests.unit.authn.upstream_fakes import CLIENT_ID, CLIENT_KEY, FakeOp


@dataclass(frozen=True, slots=True)
class ShortfallLogin:
    """Declares high, proves low: what ``login_return`` must never pass on."""

    name: str = "shortfall"
    label: str = "Declares more than it proves"
    acr: str = LOA_HIGH

    def begin(self, context: LoginContext) -> LoginStep:
        return RedirectStep(f"/upstream/{self.name}/return?state={context.tx_id}.x")

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        return LoginOutcome(dezi_nummer=PHYSICIAN, acr=LOA_LOW, method=self.name)

    def transaction_id(self, params: Mapping[str, str]) -> str | None:
        return params.get("state", "").partition(".")[0] or None


@dataclass(frozen=True)
class App:
    app: Starlette
    rp: RelyingParty
    op: FakeOp


@pytest.fixture(scope="module")
def upstream_app(tmp_path_factory: pytest.TempPathFactory) -> App:
    tmp = tmp_path_factory.mktemp("upstream-web")
    key_file = tmp / "upstream.pem"
    key_file.write_bytes(CLIENT_KEY.as_pem(private=True))
    key_file.chmod(0o600)
    common = {
        "issuer": "https://broker.test",
        "client_id": CLIENT_ID,
        "private_key_file": str(key_file),
        "acr": "substantial",
    }
    settings = make_settings(
        tmp,
        login_methods=("dev", "broker", "linked"),
        upstream_providers=[
            {
                "name": "broker",
                "label": "Test Broker",
                "claim": {"name": "sub", "maps_to": "dezi_nummer"},
                **common,
            },
            {"name": "linked", "label": "Linked Broker", **common},  # identity bindings
        ],
    )
    rp, _, _ = seed_deployment(settings)
    app = create_app(settings)
    services: Services = app.state.services
    op = FakeOp(client_key=public_jwks(CLIENT_KEY)["keys"][0], subject=PHYSICIAN)
    for name in ("broker", "linked"):
        built = services.login_methods[name]
        assert isinstance(built, OidcUpstreamLogin)
        assert built.linker is not None  # the app's engine writes first-time links
        # The same method, with the in-memory OP in place of HTTP.
        services.login_methods[name] = replace(
            built, directory=UpstreamDirectory(built.provider.issuer, op), fetcher=op
        )
    services.login_methods["shortfall"] = ShortfallLogin()
    return App(app, rp, op)


@pytest.fixture
def env(upstream_app: App) -> Iterator[App]:
    upstream_app.op.spoil.clear()
    upstream_app.op.down = False
    yield upstream_app


@pytest.fixture
def browser(upstream_app: App) -> Iterator[TestClient]:
    with TestClient(upstream_app.app, base_url=ISSUER, follow_redirects=False) as client:
        yield client


def to_upstream(env: App, browser: TestClient, **params: str) -> tuple[str, str]:
    """Authorize at the app and choose the broker; return the upstream URL and the verifier."""
    verifier, challenge = pkce_pair()
    query = env.rp.authorize_params(code_challenge=challenge, **params)
    tx_path = browser.get(f"/authorize?{urlencode(query)}").headers["location"]
    response = browser.get(f"{tx_path}/broker")
    assert response.status_code == 303, response.text
    return response.headers["location"], verifier


def back(env: App, browser: TestClient, upstream_url: str) -> httpx2.Response:
    return browser.get(f"/upstream/broker/return?{urlencode(env.op.authorize(upstream_url))}")


def test_the_journey_ends_with_a_code_for_the_person(env: App, browser: TestClient) -> None:
    url, verifier = to_upstream(env, browser)
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == [f"{ISSUER}/upstream/broker/return"]
    response = back(env, browser, url)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(env.rp.redirect_uri)
    answer = browser.post("/token", data=env.rp.token_form(query_of(location)["code"], verifier))
    assert answer.status_code == 200, answer.text
    assert browser.cookies.get("zorg_session")


def test_the_chooser_shows_the_provider_at_its_level(env: App, browser: TestClient) -> None:
    _, challenge = pkce_pair()
    query = env.rp.authorize_params(code_challenge=challenge)
    page = browser.get(browser.get(f"/authorize?{urlencode(query)}").headers["location"])
    assert "Test Broker" in page.text
    assert "broker" in parse_forms(page.text)[0].radios["method"]
    query = env.rp.authorize_params(code_challenge=challenge, acr_values=LOA_HIGH)
    page = browser.get(browser.get(f"/authorize?{urlencode(query)}").headers["location"])
    assert "Test Broker" not in page.text  # declared substantial: not offered for high


def test_a_refusal_is_a_page_a_log_line_and_no_session(env: App, browser: TestClient) -> None:
    url, _ = to_upstream(env, browser)
    env.op.spoil["aud"] = "someone-else"
    with capture_logs() as logs:
        response = browser.get(f"/upstream/broker/return?{urlencode(env.op.authorize(url))}")
    assert response.status_code == 400
    assert "The login with Test Broker could not be completed" in response.text
    assert [e["reason"] for e in logs if e["event"] == "upstream_login_refused"] == ["aud"]
    assert browser.cookies.get("zorg_session") is None


def test_another_browser_cannot_finish(env: App, upstream_app: App) -> None:
    with TestClient(upstream_app.app, base_url=ISSUER, follow_redirects=False) as victim:
        url, _ = to_upstream(env, victim)
    params = env.op.authorize(url)
    with TestClient(upstream_app.app, base_url=ISSUER, follow_redirects=False) as attacker:
        response = attacker.get(f"/upstream/broker/return?{urlencode(params)}")
    assert response.status_code == 400 and "Login expired" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/upstream/broker/return",
        "/upstream/broker/return?state=no-transaction",
        "/upstream/dev/return?state=tx.x",
        "/upstream/unknown/return?state=tx.x",
        "/upstream/broker/return?state=%ff",
    ],
)
def test_returns_that_name_no_transaction(browser: TestClient, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 400
    assert "Login expired" in response.text or "Invalid request" in response.text


def test_an_unreachable_upstream_is_a_503_page(env: App, browser: TestClient) -> None:
    _, challenge = pkce_pair()
    query = env.rp.authorize_params(code_challenge=challenge)
    tx_path = browser.get(f"/authorize?{urlencode(query)}").headers["location"]
    env.op.down = True
    methods = env.app.state.services.login_methods
    # A fresh directory: nothing cached from the tests before.
    methods["broker"] = replace(
        methods["broker"], directory=UpstreamDirectory("https://broker.test", env.op)
    )
    response = browser.get(f"{tx_path}/broker")
    assert response.status_code == 503
    assert "Test Broker cannot be reached right now" in response.text


def test_a_method_that_proves_less_than_asked_gives_no_code(env: App, browser: TestClient) -> None:
    _, challenge = pkce_pair()
    query = env.rp.authorize_params(code_challenge=challenge, acr_values=LOA_HIGH)
    tx_path = browser.get(f"/authorize?{urlencode(query)}").headers["location"]
    step = browser.get(f"{tx_path}/shortfall")
    with capture_logs() as logs:
        response = browser.get(step.headers["location"])
    assert response.status_code == 403
    assert "did not reach the level of assurance" in response.text
    assert any(e["event"] == "login_level_too_low" for e in logs)
    assert browser.cookies.get("zorg_session") is None


def test_the_level_is_what_was_declared_and_proved(env: App, browser: TestClient) -> None:
    url, verifier = to_upstream(env, browser, acr_values=LOA_SUBSTANTIAL)
    location = back(env, browser, url).headers["location"]
    answer = browser.post("/token", data=env.rp.token_form(query_of(location)["code"], verifier))
    jwks = browser.get("/jwks.json").json()
    assert verify_jwt(answer.json()["id_token"], jwks)["acr"] == LOA_SUBSTANTIAL


def test_a_first_time_link_from_a_session_at_level_high(env: App, browser: TestClient) -> None:
    """issue 5 item 1 with an upstream subject: the dev login (level high in tests) proves who
    sits at this browser; the upstream login is then linked to that professional, once."""
    _, challenge = pkce_pair()
    first = env.rp.authorize_params(code_challenge=challenge)
    done = login_through_forms(browser, f"/authorize?{urlencode(first)}", PHYSICIAN, choose="Test")
    assert query_of(done.headers["location"]).get("code")

    verifier, challenge = pkce_pair()
    again = env.rp.authorize_params(code_challenge=challenge, prompt="login")
    tx_path = browser.get(f"/authorize?{urlencode(again)}").headers["location"]
    upstream = browser.get(f"{tx_path}/linked").headers["location"]
    query = urlencode(env.op.authorize(upstream))
    with capture_logs() as logs:
        offer = browser.get(f"/upstream/linked/return?{query}")
    assert offer.status_code == 200, offer.text
    assert "Link this Linked Broker to your registration?" in offer.text
    assert [e["event"] for e in logs if "link" in e["event"]] == [
        "upstream_login_not_linked",
        "identity_link_offered",
    ]
    form = parse_forms(offer.text)[0]
    linked = browser.post(form.action, data={**form.fields, "action": "link"})
    assert linked.status_code == 303, linked.text
    location = linked.headers["location"]
    answer = browser.post("/token", data=env.rp.token_form(query_of(location)["code"], verifier))
    assert verify_jwt(answer.json()["id_token"], browser.get("/jwks.json").json())["acr"] == (
        LOA_SUBSTANTIAL  # what the linked login proved, not the session's high
    )

    # From now on the upstream login alone is enough, in any browser.
    with TestClient(env.app, base_url=ISSUER, follow_redirects=False) as other:
        _, challenge = pkce_pair()
        params = env.rp.authorize_params(code_challenge=challenge)
        tx_path = other.get(f"/authorize?{urlencode(params)}").headers["location"]
        upstream = other.get(f"{tx_path}/linked").headers["location"]
        response = other.get(f"/upstream/linked/return?{urlencode(env.op.authorize(upstream))}")
        assert response.headers["location"].startswith(env.rp.redirect_uri)


def test_without_a_session_the_page_says_how_to_link(env: App, browser: TestClient) -> None:
    env.op.subject = "someone-never-linked"
    try:
        _, challenge = pkce_pair()
        query = env.rp.authorize_params(code_challenge=challenge)
        tx_path = browser.get(f"/authorize?{urlencode(query)}").headers["location"]
        upstream = browser.get(f"{tx_path}/linked").headers["location"]
        page = browser.get(f"/upstream/linked/return?{urlencode(env.op.authorize(upstream))}")
    finally:
        env.op.subject = PHYSICIAN
    assert page.status_code == 403
    assert "cannot be used here yet" in page.text and "link code: " in page.text
    assert browser.cookies.get("zorg_session") is None
