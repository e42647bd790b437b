"""The UZI-pas stack on loopback: ``zorg-idp serve`` (uvicorn) behind Debian's nginx.

nginx runs the production template ``deploy/nginx-uzi.conf.template`` (rendered with loopback
ports and the test PKI's files) inside a test-only main config that keeps its pid, logs and
temp files in the temp dir. It runs in the foreground (``daemon off``) as a child of the test
process, and both processes are stopped (and waited for) at the end.

Addresses: uvicorn listens on 127.0.0.1; nginx connects to it from 127.0.0.2 (``proxy_bind``),
the only address in ``trusted_proxies``. A test that talks to uvicorn directly therefore comes
from an untrusted address (127.0.0.1), as an attacker on the network would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx

from certs.testca import Issued, UziTestPki

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx-uzi.conf.template"
LOOPBACK = "127.0.0.1"
PROXY_ADDRESS = "127.0.0.2"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

MAIN_CONF = """\
$user_line
worker_processes 1;
error_log $logs/error.log info;
pid $logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log $logs/access.log;
    client_body_temp_path $temp/body;
    proxy_temp_path $temp/proxy;
    fastcgi_temp_path $temp/fastcgi;
    uwsgi_temp_path $temp/uwsgi;
    scgi_temp_path $temp/scgi;
    include $conf_dir/zorg-idp.conf;
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).is_file()), None
    )
    if found is None:
        raise RuntimeError(
            "The mtls tests need Debian's nginx: `apt-get install -y nginx` "
            "(./scripts/test installs it)."
        )
    return found


def render_site(values: Mapping[str, str]) -> str:
    """The production template with every ``${NAME}`` filled in (envsubst's job in prod)."""
    text = Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(values)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if "${" in body:
        raise AssertionError(f"unfilled placeholder in {TEMPLATE.name}")
    return text


@dataclass(frozen=True)
class Stack:
    issuer: str  # nginx, issuer origin (no client certificates)
    mtls_origin: str  # nginx, UZI-pas origin (optional client certificate)
    app_url: str  # uvicorn itself, reached from an untrusted address
    workdir: Path
    database_url: str
    data_dir: Path
    crl_path: Path
    server_log: Path
    nginx_error_log: Path
    root_ca: Path
    pki: UziTestPki

    def log_text(self) -> str:
        return self.server_log.read_text(encoding="utf-8", errors="replace")

    def tls_context(self, card: Issued | None = None) -> ssl.SSLContext:
        """Verifies nginx's certificate with the test root; presents ``card`` when asked."""
        context = ssl.create_default_context(cafile=str(self.root_ca))
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        if card is not None:
            stem = f"card-{card.certificate.serial_number:x}"
            cert_path, key_path = card.write(self.workdir / "cards", stem)
            context.load_cert_chain(cert_path, key_path)
        return context

    def browser(self, card: Issued | None = None) -> httpx.Client:
        """A browser with (or without) a card in the reader: cookies kept, no redirects."""
        return httpx.Client(
            base_url=self.issuer,
            verify=self.tls_context(card),
            follow_redirects=False,
            timeout=15.0,
        )

    def write_crl(self) -> None:
        """Publish the PKI's current CRL atomically (the server re-reads it on change)."""
        staging = self.crl_path.with_suffix(".new")
        staging.write_bytes(self.pki.crl_pem())
        staging.replace(self.crl_path)


