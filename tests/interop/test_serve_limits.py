"""``zorg-idp serve`` past its concurrency limit answers 503 at once (README "Server limits")."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.interop.live import (
    CLI_TIMEOUT,
    LOOPBACK,
    _stop,
    _wait_ready,
    free_port,
    server_environment,
    zorg_idp_command,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def test_past_the_concurrency_limit_the_server_answers_503(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    env = {
        **server_environment(),
        "IDP_ISSUER": issuer,
        "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'register.db'}",
        "IDP_DATA_DIR": str(tmp_path / "var"),
        "IDP_ENVIRONMENT": "test",
        "IDP_REVOCATION_POLL_INTERVAL": "0",
        # uvicorn counts open connections and running requests, the asking one included.
        "IDP_SERVER_CONCURRENCY_LIMIT": "2",
    }
    init = subprocess.run(
        [zorg_idp_command(), "database", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [zorg_idp_command(), "serve", "--host", LOOPBACK, "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(server, issuer, log_path)
            with socket.create_connection((LOOPBACK, port)) as idle:
                idle.settimeout(5)
                with httpx.Client(timeout=5) as client:
                    refused = client.get(f"{issuer}/healthz")
                assert refused.status_code == 503
            # Once the idle connection is gone there is room again.
            deadline = time.monotonic() + 10
            status = 0
            while status != 200 and time.monotonic() < deadline:
                with httpx.Client(timeout=5) as client:
                    status = client.get(f"{issuer}/healthz").status_code
                time.sleep(0.05)
            assert status == 200
        finally:
            _stop(server)
