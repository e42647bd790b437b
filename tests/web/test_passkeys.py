"""Passkeys through the ASGI app: bind at level high on /account, log in at substantial.

A software authenticator (``tests.passkey_support``) answers the options the pages carry, the
way the browser script would post them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.protocol.config import JWKS_PATH
from idp.protocol.models import LOA_HIGH, LOA_SUBSTANTIAL
from tests.conftest import ISSUER, Deployment, make_settings, seed_deployment
from tests.passkey_support import SoftAuthenticator, options_dict, options_in
from tests.support import (
    CARER,
    RelyingParty,
    login_through_forms,
    parse_forms,
    pkce_pair,
    query_of,
    verify_jwt,
)

RP_ID = "127.0.0.1"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One register for the module (building one takes seconds): the carer's passkeys add up,
    so tests count what changed rather than what is there."""
    settings = make_settings(tmp_path_factory.mktemp("passkeys"), login_methods=("dev", "passkey"))
    rp, public, restricted = seed_deployment(settings)
    yield Deployment(settings, create_app(settings), rp, public, restricted)


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[TestClient]:
    with deployment.client() as client:
        yield client


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ISSUER, rp_id=RP_ID)


@dataclass
class Started:
    page: httpx.Response
    verifier: str


def authorize(rp: RelyingParty, **extra: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge, **extra)
    return f"/authorize?{urlencode(params)}", verifier


def dev_login(client: TestClient, rp: RelyingParty) -> str:
    """Log in with the dev method (level high); return the code."""
    url, _ = authorize(rp)
    final = login_through_forms(client, url, CARER)
    return query_of(final.headers["location"])["code"]


def passkey_page(client: TestClient, rp: RelyingParty, **extra: str) -> Started:
    """From the authorization request to the passkey method's page, through the chooser."""
    url, verifier = authorize(rp, **extra)
    chooser = client.get(client.get(url).headers["location"])
    assert chooser.status_code == 200
    form = parse_forms(chooser.text)[0]
    assert form.radios["method"] == ["dev", "passkey"]
    chosen = client.post(form.action, data={**form.fields, "method": "passkey"})
    page = client.get(chosen.headers["location"])
    assert page.status_code == 200
    return Started(page, verifier)


def post_assertion(client: TestClient, page: httpx.Response, credential: str) -> httpx.Response:
    form = parse_forms(page.text)[0]
    return client.post(form.action, data={**form.fields, "credential": credential})


def register(client: TestClient, authenticator: SoftAuthenticator, **bend: str) -> httpx.Response:
    page = client.get("/account/passkeys")
    assert page.status_code == 200, page.text
    form = parse_forms(page.text)[0]
    credential = authenticator.register(options_in(page.text), **bend)  # type: ignore[arg-type]
    data = {**form.fields, "action": "register", "name": "Phone", "credential": credential}
    return client.post("/account/passkeys", data=data)


def enrolled(deployment: Deployment, client: TestClient, authenticator: SoftAuthenticator) -> None:
    dev_login(client, deployment.restricted_rp)
    assert client.get("/account").status_code == 200  # sets the browser-binding cookie
    done = register(client, authenticator)
    assert done.status_code == 303 and done.headers["location"] == "/account"


def passkey_count(client: TestClient) -> int:
    """Her active passkeys, as /account lists them (one revoke form each)."""
    return sum(1 for f in parse_forms(client.get("/account").text) if "passkey_id" in f.fields)


def log_out(client: TestClient) -> None:
    form = parse_forms(client.get("/account").text)[0]
    client.post("/account", data={**form.fields, "action": "logout"})


def id_token_claims(deployment: Deployment, client: TestClient, code: str, verifier: str) -> dict:  # type: ignore[type-arg]
    rp = deployment.restricted_rp
    tokens = client.post("/token", data=rp.token_form(code, verifier)).json()
    return verify_jwt(tokens["id_token"], client.get(JWKS_PATH).json())


# -- the whole journey ---------------------------------------------------------------------------


