"""The servers the comparison drives, each a subprocess on a free loopback port.

- zorg-idp: ``zorg-idp demo`` (one uvicorn process, SQLite, in-process state store) or
  ``zorg-idp serve --workers N`` on the database a demo run seeded, with the settings given as
  ``IDP_*`` variables; clients registered with ``zorg-idp client add --jwks-file``.
- the peer: node-oidc-provider from ``../shared/bench/peer`` (``node server.mjs PORT CLIENT_ID
  REDIRECT_URI JWKS_FILE CLIENT2_ID JWKS2_FILE``), installed with ``npm ci`` into a copy outside
  the repository (the shared directory may be read-only).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.loadclient import REDIRECT_URI, Client  # noqa: E402
from tests.interop.live import LiveServer, free_port, zorg_idp_command  # noqa: E402

LOOPBACK = "127.0.0.1"
PEER_SOURCE = REPO.parent / "shared" / "bench" / "peer"
PEER_FILES = ("server.mjs", "package.json", "package-lock.json")
READY_TIMEOUT = 90.0
# The product throttles token requests per address (1200/min) and per client (600/min); the load
# client is one address and two clients, so the limits are raised for the benchmark (the check
# itself still runs on every request). The peer has no such limit.
UNTHROTTLED = {
    "IDP_TOKEN_REQUESTS_PER_ADDRESS": "1000000000",
    "IDP_TOKEN_REQUESTS_PER_CLIENT": "1000000000",
}


@dataclass(frozen=True)
class Running:
    name: str
    issuer: str
    pid: int
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {READY_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def _process(
    name: str, argv: list[str], cwd: Path, env: Mapping[str, str], issuer: str, ready: str
) -> Iterator[Running]:
    log_path = cwd / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            _wait_ready(process, f"{issuer}{ready}", log_path)
            yield Running(name, issuer, process.pid, log_path)
        finally:
            _stop(process)


def ours_environment(
    workdir: Path, key_size: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for zorg-idp commands in ``workdir``: no inherited ``IDP_*`` setting."""
    (workdir / "var").mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_RSA_KEY_SIZE=str(key_size),
        IDP_ENVIRONMENT="dev",
        IDP_DATABASE_URL=f"sqlite:///{workdir / 'var' / 'demo.db'}",
        IDP_DATA_DIR=str(workdir / "var"),
        **UNTHROTTLED,
    )
    env.update(extra or {})
    return env


def register(workdir: Path, env: Mapping[str, str], issuer: str, clients: list[Client]) -> None:
    """``zorg-idp client add --jwks-file`` for every client (idempotent by client id)."""
    live = LiveServer(issuer, workdir, env, workdir / "cli.log")
    for client in clients:
        jwks_file = workdir / f"{client.client_id}.jwks.json"
        jwks_file.write_text(json.dumps(client.jwks()), encoding="utf-8")
        result = live.cli(
            "client", "add", "--client-id", client.client_id, "--redirect-uri", REDIRECT_URI,
            "--jwks-file", str(jwks_file), "--name", "bench",
        )  # fmt: skip
        said = f"client {client.client_id}: "
        if result.returncode != 0 or not any(
            f"{said}{word}" in result.stdout for word in ("registered", "unchanged")
        ):
            raise RuntimeError(f"client add {client.client_id}: {result.stdout}{result.stderr}")


@contextmanager
def run_demo(workdir: Path, key_size: int, clients: list[Client]) -> Iterator[Running]:
    """``zorg-idp demo`` in ``workdir`` (seeds ``var/demo.db`` and keys), clients registered."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    env = ours_environment(workdir, key_size)
    argv = [zorg_idp_command(), "demo", "--host", LOOPBACK, "--port", str(port)]
    with _process("zorg-idp-demo", argv, workdir, env, issuer, "/readyz") as server:
        register(workdir, env, issuer, clients)
        yield server


def seed_demo_data(workdir: Path, key_size: int) -> None:
    """Start ``zorg-idp demo`` once in ``workdir`` and stop it: the seeded database and keys
    are what ``serve`` then runs on (serve does not seed)."""
    with run_demo(workdir, key_size, []):
        pass


@contextmanager
def run_serve(
    workdir: Path, key_size: int, workers: int, state_url: str, clients: list[Client]
) -> Iterator[Running]:
    """``zorg-idp serve --workers N`` on the demo database in ``workdir``, ``IDP_*`` settings."""
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    env = ours_environment(workdir, key_size, {"IDP_ISSUER": issuer, "IDP_STATE_URL": state_url})
    env["IDP_LOG_LEVEL"] = "warning"
    register(workdir, env, issuer, clients)
    argv = [zorg_idp_command(), "serve", "--host", LOOPBACK, "--port", str(port)]
    argv += ["--workers", str(workers)]
    with _process(f"zorg-idp-serve-{workers}", argv, workdir, env, issuer, "/readyz") as server:
        yield server


def peer_install(target: Path | None, source: Path = PEER_SOURCE) -> Path:
    """A copy of the peer with ``node_modules`` (``npm ci``), reused while the lock file is the
    same. Default place: ``$TMPDIR/zorg-bench-peer-<lock hash>``, never inside the repository."""
    lock = (source / "package-lock.json").read_bytes()
    if target is None:
        digest = hashlib.sha256(lock).hexdigest()[:12]
        target = Path(tempfile.gettempdir()) / f"zorg-bench-peer-{digest}"
    if REPO in target.resolve().parents:
        raise SystemExit("--peer-dir must be outside the repository (node_modules)")
    target.mkdir(parents=True, exist_ok=True)
    for name in PEER_FILES:
        shutil.copyfile(source / name, target / name)
    if not (target / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            raise SystemExit("the peer needs node and npm (Debian: nodejs npm)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=target,
            check=True,
            timeout=600,
        )
    return target


@contextmanager
def run_peer(peer_dir: Path, clients: list[Client], workdir: Path) -> Iterator[Running]:
    """node-oidc-provider with the two clients' JWKS; consent skipped (PEER_SKIP_CONSENT=1)."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("the peer needs node")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    argv = [node, str(peer_dir / "server.mjs"), str(port)]
    for client in clients:
        jwks_file = workdir / f"{client.client_id}.jwks.json"
        jwks_file.write_text(json.dumps(client.jwks()), encoding="utf-8")
        argv += [client.client_id] + ([REDIRECT_URI] if len(argv) == 3 else []) + [str(jwks_file)]
    env = {**os.environ, "PEER_SKIP_CONSENT": "1"}
    with _process("peer", argv, workdir, env, issuer, "/.well-known/openid-configuration") as srv:
        yield srv
