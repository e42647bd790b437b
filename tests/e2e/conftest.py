"""Fixtures for the browser tests: the real ``zorg-idp demo`` server and Debian's Chromium.

``playwright install`` is never used: the browser is the ``chromium`` on PATH (Debian package
``chromium``). Each test gets a new browser context (fresh cookies, fresh OP transaction).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.server import REPO, DemoServer, run_demo_server

SCREENSHOT_DIR = REPO / "var" / "e2e-screenshots"  # var/ is gitignored
ACTION_TIMEOUT_MS = 10_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with run_demo_server(tmp_path_factory.mktemp("e2e-demo")) as server:
        yield server


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "The e2e tests need Debian's Chromium on PATH: `apt-get install -y chromium` "
            "(`playwright install` is not used in this project)."
        )
    chromium = playwright_driver.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


def new_context(
    browser: Browser, *, java_script_enabled: bool = True, width: int = 1280, height: int = 900
) -> BrowserContext:
    ctx = browser.new_context(
        java_script_enabled=java_script_enabled, viewport={"width": width, "height": height}
    )
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return ctx


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="package")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
