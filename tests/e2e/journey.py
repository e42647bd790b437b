"""The browser steps of INTERFACES.md, as a person with a browser takes them.

Forms are filled the way the contract promises: the ``dezi_nummer`` input, radio choices, and the
approving button is the first submit button of the step's POST form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import ConsoleMessage, Frame, Locator, Page, expect

from tests.e2e.server import DemoServer

ACR_HIGH = "http://eidas.europa.eu/LoA/high"
LOGIN_STEP = re.compile(r"/login/[A-Za-z0-9_-]+/dev$")
SELECT_STEP = re.compile(r"/select/[A-Za-z0-9_-]+$")
DEMO_EPD = re.compile(r"/demo-epd/(callback\?.*)?$")

# Reports Content-Security-Policy violations to the console. Playwright injects init scripts
# through the DevTools protocol, so the page's own CSP (no script at all) does not stop it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class PageLog:
    """What a page did: main-frame URLs it committed, console errors, uncaught exceptions."""

    navigations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> PageLog:
        log = cls()

        def on_navigated(frame: Frame) -> None:
            if frame.parent_frame is None:
                log.navigations.append(frame.url)

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "assert"):
                where = message.location.get("url", "")
                log.console_errors.append(f"{message.text} ({where})")

        page.on("framenavigated", on_navigated)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
        return log


def submit_first(page: Page) -> None:
    """Press the first submit button of the page's POST form (the approving one)."""
    form = page.locator("form[method=post]")
    expect(form).to_have_count(1)
    form.locator("button[type=submit], input[type=submit]").first.click()


def start_login(page: Page, server: DemoServer) -> None:
    """Open the demo EPD and press its login button; stop on the OP's dev login page."""
    page.goto(server.url("/demo-epd/"))
    expect(page.get_by_role("heading", name="Demo EPD")).to_be_visible()
    page.get_by_role("button", name="Log in with zorg-idp").click()
    page.wait_for_url(LOGIN_STEP)
    assert page.url.startswith(server.base_url)


def enter_dezi_nummer(page: Page, dezi_nummer: str) -> None:
    field_ = page.locator("input[name=dezi_nummer]")
    expect(field_).to_be_editable()
    field_.fill(dezi_nummer)
    submit_first(page)


def choose_organisation(page: Page, ura: str) -> None:
    """On the organisation page, pick the radio whose label names ``URA <ura>``; continue."""
    page.wait_for_url(SELECT_STEP)
    expect(
        page.get_by_role("heading", name="For which organisation are you working?")
    ).to_be_visible()
    radio = page.get_by_role("radio", name=f"URA {ura}")
    expect(radio).to_have_count(1)
    radio.check()
    expect(radio).to_be_checked()
    submit_first(page)


def wait_for_demo_epd(page: Page, server: DemoServer) -> None:
    page.wait_for_url(DEMO_EPD)
    assert page.url.startswith(server.url("/demo-epd/")), page.url


def carer_journey(page: Page, server: DemoServer, dezi_nummer: str, ura: str) -> None:
    """Journey 1: demo EPD → dev login → organisation page → back at the demo EPD."""
    start_login(page, server)
    enter_dezi_nummer(page, dezi_nummer)
    choose_organisation(page, ura)
    wait_for_demo_epd(page, server)


def shown_claims(page: Page, block_id: str) -> dict[str, Any]:
    block = page.locator(f"pre#{block_id}")
    expect(block).to_be_visible()
    claims: dict[str, Any] = json.loads(block.inner_text())
    return claims


def row(page: Page, header: str) -> Locator:
    """The value cell of the demo EPD's result table row headed ``header``."""
    return page.locator("tr").filter(has=page.locator("th", has_text=header)).locator("td")


def assert_logged_in(
    page: Page,
    *,
    dezi_nummer: str,
    ura: str,
    role: str,
    name_parts: tuple[str, ...],
) -> dict[str, Any]:
    """The demo EPD shows the person, organisation, role and the validated ID token claims."""
    expect(page.get_by_role("heading", name="Logged in")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    for part in name_parts:
        expect(row(page, "Name")).to_contain_text(part)
    expect(row(page, "Dezi number")).to_have_text(dezi_nummer)
    expect(row(page, "Organisation")).to_contain_text(f"URA {ura}")
    expect(row(page, "Role")).to_contain_text(f"({role})")
    expect(row(page, "Level (acr)")).to_have_text(ACR_HIGH)
    expect(page.get_by_role("heading", name="ID token claims (validated)")).to_be_visible()

    id_token = shown_claims(page, "id-token-claims")
    assert id_token["acr"] == ACR_HIGH
    assert id_token["aud"] == "demo-epd"
    userinfo = shown_claims(page, "userinfo-claims")
    assert userinfo["dezi_nummer"] == dezi_nummer
    assert userinfo["abonnee_nummer"] == ura
    assert userinfo["rol_code"] == role
    assert userinfo["sub"] == id_token["sub"]
    return userinfo