def _wait(check: str, probe: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        try:
            response = probe.get(check)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise RuntimeError(f"{check} not ready within {READY_TIMEOUT:.0f} s ({last}):\n{_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-4000:]
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def zorg_idp_command() -> str:
    candidate = Path(sys.executable).parent / "zorg-idp"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("zorg-idp")
    if found is None:
        raise RuntimeError("zorg-idp console script not found: pip install -e . into the venv")
    return found


def server_env(values: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(values)
    return env


@dataclass(frozen=True)
class Ports:
    front: int  # nginx, issuer origin
    mtls: int  # nginx, UZI-pas origin
    app: int  # uvicorn

    @classmethod
    def pick(cls) -> Ports:
        return cls(free_port(), free_port(), free_port())

    @property
    def issuer(self) -> str:
        return f"https://{LOOPBACK}:{self.front}"


@contextmanager
def run_stack(
    workdir: Path, ports: Ports, pki: UziTestPki, server_settings: Mapping[str, str]
) -> Iterator[Stack]:
    """Start uvicorn (``zorg-idp serve``) and nginx; stop both on exit, also after a failure.

    ``server_settings`` are the ``IDP_*`` variables beyond the ones the stack sets itself.
    """
    for sub in ("conf", "logs", "temp", "cards", "pki"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    front, mtls, app = ports.front, ports.mtls, ports.app
    pki_dir = workdir / "pki"
    bundle = pki_dir / "uzi-ca-bundle.pem"
    bundle.write_bytes(pki.bundle_pem)
    root_ca = pki_dir / "test-root.pem"
    root_ca.write_bytes(pki.root.cert_pem)
    server_cert, server_key = pki.server(LOOPBACK).write(pki_dir, "nginx")
    crl_path = pki_dir / "uzi-crl.pem"
    crl_path.write_bytes(pki.crl_pem())
    stack = Stack(
        issuer=ports.issuer,
        mtls_origin=f"https://{LOOPBACK}:{mtls}",
        app_url=f"http://{LOOPBACK}:{app}",
        workdir=workdir,
        database_url=server_settings["IDP_DATABASE_URL"],
        data_dir=Path(server_settings["IDP_DATA_DIR"]),
        crl_path=crl_path,
        server_log=workdir / "logs" / "server.log",
        nginx_error_log=workdir / "logs" / "error.log",
        root_ca=root_ca,
        pki=pki,
    )
    env = server_env(
        {
            **server_settings,
            "IDP_ISSUER": stack.issuer,
            "IDP_UZI_MTLS_URL": stack.mtls_origin,
            "IDP_UZI_CA_BUNDLE": str(bundle),
            "IDP_UZI_CRL_FILE": str(crl_path),
            "IDP_TRUSTED_PROXIES": f'["{PROXY_ADDRESS}"]',
        }
    )
    site = render_site(
        {
            "IDP_SERVER_NAME": LOOPBACK,
            "ISSUER_LISTEN": f"{LOOPBACK}:{front}",
            "MTLS_LISTEN": f"{LOOPBACK}:{mtls}",
            "TLS_CERT": str(server_cert),
            "TLS_KEY": str(server_key),
            "UZI_CA_BUNDLE": str(bundle),
            "APP_UPSTREAM": f"{LOOPBACK}:{app}",
            "PROXY_BIND": PROXY_ADDRESS,
        }
    )
    (workdir / "conf" / "zorg-idp.conf").write_text(site, encoding="utf-8")
    main_conf = workdir / "conf" / "nginx.conf"
    main_conf.write_text(
        Template(MAIN_CONF).substitute(
            # As root, nginx would run its worker as "nobody", which cannot enter pytest's
            # 0700 temp dirs; keep the worker as the user running the tests.
            user_line="user root;" if os.geteuid() == 0 else "",
            logs=workdir / "logs",
            temp=workdir / "temp",
            conf_dir=workdir / "conf",
        ),
        encoding="utf-8",
    )
    with ExitStack() as stop, stack.server_log.open("wb") as server_out:
        server = subprocess.Popen(
            [zorg_idp_command(), "serve", "--host", LOOPBACK, "--port", str(app)],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=server_out,
            stderr=subprocess.STDOUT,
        )
        stop.callback(_stop, server)
        with httpx.Client(timeout=2.0) as probe:
            _wait(f"{stack.app_url}/readyz", probe, server, stack.server_log)
        nginx = subprocess.Popen(
            [
                nginx_binary(),
                "-p",
                str(workdir),
                "-c",
                str(main_conf),
                "-e",
                str(stack.nginx_error_log),
                "-g",
                "daemon off;",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stop.callback(_stop, nginx, signal.SIGQUIT)
        with httpx.Client(timeout=2.0, verify=stack.tls_context()) as probe:
            _wait(f"{stack.issuer}/readyz", probe, nginx, stack.nginx_error_log)
            _wait(f"{stack.mtls_origin}/readyz", probe, nginx, stack.nginx_error_log)
        yield stack
