"""Fixtures for the interop suite: one real server per session, the Node relying party's folder."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.live import LiveServer, run_demo_server

NODE_DIR = Path(__file__).parent / "node"
NPM_TIMEOUT = 300


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``zorg-idp demo`` on a free loopback port, in a fresh working directory."""
    with run_demo_server(tmp_path_factory.mktemp("interop-server")) as server:
        yield server


@pytest.fixture(scope="session")
def node_rp_dir() -> Path:
    """``tests/interop/node`` with its locked dependencies installed (``npm ci`` once)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the openid-client interop tests need Node.js >= 20 and npm on PATH")
    if not (NODE_DIR / "node_modules" / "openid-client" / "package.json").is_file():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {NODE_DIR}:\n{result.stdout}\n{result.stderr}")
    return NODE_DIR
