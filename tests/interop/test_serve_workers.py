"""``zorg-idp serve --workers 2``: two worker processes behind one port, sharing Redis.

ARCHITECTURE.md "Scale": no sticky sessions. A login transaction written by whichever worker
took ``/authorize`` must be found by whichever worker takes the next request, each request
here on a fresh connection so that the kernel spreads them over the workers.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.interop.live import (
    LOOPBACK,
    _stop,
    _wait_ready,
    free_port,
    server_environment,
    zorg_idp_command,
)
from tests.support import pkce_pair

pytestmark = [pytest.mark.interop, pytest.mark.redis]

# A database of its own; keys are random ids with TTLs, so nothing needs flushing.
REDIS_URL = os.environ.get("ZORG_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
REDIRECT = "https://epd.example/cb"


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (after the parenthesised command name) is the parent's pid.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_two_workers_share_the_login_state(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    env = {
        **server_environment(),
        "IDP_ISSUER": issuer,
        "IDP_STATE_URL": REDIS_URL,
        "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'register.db'}",
        "IDP_DATA_DIR": str(tmp_path / "var"),
        "IDP_ENVIRONMENT": "test",
        "IDP_REVOCATION_POLL_INTERVAL": "0",
    }
    # Only demo and `database init` create a database (README "Configuration").
    initialised = subprocess.run(
        [zorg_idp_command(), "database", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert initialised.returncode == 0, initialised.stderr
    added = subprocess.run(
        [
            zorg_idp_command(),
            *("client", "add", "--client-id", "spa", "--auth-method", "none"),
            "--redirect-uri",
            REDIRECT,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [
                zorg_idp_command(),
                "serve",
                "--workers",
                "2",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(server, issuer, log_path)
            deadline = time.monotonic() + 30
            while len(children_of(server.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            # uvicorn spawns its workers with multiprocessing (spawn_main); a resource tracker
            # child, if any, is not one of them.
            workers = [c for c in children_of(server.pid) if b"spawn_main" in cmdline(c)]
            assert len(workers) == 2, [cmdline(c) for c in children_of(server.pid)]
            for _ in range(12):
                _, challenge = pkce_pair()
                query = urlencode(
                    {
                        "client_id": "spa",
                        "redirect_uri": REDIRECT,
                        "response_type": "code",
                        "scope": "openid",
                        "nonce": "n-0123456789",
                        "state": "s-0123456789",
                        "code_challenge": challenge,
                        "code_challenge_method": "S256",
                    }
                )
                with httpx.Client(base_url=issuer, timeout=10) as first:
                    started = first.get(f"/authorize?{query}")
                    assert started.status_code in (302, 303), started.text[:300]
                    location = started.headers["location"]
                    cookies = dict(first.cookies)
                assert location.startswith("/login/")
                for _ in range(3):  # the login pages, each on a new connection
                    with httpx.Client(base_url=issuer, timeout=10, cookies=cookies) as next_hop:
                        page = next_hop.get(location)
                    if page.status_code != 303:
                        break
                    location = page.headers["location"]
                    assert location.startswith("/login/")
                assert page.status_code == 200, page.text[:300]
                assert 'name="dezi_nummer"' in page.text  # the dev login form of this transaction
        finally:
            _stop(server)
