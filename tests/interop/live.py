"""A real zorg-idp on loopback: ``zorg-idp demo`` in a subprocess, clients added with the CLI.

Used by the interop tests (``tests/interop/conftest.py``) and by ``bench/flows.py``. Everything
goes through the public surface of INTERFACES.md: the ``demo`` and ``client add`` commands, the
``./var`` data of the working directory, ``/readyz`` and discovery.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jwskate import Jwk

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 60.0
CLI_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def zorg_idp_command() -> str:
    """The ``zorg-idp`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "zorg-idp"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("zorg-idp")
    if found is None:
        raise RuntimeError("zorg-idp console script not found: pip install -e . into the venv")
    return found


def free_port() -> int:
    """A TCP port that was free on loopback a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def new_client_key(alg: str) -> Jwk:
    """A relying party's private signing key (jwskate: not the OP's JOSE stack), with a kid."""
    key = Jwk.generate(alg=alg, key_size=2048) if alg.startswith("PS") else Jwk.generate(alg=alg)
    return key.with_kid_thumbprint()


def server_environment(rsa_key_size: int = 2048) -> dict[str, str]:
    """The caller's environment without any ``IDP_*`` variable, plus a small RSA key size."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env["IDP_RSA_KEY_SIZE"] = str(rsa_key_size)
    return env


@dataclass(frozen=True)
class LiveServer:
    """A running ``zorg-idp demo`` and the working directory whose ``./var`` it uses."""

    issuer: str
    workdir: Path
    env: Mapping[str, str]
    log_path: Path
    pid: int | None = None  # of the server process, when this process started it

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``zorg-idp ARGS`` in the server's working directory (same ``var/demo.db``)."""
        return subprocess.run(
            [zorg_idp_command(), *args],
            cwd=self.workdir,
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    def register_client(
        self,
        client_id: str,
        redirect_uri: str,
        *,
        jwks: Mapping[str, Any] | None = None,
        auth_method: str = "private_key_jwt",
        organisations: Sequence[str] = (),
        profile: str = "nlgov",
        name: str | None = None,
        id_token_alg: str | None = None,
    ) -> None:
        """``zorg-idp client add …``; fails unless the command says the client was registered."""
        args = [
            "client",
            "add",
            "--client-id",
            client_id,
            "--redirect-uri",
            redirect_uri,
            "--auth-method",
            auth_method,
            "--profile",
            profile,
        ]
        for ura in organisations:
            args += ["--organisation", ura]
        if name is not None:
            args += ["--name", name]
        if id_token_alg is not None:
            args += ["--id-token-signed-response-alg", id_token_alg]
        with tempfile.TemporaryDirectory(prefix="zorg-jwks-") as tmp:
            if jwks is not None:
                jwks_file = Path(tmp) / "jwks.json"
                jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
                args += ["--jwks-file", str(jwks_file)]
            result = self.cli(*args)
        if result.returncode != 0 or f"client {client_id}: registered" not in result.stdout:
            raise RuntimeError(
                f"zorg-idp client add {client_id} failed (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def browser(self, timeout: float = 10.0) -> httpx.Client:
        """An httpx client for the browser steps: cookies kept, redirects NOT followed."""
        return httpx.Client(base_url=self.issuer, follow_redirects=False, timeout=timeout)


def _wait_ready(process: subprocess.Popen[bytes], issuer: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"zorg-idp demo exited with {process.returncode} before it was ready:\n"
                    + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
                )
            try:
                response = client.get(f"{issuer}/readyz")
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
    raise RuntimeError(
        f"zorg-idp demo not ready within {READY_TIMEOUT:.0f} s ({last}):\n"
        + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def run_demo_server(workdir: Path, *, port: int | None = None) -> Iterator[LiveServer]:
    """Start ``zorg-idp demo`` in ``workdir`` (fresh ``./var``), wait for ``/readyz``, stop it
    on exit, also when the body or the start-up fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    issuer = f"http://{LOOPBACK}:{port}"
    env = server_environment()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [zorg_idp_command(), "demo", "--host", LOOPBACK, "--port", str(port)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(process, issuer, log_path)
            yield LiveServer(
                issuer=issuer, workdir=workdir, env=env, log_path=log_path, pid=process.pid
            )
        finally:
            _stop(process)
