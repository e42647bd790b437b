"""Load script: full authorization code flows against a real zorg-idp on loopback.

One flow = authorize → dev login form → organisation choice → token (``private_key_jwt``) →
userinfo, each with a fresh browser cookie jar. Flows run on ``--concurrency`` threads until
``--flows`` have been started or ``--seconds`` have passed, whichever comes first.

Without ``--url`` the script starts ``zorg-idp demo`` in a temporary directory (like the interop
tests) and stops it at the end. With ``--url`` it uses a running demo/serve instance on loopback
and registers its client with ``zorg-idp client add`` run in ``--workdir`` (the directory whose
``./var/demo.db`` that server uses, or set ``IDP_DATABASE_URL``).

Usage (from the repository root): ``.venv/bin/python bench/flows.py --concurrency 8``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.interop.live import LiveServer, run_demo_server  # noqa: E402
from tests.support import CARER, RelyingParty, login_through_forms, pkce_pair, query_of  # noqa: E402

CLIENT_ID = "bench-flows"
DEMO_URAS = ("90000001", *(f"900001{n:02d}" for n in range(1, 16)))
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class FlowError(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step}: {detail}")
        self.step = step


@dataclass
class Results:
    flow_ms: list[float] = field(default_factory=list)
    browser_ms: list[float] = field(default_factory=list)
    token_ms: list[float] = field(default_factory=list)
    userinfo_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def one_flow(
    browser: httpx.Client,
    backchannel: httpx.Client,
    rp: RelyingParty,
    ura: str,
    results: Results,
    *,
    silent: bool = False,
) -> None:
    """One complete flow; latencies go into ``results`` only when every step succeeded.

    ``silent``: the browser keeps its OP session, so the OP answers without authentication
    (one login per shift); only the organisation choice remains."""
    if not silent:
        browser.cookies.clear()  # a new browser for every flow
    verifier, challenge = pkce_pair()
    params = rp.authorize_params(code_challenge=challenge)
    start = time.perf_counter()
    final = login_through_forms(
        browser, f"{rp.issuer}/authorize?{urlencode(params)}", CARER, choose=ura
    )
    location = final.headers.get("location", "")
    if final.status_code != 303 or not location.startswith(f"{rp.redirect_uri}?"):
        raise FlowError("browser", f"HTTP {final.status_code}, no redirect to the RP")
    callback = query_of(location)
    if "code" not in callback or callback.get("state") != params["state"]:
        raise FlowError("browser", f"bad callback: {callback.get('error', 'no code or state')}")
    browser_done = time.perf_counter()

    response = backchannel.post(
        f"{rp.issuer}/token", data=rp.token_form(callback["code"], verifier)
    )
    token_done = time.perf_counter()
    if response.status_code != 200:
        raise FlowError("token", f"HTTP {response.status_code} {response.text[:120]}")
    body = response.json()
    if not body.get("id_token"):
        raise FlowError("token", "no id_token")

    info = backchannel.get(
        f"{rp.issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    end = time.perf_counter()
    if info.status_code != 200 or info.json().get("abonnee_nummer") != ura:
        raise FlowError("userinfo", f"HTTP {info.status_code} {info.text[:120]}")
    with results.lock:
        results.flow_ms.append((end - start) * 1000)
        results.browser_ms.append((browser_done - start) * 1000)
        results.token_ms.append((token_done - browser_done) * 1000)
        results.userinfo_ms.append((end - token_done) * 1000)


def run(
    rp: RelyingParty,
    *,
    flows: int,
    seconds: float,
    concurrency: int,
    ura: str,
    silent: bool = False,
) -> tuple[Results, float]:
    results = Results()
    started = 0
    counter_lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        nonlocal started
        with (
            httpx.Client(base_url=rp.issuer, follow_redirects=False, timeout=30.0) as browser,
            httpx.Client(timeout=30.0) as backchannel,
        ):
            if silent:  # one unmeasured login starts this browser's session
                try:
                    one_flow(browser, backchannel, rp, ura, Results())
                except (FlowError, httpx.HTTPError) as exc:
                    with results.lock:
                        results.errors[f"first login: {exc}"[:160]] += 1
                    return
            while True:
                with counter_lock:
                    if started >= flows or time.monotonic() >= deadline:
                        return
                    started += 1
                try:
                    one_flow(browser, backchannel, rp, ura, results, silent=silent)
                except FlowError as exc:
                    with results.lock:
                        results.errors[str(exc)[:160]] += 1
                except (httpx.HTTPError, ValueError, KeyError, AssertionError) as exc:
                    with results.lock:
                        results.errors[f"{type(exc).__name__}: {exc}"[:160]] += 1

    threads = [threading.Thread(target=worker, name=f"flow-{i}") for i in range(concurrency)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - begin


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None when unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"p50 {values[0]:7.1f}  (one sample)"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return (
        f"p50 {cuts[49]:7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f}  "
        f"max {max(values):7.1f}  mean {statistics.fmean(values):7.1f}"
    )


def report(
    results: Results,
    elapsed: float,
    args: argparse.Namespace,
    issuer: str,
    cpu: tuple[float | None, float],
) -> None:
    ok = len(results.flow_ms)
    failed = sum(results.errors.values())
    print(
        f"zorg-idp flows: {issuer}  concurrency {args.concurrency}  "
        f"limits: {args.flows} flows / {args.seconds:g} s  cores: {os.cpu_count()}"
    )
    print(
        f"flows ok {ok}  errors {failed}  elapsed {elapsed:.2f} s  ->  {ok / elapsed:.1f} flows/s"
    )
    print("latency in ms")
    print(f"  whole flow   {percentiles(results.flow_ms)}")
    print(f"  browser part {percentiles(results.browser_ms)}")
    print(f"  token        {percentiles(results.token_ms)}")
    print(f"  userinfo     {percentiles(results.userinfo_ms)}")
    server_cpu, client_cpu = cpu
    if ok:
        server = f"server {server_cpu / ok * 1000:.1f} ms, " if server_cpu is not None else ""
        print(f"CPU per flow: {server}this load script {client_cpu / ok * 1000:.1f} ms")
    for message, count in results.errors.most_common(10):
        print(f"  error x{count}: {message}")


@contextmanager
def target_server(args: argparse.Namespace) -> Iterator[LiveServer]:
    if args.url is None:
        with (
            tempfile.TemporaryDirectory(prefix="zorg-bench-") as tmp,
            run_demo_server(Path(tmp)) as server,
        ):
            yield server
        return
    issuer = args.url.rstrip("/")
    if urlsplit(issuer).hostname not in LOOPBACK_HOSTS:
        raise SystemExit("--url must be a loopback address (this is a load script)")
    workdir = Path(args.workdir).resolve()
    with httpx.Client(timeout=5.0) as client:
        if client.get(f"{issuer}/readyz").status_code != 200:
            raise SystemExit(f"{issuer}/readyz is not ready")
    yield LiveServer(issuer, workdir, dict(os.environ), workdir / "server.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--url", help="issuer of a running server (default: start one)")
    parser.add_argument("--workdir", default=".", help="with --url: where to run client add")
    parser.add_argument("--flows", type=int, default=300, help="at most this many flows")
    parser.add_argument("--seconds", type=float, default=60.0, help="start no flow after this")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel flows (threads)")
    parser.add_argument("--alg", choices=("PS256", "ES256"), default="PS256", help="client key")
    parser.add_argument("--ura", default="90000107", help="organisation the carer chooses")
    parser.add_argument(
        "--silent",
        action="store_true",
        help="measure logins within an existing OP session (no authentication)",
    )
    args = parser.parse_args(argv)
    if args.flows < 1 or args.concurrency < 1 or args.seconds <= 0:
        parser.error("--flows, --concurrency and --seconds must be positive")

    with target_server(args) as server:
        rp = RelyingParty.confidential(CLIENT_ID, server.issuer, alg=args.alg)
        server.register_client(
            rp.client_id, rp.redirect_uri, jwks=rp.jwks(), organisations=DEMO_URAS, name="bench"
        )
        # One flow first, untimed: fails fast when the setup is wrong.
        warmup, _ = run(rp, flows=1, seconds=30.0, concurrency=1, ura=args.ura)
        if warmup.errors:
            print(f"warm-up flow failed: {dict(warmup.errors)}", file=sys.stderr)
            print(server.log_tail(), file=sys.stderr)
            return 2
        server_cpu_before = process_cpu_seconds(server.pid)
        client_cpu_before = time.process_time()
        results, elapsed = run(
            rp,
            flows=args.flows,
            seconds=args.seconds,
            concurrency=args.concurrency,
            ura=args.ura,
            silent=args.silent,
        )
        client_cpu = time.process_time() - client_cpu_before
        server_cpu_after = process_cpu_seconds(server.pid)
        server_cpu = (
            server_cpu_after - server_cpu_before
            if server_cpu_before is not None and server_cpu_after is not None
            else None
        )
        report(results, elapsed, args, server.issuer, (server_cpu, client_cpu))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
