"""What the browser enforces for the OP pages: no framing (checklist J1), a clean console, CSP."""

from __future__ import annotations

import html

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect

from tests.e2e.journey import CSP_LISTENER, LOGIN_STEP, PageLog, carer_journey
from tests.e2e.server import DemoServer, serve_html
from tests.support import CARER

pytestmark = pytest.mark.e2e


def test_login_page_cannot_be_framed_by_another_origin(
    context: BrowserContext, demo_server: DemoServer
) -> None:
    """A page on another loopback port frames the login. It is a different origin but the same
    site, so the binding cookie flows and the OP answers its login page; the browser must still
    refuse to show it (CSP ``frame-ancestors 'none'``, ``X-Frame-Options: DENY``)."""
    target = demo_server.url(f"/demo-epd/login?login_hint={CARER}")
    hostile = (
        "<!doctype html><title>Win a prize</title><h1>Click the button to win</h1>"
        f'<iframe id="victim" src="{html.escape(target)}" width="640" height="640"></iframe>'
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    failures: list[str] = []

    def on_failed(request: Request) -> None:
        if LOGIN_STEP.search(request.url):
            failures.append(str(request.failure))

    page.on("requestfailed", on_failed)

    with serve_html(hostile) as hostile_origin:
        assert hostile_origin != demo_server.base_url
        with page.expect_response(lambda r: LOGIN_STEP.search(r.url) is not None) as answered:
            page.goto(hostile_origin + "/")  # waits for "load", which includes the iframe
        expect(page.get_by_role("heading", name="Click the button to win")).to_be_visible()

    # The OP did answer with its login page (so what follows is the headers' doing) ...
    login_page = answered.value
    assert login_page.status == 200
    assert "frame-ancestors 'none'" in login_page.headers.get("content-security-policy", "")
    assert login_page.headers.get("x-frame-options") == "DENY"
    # ... and the browser refused to render it in the frame.
    victim = page.frame_locator("#victim")
    expect(victim.locator("input[name=dezi_nummer]")).to_have_count(0)
    expect(victim.locator("form")).to_have_count(0)
    assert failures == ["net::ERR_BLOCKED_BY_RESPONSE"]
    frame_urls = [f.url for f in page.frames if f is not page.main_frame]
    assert frame_urls and not any(u.startswith(demo_server.base_url) for u in frame_urls)
    assert any("frame-ancestors 'none'" in text for text in console), console


def test_carer_journey_has_no_console_errors_or_csp_violations(
    context: BrowserContext, demo_server: DemoServer
) -> None:
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    log = PageLog.attach(page)

    carer_journey(page, demo_server, CARER, "90000107")
    expect(page.get_by_role("heading", name="Logged in")).to_be_visible()

    assert len(log.navigations) >= 3, log.navigations  # EPD, login, organisation, EPD
    assert log.console_errors == []
    assert log.page_errors == []


def test_csp_violation_detector_works(context: BrowserContext, demo_server: DemoServer) -> None:
    """Control for the test above: a violation on an OP page does reach the collected log."""
    context.add_init_script(CSP_LISTENER)
    page: Page = context.new_page()
    log = PageLog.attach(page)
    page.goto(demo_server.url("/demo-epd/"))
    with page.expect_console_message(
        lambda m: isinstance(m, ConsoleMessage) and m.text.startswith("CSP violation")
    ):
        page.evaluate(
            """() => {
                const img = document.createElement("img");
                img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
                document.body.append(img);
            }"""
        )
    assert any("img-src" in e for e in log.console_errors), log.console_errors
