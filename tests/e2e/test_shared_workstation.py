"""A shared PC: two people in turn on one browser (DECISIONS.md #15; issue 10 item 7).

"Log out" in the demo EPD ends the OP session of that browser too, so the next person at the
same PC starts from nothing: a login page, never the previous carer's organisations.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.journey import (
    LOGIN_STEP,
    assert_logged_in,
    carer_journey,
    enter_dezi_nummer,
    start_login,
    wait_for_demo_epd,
)
from tests.e2e.server import DemoServer
from tests.support import CARER, PHYSICIAN

pytestmark = pytest.mark.e2e

CARER_URA = "90000107"


def test_the_next_person_at_a_shared_pc_starts_from_nothing(
    page: Page, demo_server: DemoServer
) -> None:
    carer_journey(page, demo_server, CARER, CARER_URA)
    assert_logged_in(
        page, dezi_nummer=CARER, ura=CARER_URA, role="86.000", name_parts=("van der", "Berg")
    )
    page.get_by_role("button", name="Log out").click()
    # RP-initiated logout with id_token_hint: no confirmation, straight back to the EPD.
    wait_for_demo_epd(page, demo_server)
    expect(page.get_by_role("button", name="Log in with zorg-idp")).to_be_visible()

    # The physician sits down at the same browser.
    start_login(page, demo_server)  # a login page, not the carer's organisation chooser
    assert LOGIN_STEP.search(page.url)
    expect(page.get_by_text("Thuiszorg")).to_have_count(0)
    enter_dezi_nummer(page, PHYSICIAN)
    wait_for_demo_epd(page, demo_server)
    assert_logged_in(page, dezi_nummer=PHYSICIAN, ura="90000001", role="01.015", name_parts=())


def test_logging_out_at_the_op_ends_the_epd_session_too(
    page: Page, demo_server: DemoServer
) -> None:
    """Back-channel logout: the OP session ends on /account; the demo EPD forgets her too."""
    carer_journey(page, demo_server, CARER, CARER_URA)
    page.goto(demo_server.url("/account"))
    page.get_by_role("button", name="Log out here").click()
    expect(page.get_by_role("heading", name="You are logged out")).to_be_visible()
    expect(page.get_by_text("were told to end your session")).to_be_visible()
    page.wait_for_timeout(500)  # the logout token is sent in the background
    page.goto(demo_server.url("/demo-epd/"))
    expect(page.get_by_role("button", name="Log in with zorg-idp")).to_be_visible()
