"""Processes and servers the browser tests run against.

- :func:`run_demo_server`: the REAL ``zorg-idp demo`` in a subprocess, from a fresh directory.
- :func:`serve_html`: a tiny ``http.server`` on another loopback port, standing in for a hostile
  site (a different origin; same site, so cookies flow as they would for a real framing attack).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 45.0


@dataclass(frozen=True)
class DemoServer:
    base_url: str  # also the issuer: http://127.0.0.1:<port>
    workdir: Path
    log_path: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def zorg_idp_executable() -> Path:
    """The console script next to the interpreter running the tests (``.venv/bin/zorg-idp``)."""
    for candidate in (Path(sys.prefix) / "bin" / "zorg-idp", REPO / ".venv" / "bin" / "zorg-idp"):
        if candidate.is_file():
            return candidate
    pytest.fail("zorg-idp console script not found: run `pip install -e '.[test]'` in .venv")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], server: DemoServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"zorg-idp demo exited with {process.returncode} before it was ready:\n"
                f"{server.log_text()}"
            )
        try:
            response = httpx.get(server.url("/readyz"), timeout=2.0)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        time.sleep(0.1)
    pytest.fail(
        f"zorg-idp demo not ready after {STARTUP_TIMEOUT:.0f}s ({last}):\n{server.log_text()}"
    )


@contextmanager
def run_demo_server(
    workdir: Path, *, host: str = "127.0.0.1", env_extra: Mapping[str, str] | None = None
) -> Iterator[DemoServer]:
    """``zorg-idp demo`` on a free loopback port, cwd ``workdir``; stopped on exit, always.

    ``host`` is also the issuer's host: ``localhost`` for WebAuthn, whose RP ID must be a domain
    name, not an IP address. ``env_extra`` adds ``IDP_*`` settings (e.g. login methods)."""
    port = free_port()
    server = DemoServer(f"http://{host}:{port}", workdir, workdir / "server.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env["IDP_RSA_KEY_SIZE"] = "2048"
    env.update(env_extra or {})
    command = [str(zorg_idp_executable()), "demo", "--host", host, "--port", str(port)]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            _wait_ready(process, server)
            yield server
        finally:
            _stop(process)


@contextmanager
def serve_html(html: str) -> Iterator[str]:
    """Serve ``html`` for every GET on a free loopback port; yields the base URL."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="e2e-hostile-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
