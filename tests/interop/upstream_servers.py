"""Servers for the upstream-OIDC interop tests, all on loopback.

- :func:`run_zorg_demos`: real ``zorg-idp demo`` servers on chosen loopback names, each with
  its own working directory (SQLite, keys) and, optionally, a settings file. Two of them are the two
  OPs of the journey: A (this product as the relying party) and B (the upstream OP). They have
  different host names (127.0.0.1 and localhost) so that a browser keeps their cookies apart, as
  it would for two hosts: cookies ignore ports. (The register allows plain-http redirect URIs
  only on those names, and ``demo`` registers its own EPD, so 127.0.0.2 will not do for B.)
- :func:`serve_fake_op`: ``tests.unit.authn.upstream_fakes.FakeOp`` over real HTTP, an upstream
  OP whose ID tokens a test can spoil (wrong ``iss``, ``aud``, ``nonce``, expired).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.interop.live import LiveServer, server_environment, zorg_idp_command
from tests.unit.authn.upstream_fakes import FakeOp

READY_TIMEOUT = 60.0


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], issuer: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{issuer}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"zorg-idp demo at {issuer} did not become ready (exit {process.poll()}):\n"
        + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    )


@dataclass(frozen=True)
class DemoSpec:
    workdir: Path
    host: str
    port: int
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def run_zorg_demos(*specs: DemoSpec) -> Iterator[list[LiveServer]]:
    """``zorg-idp demo --host H --port P`` for each spec, in its own working directory, started
    side by side (their start-ups overlap); all stopped on exit, also on failure."""
    started: list[tuple[subprocess.Popen[bytes], LiveServer]] = []
    try:
        for spec in specs:
            spec.workdir.mkdir(parents=True, exist_ok=True)
            environment = {**server_environment(), **spec.env}
            log_path = spec.workdir / "server.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [zorg_idp_command(), "demo", "--host", spec.host, "--port", str(spec.port)],
                    cwd=spec.workdir,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            server = LiveServer(spec.issuer, spec.workdir, environment, log_path, process.pid)
            started.append((process, server))
        for process, server in started:
            _wait_ready(process, server.issuer, server.log_path)
        yield [server for _, server in started]
    finally:
        for process, _ in started:
            _stop(process)


def log_events(server: LiveServer, event: str) -> list[dict[str, object]]:
    """The JSON log lines of ``server`` with this ``event`` (structlog, idp.audit)."""
    found = []
    for line in server.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            record = json.loads(line)
            if record.get("event") == event:
                found.append(record)
    return found


@contextmanager
def serve_fake_op(op: FakeOp, host: str, port: int) -> Iterator[None]:
    """Serve ``op`` (whose ``issuer`` is ``http://host:port``) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = f"{op.issuer}{self.path}"
            if self.path.startswith("/authorize?"):
                query = dict(parse_qsl(self.path.partition("?")[2]))
                params = op.authorize(url)
                self._send(303, b"", {"Location": f"{query['redirect_uri']}?{urlencode(params)}"})
                return
            self._json(200, op.get_json(url))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            status, answer = op.post_form(f"{op.issuer}{self.path}", dict(parse_qsl(body)))
            self._json(status, answer)

        def _json(self, status: int, data: Mapping[str, object]) -> None:
            self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
