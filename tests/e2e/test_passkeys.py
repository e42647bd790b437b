"""Passkeys end to end: Debian's Chromium with a virtual authenticator (Chrome DevTools Protocol
``WebAuthn`` domain) against the real ``zorg-idp demo`` with the ``dev`` and ``passkey`` methods.

The demo runs on ``localhost``: a WebAuthn RP ID must be a domain name (W3C WebAuthn L2 §5.1.2),
and ``http://localhost`` is a secure context. The virtual authenticator is a CTAP2 platform
authenticator with resident keys and user verification, answering without a prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from tests.e2e.conftest import new_context
from tests.e2e.journey import CSP_LISTENER, DEMO_EPD, PageLog, row, shown_claims
from tests.e2e.server import DemoServer, run_demo_server
from tests.support import PHYSICIAN

pytestmark = pytest.mark.e2e

ACR_HIGH = "http://eidas.europa.eu/LoA/high"
ACR_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
CHOOSER = re.compile(r"/login/[A-Za-z0-9_-]+$")
PASSKEY_STEP = re.compile(r"/login/[A-Za-z0-9_-]+/passkey$")


@pytest.fixture(scope="module")
def passkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with run_demo_server(
        tmp_path_factory.mktemp("e2e-passkeys"),
        host="localhost",
        env_extra={"IDP_LOGIN_METHODS": '["dev", "passkey"]'},
    ) as server:
        yield server


@pytest.fixture
def passkey_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser)
    ctx.add_init_script(CSP_LISTENER)
    try:
        yield ctx
    finally:
        ctx.close()


def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def credentials(cdp: CDPSession, authenticator_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator_id}
    )["credentials"]
    return found


def log_in_at_demo_epd(page: Page, server: DemoServer, method: re.Pattern[str]) -> None:
    """Demo EPD → chooser → the method whose radio label matches → its page."""
    page.goto(server.url("/demo-epd/"))
    page.get_by_role("button", name="Log in with zorg-idp").click()
    page.wait_for_url(CHOOSER)
    page.get_by_role("radio", name=method).check()
    page.get_by_role("button", name="Continue").click()


def test_bind_a_passkey_at_high_then_log_in_with_it_at_substantial(
    passkey_context: BrowserContext, passkey_server: DemoServer, screenshot_dir: Path
) -> None:
    page = passkey_context.new_page()
    log = PageLog.attach(page)
    cdp, authenticator_id = virtual_authenticator(passkey_context, page)

    # 1. Log in with the dev method (level high) at the demo EPD.
    log_in_at_demo_epd(page, passkey_server, re.compile("Test login"))
    page.locator("input[name=dezi_nummer]").fill(PHYSICIAN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(DEMO_EPD)
    expect(row(page, "Level (acr)")).to_have_text(ACR_HIGH)

    # 2. Register a passkey on /account.
    page.goto(passkey_server.url("/account"))
    expect(page.get_by_role("heading", name="Your passkeys")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You have no passkey yet.")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    page.get_by_label("A name for this passkey").fill("Work phone")
    page.screenshot(path=screenshot_dir / "passkey-register.png", full_page=True)
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(passkey_server.url("/account"))
    expect(page.locator("table").last).to_contain_text("Work phone")
    stored = credentials(cdp, authenticator_id)
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True
    assert stored[0]["rpId"] == "localhost"

    # 3. Log out of the OP; back-channel logout ends the demo EPD's session too.
    page.get_by_role("button", name="Log out here").click()
    expect(page.locator("main")).to_contain_text("logged out")
    page.wait_for_timeout(500)  # the logout token is delivered in the background
    page.goto(passkey_server.url("/demo-epd/"))
    expect(page.get_by_role("button", name="Log in with zorg-idp")).to_be_visible()

    # 4. Log in with the passkey at the relying party.
    log_in_at_demo_epd(page, passkey_server, re.compile("Passkey"))
    page.wait_for_url(PASSKEY_STEP)
    expect(page.locator("main")).to_contain_text("needs JavaScript")
    page.screenshot(path=screenshot_dir / "passkey-login.png", full_page=True)
    page.get_by_role("button", name="Log in with a passkey").click()
    page.wait_for_url(DEMO_EPD)
    expect(page.get_by_role("heading", name="Logged in")).to_be_visible()
    expect(row(page, "Dezi number")).to_have_text(PHYSICIAN)
    expect(row(page, "Level (acr)")).to_have_text(ACR_SUBSTANTIAL)
    assert shown_claims(page, "id-token-claims")["acr"] == ACR_SUBSTANTIAL
    assert credentials(cdp, authenticator_id)[0]["signCount"] >= 1

    # 5. A passkey session cannot add a passkey: a clear page, and a step-up offered.
    page.goto(passkey_server.url("/account"))
    expect(page.locator("main")).to_contain_text("level substantial")
    page.get_by_role("link", name="add a passkey").click()
    expect(page.get_by_role("heading", name="Log in at level high first")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("cannot add another one")
    expect(page.get_by_role("button", name="Log in again at level high")).to_be_visible()
    page.screenshot(path=screenshot_dir / "passkey-step-up.png", full_page=True)
    assert len(credentials(cdp, authenticator_id)) == 1

    assert log.page_errors == [], log.page_errors
    # The only error is the step-up page's own status (403), which Chromium logs.
    unexpected = [e for e in log.console_errors if "403 (Forbidden)" not in e]
    assert unexpected == [], log.console_errors  # no CSP violation, no script error


def test_without_javascript_the_page_says_so_and_offers_other_methods(
    browser: Browser, passkey_server: DemoServer
) -> None:
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in_at_demo_epd(page, passkey_server, re.compile("Passkey"))
        page.wait_for_url(PASSKEY_STEP)
        # Chromium renders no <noscript> when only script execution is off; the page says it
        # in plain text too, and the server answers a form posted without a credential.
        expect(page.locator("main")).to_contain_text("This login method needs JavaScript")
        page.get_by_role("button", name="Log in with a passkey").click()
        expect(page.get_by_role("alert")).to_contain_text("needs JavaScript")
        page.get_by_role("link", name="Choose another login method").first.click()
        page.wait_for_url(CHOOSER)
        expect(page.get_by_role("radio")).to_have_count(2)
    finally:
        context.close()
