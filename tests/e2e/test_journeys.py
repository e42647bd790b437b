"""End-to-end journeys through the real demo server in Chromium (INTERFACES.md "Browser steps")."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import new_context
from tests.e2e.journey import (
    LOGIN_STEP,
    SELECT_STEP,
    PageLog,
    assert_logged_in,
    carer_journey,
    choose_organisation,
    enter_dezi_nummer,
    start_login,
    submit_first,
    wait_for_demo_epd,
)
from tests.e2e.server import DemoServer
from tests.support import CARER, PHYSICIAN, REVOKED_NURSE

pytestmark = pytest.mark.e2e

CARER_URA = "90000107"  # Thuiszorg IJsselvallei, one of the carer's 15 organisations
CARER_ROLE = "86.000"
PHYSICIAN_URA = "90000001"
PHYSICIAN_ROLE = "01.015"


def test_carer_chooses_an_organisation_and_lands_in_the_demo_epd(
    page: Page, demo_server: DemoServer, screenshot_dir: Path
) -> None:
    log = PageLog.attach(page)

    carer_journey(page, demo_server, CARER, CARER_URA)
    page.screenshot(path=screenshot_dir / "journey-carer-90000107.png", full_page=True)

    userinfo = assert_logged_in(
        page, dezi_nummer=CARER, ura=CARER_URA, role=CARER_ROLE, name_parts=("van der", "Berg")
    )
    assert userinfo["voorvoegsel"] == "van der"
    assert userinfo["achternaam"] == "Berg"
    assert sum(1 for url in log.navigations if SELECT_STEP.search(url)) == 1


def test_carer_sees_all_fifteen_organisations(page: Page, demo_server: DemoServer) -> None:
    start_login(page, demo_server)
    enter_dezi_nummer(page, CARER)
    page.wait_for_url(SELECT_STEP)
    radios = page.get_by_role("radio")
    expect(radios).to_have_count(15)
    for n in range(1, 16):
        expect(page.get_by_role("radio", name=f"URA 900001{n:02d}")).to_have_count(1)


def test_physician_with_one_declaration_skips_the_organisation_page(
    page: Page, demo_server: DemoServer
) -> None:
    log = PageLog.attach(page)

    start_login(page, demo_server)
    enter_dezi_nummer(page, PHYSICIAN)
    wait_for_demo_epd(page, demo_server)

    assert_logged_in(
        page,
        dezi_nummer=PHYSICIAN,
        ura=PHYSICIAN_URA,
        role=PHYSICIAN_ROLE,
        name_parts=("A.M.", "Jansen"),
    )
    expect(page.locator("main")).not_to_contain_text("None")  # no voorvoegsel, nothing printed
    assert not [url for url in log.navigations if SELECT_STEP.search(url)], log.navigations


def test_revoked_nurse_gets_a_clear_page_and_returns_with_access_denied(
    page: Page, demo_server: DemoServer, screenshot_dir: Path
) -> None:
    start_login(page, demo_server)
    page.locator("input[name=dezi_nummer]").fill(REVOKED_NURSE)
    with page.expect_response(
        lambda r: r.request.method == "POST" and LOGIN_STEP.search(r.url) is not None
    ) as answer:
        submit_first(page)
    assert answer.value.status == 403

    expect(page).to_have_title("No active declaration · zorg-idp")
    expect(page.get_by_role("heading", level=1)).to_contain_text("You cannot log in to Demo EPD")
    expect(page.get_by_role("alert")).to_contain_text("no active declaration")
    page.screenshot(path=screenshot_dir / "revoked-nurse-no-declaration.png", full_page=True)

    back = page.get_by_role("button", name="Return to Demo EPD")
    expect(back).to_be_visible()
    back.click()
    wait_for_demo_epd(page, demo_server)

    expect(page.get_by_role("alert")).to_contain_text("access_denied")
    expect(page.get_by_role("heading", name="Logged in")).to_have_count(0)
    expect(page.get_by_role("button", name="Log in with zorg-idp")).to_be_visible()


def test_carer_journey_works_without_javascript(
    browser: Browser, demo_server: DemoServer, screenshot_dir: Path
) -> None:
    context = new_context(browser, java_script_enabled=False)
    try:
        page = context.new_page()
        carer_journey(page, demo_server, CARER, CARER_URA)
        page.screenshot(path=screenshot_dir / "journey-carer-no-javascript.png", full_page=True)
        assert_logged_in(
            page, dezi_nummer=CARER, ura=CARER_URA, role=CARER_ROLE, name_parts=("van der", "Berg")
        )
    finally:
        context.close()


def _assert_fits(page: Page, step: str) -> None:
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, f"{step}: {scroll_width}px wide in a {client_width}px view"


def test_carer_journey_fits_a_narrow_phone_screen(
    browser: Browser, demo_server: DemoServer, screenshot_dir: Path
) -> None:
    """375 px (a small phone): every page of journey 1 without horizontal scrolling."""
    context = new_context(browser, width=375, height=740)
    try:
        page = context.new_page()
        start_login(page, demo_server)
        _assert_fits(page, "dev login page")
        enter_dezi_nummer(page, CARER)
        page.wait_for_url(SELECT_STEP)
        _assert_fits(page, "organisation page")
        page.screenshot(path=screenshot_dir / "narrow-375-organisation-page.png", full_page=True)
        page.get_by_role("radio", name=f"URA {CARER_URA}").check()
        submit_first(page)
        wait_for_demo_epd(page, demo_server)
        page.screenshot(path=screenshot_dir / "narrow-375-demo-epd.png", full_page=True)
        _assert_fits(page, "demo EPD result page")
        assert_logged_in(
            page, dezi_nummer=CARER, ura=CARER_URA, role=CARER_ROLE, name_parts=("van der", "Berg")
        )
    finally:
        context.close()


def test_switching_organisation_needs_no_new_login(page: Page, demo_server: DemoServer) -> None:
    """Issue 6 item 7: the switcher asks only which organisation (prompt=select_account)."""
    log = PageLog.attach(page)
    carer_journey(page, demo_server, CARER, CARER_URA)
    page.get_by_role("button", name="Switch organisation").click()
    choose_organisation(page, "90000112")
    wait_for_demo_epd(page, demo_server)
    assert_logged_in(
        page, dezi_nummer=CARER, ura="90000112", role=CARER_ROLE, name_parts=("van der", "Berg")
    )
    logins = [url for url in log.navigations if "/dev" in url]
    assert len(logins) == 1  # the dev login form was shown once, for the first login only
