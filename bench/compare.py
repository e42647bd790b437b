"""zorg-idp next to node-oidc-provider: server CPU milliseconds per operation, in one run.

Starts ``zorg-idp demo`` (2048-bit RSA keys, like the peer's signing key) and the peer from
``../shared/bench/peer`` (``PEER_SKIP_CONSENT=1``) on free loopback ports, registers the same two
client key pairs with both, warms both up (unmeasured), then drives both with the same load
client (bench/loadclient.py) and prints, per operation, the server's CPU time per operation
(utime + stime of its process tree from /proc, before and after), the load client's own CPU per
operation, and the ratio peer/ours (≥ 1.0: zorg-idp is cheaper).

Rows: ``full`` (authorize → login form → code → token with private_key_jwt → userinfo, a new
browser each time), ``silent`` (a browser already logged in at client A authorizes at client B
for the first time: code without any form → token → userinfo; the logins at A are an unmeasured
set-up phase), ``token`` (the token request alone; codes fetched unmeasured in batches that stay
within the 60 s code lifetime), ``jwks`` (GET the JWKS).

Usage (from the repository root): ``.venv/bin/python bench/compare.py`` (see bench/README.md).
Exit 0 when every operation succeeded, 1 when some failed, 2 when a server did not start or the
warm-up failed entirely.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from http.cookiejar import Cookie
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.loadclient import (  # noqa: E402
    Client,
    Code,
    Endpoints,
    FlowError,
    Measured,
    Outcome,
    browser_code,
    get_jwks,
    measure,
    new_http,
    redeem,
    restore,
    run_ops,
    snapshot,
    userinfo,
)
from bench.servers import Running, peer_install, run_demo, run_peer  # noqa: E402

ROWS = ("full", "silent", "token", "jwks")
ROW_TITLES = {
    "full": "full login flow",
    "silent": "silent SSO at new RP",
    "token": "token request",
    "jwks": "GET JWKS",
}
CODE_BATCH = 200  # codes fetched per un-measured batch: redeemed well within their 60 s
SESSION_BATCH = 100  # browsers logged in at A per batch before their first visit at B


@dataclass(frozen=True)
class Target:
    """One OP under load: its process, endpoints and the user its login form accepts."""

    server: Running
    op: Endpoints
    user: str
    client_a: Client
    client_b: Client


@dataclass(frozen=True)
class Limits:
    count: int
    concurrency: int
    seconds: float


def _full_flow(t: Target) -> Callable[[httpx.Client, int], None]:
    def op(http: httpx.Client, _: int) -> None:
        http.cookies.clear()  # a new browser
        code = browser_code(http, t.op, t.client_a, t.user)
        if code.forms == 0:
            raise FlowError("full: no login form was shown")
        userinfo(http, t.op, redeem(http, t.op, code))

    return op


def _login_browsers(t: Target, lim: Limits) -> tuple[list[list[Cookie]], Outcome]:
    """Set-up (unmeasured): ``count`` new browsers log in at client A; their cookie jars."""
    sessions: list[list[Cookie]] = [[] for _ in range(lim.count)]

    def op(http: httpx.Client, index: int) -> None:
        http.cookies.clear()
        code = browser_code(http, t.op, t.client_a, t.user)
        if code.forms == 0:
            raise FlowError("set-up: no login form at client A")
        sessions[index] = snapshot(http)

    outcome = run_ops(op, lim.count, lim.concurrency, lim.seconds)
    return [s for s in sessions if s], outcome


def _silent_at_b(t: Target, sessions: list[list[Cookie]]) -> Callable[[httpx.Client, int], None]:
    def op(http: httpx.Client, index: int) -> None:
        restore(http, sessions[index])
        code = browser_code(http, t.op, t.client_b, t.user)
        if code.forms:
            raise FlowError(f"silent: {code.forms} form(s) shown at client B")
        userinfo(http, t.op, redeem(http, t.op, code))

    return op


def row_full(t: Target, lim: Limits) -> Measured:
    return measure(
        t.server.pid, lambda: run_ops(_full_flow(t), lim.count, lim.concurrency, lim.seconds)
    )


def _batched(lim: Limits, size: int, batch: Callable[[Limits], Measured]) -> Measured:
    """``batch`` for at most ``size`` operations at a time, until ``lim.count`` operations are
    done or ``lim.seconds`` have passed; the batches' outcomes and CPU are added up."""
    total = Outcome()
    server_cpu = client_cpu = 0.0
    deadline = time.monotonic() + lim.seconds
    while total.ok + total.failed < lim.count and time.monotonic() < deadline:
        count = min(size, lim.count - total.ok - total.failed)
        part = batch(Limits(count, lim.concurrency, max(deadline - time.monotonic(), 0.1)))
        total.ok += part.outcome.ok
        total.elapsed += part.outcome.elapsed
        total.latencies_ms += part.outcome.latencies_ms
        total.errors.update(part.outcome.errors)
        server_cpu += part.server_cpu
        client_cpu += part.client_cpu
        if not part.outcome.ok:
            break
    return Measured(total, server_cpu, client_cpu)