def test_bind_at_high_then_log_in_at_substantial(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    account = browser.get("/account")
    assert "Your passkeys" in account.text and "Phone" in account.text
    assert "on one device" in account.text and "never" in account.text
    log_out(browser)

    started = passkey_page(browser, deployment.restricted_rp)
    assert "needs JavaScript" in started.page.text
    csp = started.page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script src="/static/passkey.js"' in started.page.text
    options = options_dict(started.page.text)
    assert options["rpId"] == RP_ID and options["userVerification"] == "required"

    done = post_assertion(
        browser, started.page, authenticator.assertion(options_in(started.page.text))
    )
    assert done.status_code == 303
    code = query_of(done.headers["location"])["code"]
    claims = id_token_claims(deployment, browser, code, started.verifier)
    assert claims["acr"] == LOA_SUBSTANTIAL
    account = browser.get("/account")
    assert "level substantial" in account.text and "UTC" in account.text  # last used


def test_the_script_is_served_and_other_pages_allow_no_script(browser: TestClient) -> None:
    script = browser.get("/static/passkey.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "navigator.credentials" in script.text
    page = browser.get("/account")
    assert "script-src" not in page.headers["content-security-policy"]


def test_a_relying_party_asking_high_never_sees_passkeys(
    deployment: Deployment, browser: TestClient
) -> None:
    url, _ = authorize(deployment.restricted_rp, acr_values=LOA_HIGH)
    step = browser.get(url)  # the only method at high: straight to it, no chooser
    assert step.status_code == 303 and step.headers["location"].endswith("/dev")


# -- bad input at login ---------------------------------------------------------------------------


def test_a_replayed_assertion_is_refused(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    log_out(browser)
    started = passkey_page(browser, deployment.restricted_rp)
    assertion = authenticator.assertion(options_in(started.page.text))
    assert post_assertion(browser, started.page, assertion).status_code == 303
    log_out(browser)
    again = passkey_page(browser, deployment.restricted_rp)
    replayed = post_assertion(browser, again.page, assertion)
    assert replayed.status_code == 400
    assert "cannot log in here" in replayed.text
    assert browser.get("/account").status_code == 401  # no session


def test_an_answer_to_a_used_challenge_is_refused(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    log_out(browser)
    started = passkey_page(browser, deployment.restricted_rp)
    options = options_in(started.page.text)
    bad = post_assertion(
        browser, started.page, authenticator.assertion(options, origin="https://evil.example")
    )
    assert bad.status_code == 400 and "cannot log in here" in bad.text
    # The error page carries a fresh challenge; the old one is gone.
    assert options_in(bad.text) != options
    replayed = post_assertion(browser, started.page, authenticator.assertion(options))
    assert replayed.status_code == 400 and "cannot log in here" in replayed.text


def test_an_unknown_credential_is_refused(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    started = passkey_page(browser, deployment.restricted_rp)
    stranger = SoftAuthenticator(origin=ISSUER, rp_id=RP_ID)
    stranger.register('{"user": {"id": "AAAAAAAAAAAAAAAAAAAAAA"}, "challenge": "AA"}')
    refused = post_assertion(
        browser, started.page, stranger.assertion(options_in(started.page.text))
    )
    assert refused.status_code == 400 and "cannot log in here" in refused.text
    assert 'role="alert"' in refused.text


def test_a_form_without_javascript_says_so(deployment: Deployment, browser: TestClient) -> None:
    started = passkey_page(browser, deployment.restricted_rp)
    refused = post_assertion(browser, started.page, "")
    assert refused.status_code == 400
    assert "needs JavaScript" in refused.text and "another login method" in refused.text


def test_a_revoked_passkey_cannot_log_in(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    account = browser.get("/account")
    # Listed oldest first: the last one is the passkey this test just added.
    revoke = [f for f in parse_forms(account.text) if "passkey_id" in f.fields][-1]
    done = browser.post(revoke.action, data={**revoke.fields, "action": "revoke"})
    assert done.status_code == 303
    assert "revoked" in browser.get("/account").text
    assert (
        browser.post(revoke.action, data={**revoke.fields, "action": "revoke"}).status_code == 303
    )
    log_out(browser)
    started = passkey_page(browser, deployment.restricted_rp)
    refused = post_assertion(
        browser, started.page, authenticator.assertion(options_in(started.page.text))
    )
    assert refused.status_code == 400


# -- registration rules ---------------------------------------------------------------------------


def test_registration_needs_a_session(browser: TestClient) -> None:
    assert browser.get("/account/passkeys").status_code == 401


def test_registration_from_a_passkey_session_is_refused_and_steps_up(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    log_out(browser)
    started = passkey_page(browser, deployment.restricted_rp)
    post_assertion(browser, started.page, authenticator.assertion(options_in(started.page.text)))

    page = browser.get("/account/passkeys")
    assert page.status_code == 403
    assert "level high" in page.text and "cannot add another" in page.text
    assert "data-passkey-options" not in page.text
    form = parse_forms(page.text)[0]
    before = passkey_count(browser)
    # Posting a registration anyway is refused the same way, and binds nothing.
    second = SoftAuthenticator(origin=ISSUER, rp_id=RP_ID)
    sneaked = browser.post(
        "/account/passkeys",
        data={
            **form.fields,
            "action": "register",
            "credential": second.register('{"user": {"id": "AAAA"}, "challenge": "AA"}'),
        },
    )
    assert sneaked.status_code == 403
    assert passkey_count(browser) == before

    # Step up: a login at high (only dev qualifies), then back on the registration page.
    step_up = browser.post("/account/passkeys", data={**form.fields, "action": "step_up"})
    assert step_up.status_code == 303
    chooser = browser.get(step_up.headers["location"])
    assert chooser.status_code == 303 and chooser.headers["location"].endswith("/dev")
    dev_page = browser.get(chooser.headers["location"])
    assert "Log in to your zorg-idp account" in dev_page.text
    dev_form = parse_forms(dev_page.text)[0]
    back = browser.post(dev_form.action, data={**dev_form.fields, "dezi_nummer": CARER})
    assert back.status_code == 303 and back.headers["location"] == f"{ISSUER}/account/passkeys"
    assert "data-passkey-options" in browser.get("/account/passkeys").text
    assert "level high" in browser.get("/account").text


def test_registration_refuses_bad_responses(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    dev_login(browser, deployment.restricted_rp)
    before = passkey_count(browser)
    wrong_origin = register(browser, authenticator, origin="https://evil.example")
    assert wrong_origin.status_code == 400 and "could not be verified" in wrong_origin.text
    assert "data-passkey-options" in wrong_origin.text  # a fresh attempt is offered
    assert passkey_count(browser) == before


def test_registration_posts_need_the_csrf_token_and_origin(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    dev_login(browser, deployment.restricted_rp)
    before = passkey_count(browser)
    page = browser.get("/account/passkeys")
    form = parse_forms(page.text)[0]
    credential = authenticator.register(options_in(page.text))
    data = {**form.fields, "action": "register", "credential": credential}
    assert browser.post("/account/passkeys", data={**data, "csrf_token": "x"}).status_code == 403
    cross = browser.post("/account/passkeys", data=data, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert passkey_count(browser) == before


def test_no_step_up_without_a_method_at_high(
    deployment: Deployment, browser: TestClient, authenticator: SoftAuthenticator
) -> None:
    enrolled(deployment, browser, authenticator)
    log_out(browser)
    started = passkey_page(browser, deployment.restricted_rp)
    post_assertion(browser, started.page, authenticator.assertion(options_in(started.page.text)))
    form = parse_forms(browser.get("/account/passkeys").text)[0]
    methods = deployment.app.state.services.login_methods
    saved = dict(methods)
    del methods["dev"]
    try:
        refused = browser.post("/account/passkeys", data={**form.fields, "action": "step_up"})
    finally:
        methods.clear()
        methods.update(saved)  # the same order: the chooser lists dev first
    assert refused.status_code == 403 and "No login method at level high" in refused.text