def _silent_batch(t: Target, lim: Limits) -> Measured:
    sessions, setup = _login_browsers(t, lim)
    part = measure(
        t.server.pid,
        lambda: run_ops(_silent_at_b(t, sessions), len(sessions), lim.concurrency, lim.seconds),
    )
    part.outcome.errors.update({f"set-up: {m}": n for m, n in setup.errors.items()})
    return part


def row_silent(t: Target, lim: Limits) -> Measured:
    """In batches of SESSION_BATCH: new browsers log in at A (unmeasured), then each of them
    authorizes at B once (measured), so every measured flow is a first visit at B. Batches,
    because the peer's in-memory store is an LRU of 1,000 objects: a session made hundreds of
    logins earlier is gone."""
    return _batched(lim, SESSION_BATCH, lambda part: _silent_batch(t, part))


def _token_batch(t: Target, session: list[Cookie], lim: Limits) -> Measured:
    """``lim.count`` codes by silent logins at A in one session (unmeasured), then their token
    requests (measured), within the codes' 60 s lifetime."""
    codes: list[Code | None] = [None] * lim.count

    def get_code(http: httpx.Client, index: int) -> None:
        restore(http, session)
        codes[index] = browser_code(http, t.op, t.client_a, t.user)

    fetched = run_ops(get_code, lim.count, lim.concurrency, 40.0)
    ready = [c for c in codes if c is not None]

    def token(http: httpx.Client, index: int) -> None:
        redeem(http, t.op, ready[index])

    seconds = min(lim.seconds, 50.0)
    part = measure(t.server.pid, lambda: run_ops(token, len(ready), lim.concurrency, seconds))
    part.outcome.errors.update({f"set-up: {m}": n for m, n in fetched.errors.items()})
    return part


def row_token(t: Target, lim: Limits) -> Measured:
    """Codes in batches of CODE_BATCH, each batch redeemed right after it was fetched."""
    with new_http() as http:
        try:
            browser_code(http, t.op, t.client_a, t.user)  # the session the codes come from
        except (FlowError, httpx.HTTPError) as exc:
            return Measured(Outcome(errors=Counter({f"set-up: {exc}"[:140]: 1})), 0.0, 0.0)
        session = snapshot(http)
    return _batched(lim, CODE_BATCH, lambda part: _token_batch(t, session, part))


def row_jwks(t: Target, lim: Limits) -> Measured:
    def op(http: httpx.Client, _: int) -> None:
        get_jwks(http, t.op)

    return measure(t.server.pid, lambda: run_ops(op, lim.count, lim.concurrency, lim.seconds))


ROW_FUNCTIONS: dict[str, Callable[[Target, Limits], Measured]] = {
    "full": row_full,
    "silent": row_silent,
    "token": row_token,
    "jwks": row_jwks,
}


def ratio_text(peer: float | None, ours: float | None) -> str:
    """peer/ours as ``1.23``; ≥ 1.0 means zorg-idp spends less CPU per operation."""
    if peer is None or ours is None or ours <= 0 or peer <= 0:
        return "n/a"
    value = peer / ours
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _server_ms(m: Measured | None) -> float | None:
    return None if m is None else m.server_ms_per_op()


def _rate(m: Measured | None) -> str:
    if m is None or not m.outcome.elapsed:
        return "-"
    return f"{m.outcome.ok / m.outcome.elapsed:.0f}"


def format_table(results: dict[str, dict[str, Measured]]) -> list[str]:
    """The Markdown table: server CPU ms/op for both, the ratio, ok/errors, client CPU, rates."""
    lines = [
        "| operation | zorg-idp server CPU ms/op | peer server CPU ms/op | ratio peer/ours "
        "| ok (errors) ours / peer | load-client CPU ms/op ours / peer | ops/s ours / peer |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for row in ROWS:
        if row not in results:
            continue
        ours, peer = results[row].get("ours"), results[row].get("peer")

        def cell(m: Measured | None, what: Callable[[Measured], str]) -> str:
            return "-" if m is None else what(m)

        counts = " / ".join(
            cell(m, lambda m: f"{m.outcome.ok} ({m.outcome.failed})") for m in (ours, peer)
        )
        client = " / ".join(cell(m, lambda m: _ms(m.client_ms_per_op())) for m in (ours, peer))
        lines.append(
            f"| {ROW_TITLES[row]} | {cell(ours, lambda m: _ms(m.server_ms_per_op()))} "
            f"| {cell(peer, lambda m: _ms(m.server_ms_per_op()))} "
            f"| {ratio_text(_server_ms(peer), _server_ms(ours))} "
            f"| {counts} | {client} | {_rate(ours)} / {_rate(peer)} |"
        )
    return lines


def describe_flows(name: str, t: Target) -> None:
    """One full login and one silent login at B, unmeasured, printed request by request."""
    with new_http() as http:
        full: list[str] = []
        silent: list[str] = []
        code = browser_code(http, t.op, t.client_a, t.user, full)
        browser_code(http, t.op, t.client_b, t.user, silent)
    print(f"  {name} full login, {code.forms} form(s): " + "; ".join(full))
    print(f"  {name} silent at B: " + "; ".join(silent))


def _warm_up(name: str, t: Target, lim: Limits) -> tuple[int, int]:
    """Every row once at warm-up size, unmeasured; returns (successes, failures)."""
    ok = failed = 0
    for row in ROWS:
        result = ROW_FUNCTIONS[row](t, lim)
        ok += result.outcome.ok
        failed += result.outcome.failed
        for message, count in result.outcome.errors.most_common(3):
            print(f"  ERROR warm-up {name} {row} x{count}: {message}", file=sys.stderr)
    return ok, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--flows", type=int, default=300, help="measured operations per row")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured operations per row")
    parser.add_argument("--concurrency", type=int, default=4, help="load-client threads")
    parser.add_argument("--seconds", type=float, default=60.0, help="cap per measured phase")
    parser.add_argument("--only", choices=("ours", "peer"), help="drive one server only")
    parser.add_argument("--skip-peer", action="store_true", help="same as --only ours")
    parser.add_argument("--key-size", type=int, default=2048, help="zorg-idp's RSA key size")
    parser.add_argument("--user", default="900000019", help="zorg-idp dev login (Dezi number)")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of rows")
    parser.add_argument("--peer-dir", type=Path, help="where the peer is installed (npm ci)")
    args = parser.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    if any(r not in ROWS for r in rows) or not rows:
        parser.error(f"--rows: choose from {','.join(ROWS)}")
    if min(args.flows, args.concurrency) < 1 or args.warmup < 0 or args.seconds <= 0:
        parser.error("--flows, --concurrency, --seconds must be positive, --warmup ≥ 0")
    if args.key_size != 2048:
        print(f"note: zorg-idp keys are {args.key_size}-bit, the peer's 2048-bit", file=sys.stderr)
    sides = ["ours", "peer"]
    if args.skip_peer or args.only == "ours":
        sides = ["ours"]
    elif args.only == "peer":
        sides = ["peer"]

    clients = [Client.generate("bench-a"), Client.generate("bench-b")]
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="zorg-compare-") as tmp, ExitStack() as stack:
        targets: dict[str, Target] = {}
        try:
            if "ours" in sides:
                server = stack.enter_context(run_demo(Path(tmp) / "ours", args.key_size, clients))
                targets["ours"] = Target(
                    server, Endpoints.discover(server.issuer), args.user, *clients
                )
            if "peer" in sides:
                peer_dir = peer_install(args.peer_dir)
                server = stack.enter_context(run_peer(peer_dir, clients, Path(tmp) / "peer"))
                endpoints = Endpoints.discover(server.issuer)
                targets["peer"] = Target(server, endpoints, "bench", *clients)
        except (RuntimeError, OSError, httpx.HTTPError, FlowError) as exc:
            print(f"a server did not start: {exc}", file=sys.stderr)
            return 2

        warm = Limits(args.warmup, args.concurrency, 120.0)
        failed = 0
        for name, target in targets.items():
            ok, warm_failed = _warm_up(name, target, warm) if args.warmup else (1, 0)
            if not ok:
                print(f"warm-up of {name} failed entirely:\n{target.server.log_tail()}")
                return 2
            failed += warm_failed

        lim = Limits(args.flows, args.concurrency, args.seconds)
        results: dict[str, dict[str, Measured]] = {}
        for number, row in enumerate(rows):
            # Alternate which server goes first, so a drift in the machine's load is shared.
            order = list(targets) if number % 2 == 0 else list(reversed(targets))
            results[row] = {name: ROW_FUNCTIONS[row](targets[name], lim) for name in order}

        load = os.getloadavg()
        print(
            f"zorg-idp vs node-oidc-provider 9.13.3, {started:%Y-%m-%d %H:%M} UTC, "
            f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        print(
            f"measured {args.flows} ops per row (cap {args.seconds:g} s) after "
            f"{args.warmup} warm-up ops per row, concurrency {args.concurrency}, "
            f"zorg-idp RSA {args.key_size}"
        )
        for name, target in targets.items():
            print(f"  {name}: {target.server.issuer} (pid {target.server.pid})")
            try:
                describe_flows(name, target)
            except (FlowError, httpx.HTTPError) as exc:
                print(f"  ERROR {name} traced flow: {exc}")
                failed += 1
        print()
        print("\n".join(format_table(results)))
        for row, per_side in results.items():
            for name, m in per_side.items():
                for message, count in m.outcome.errors.most_common(8):
                    print(f"  ERROR {name} {row} x{count}: {message}")
                failed += m.outcome.failed
        if failed:
            print(
                f"\n{failed} operations FAILED (warm-up included): "
                "the numbers above are not trustworthy"
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
