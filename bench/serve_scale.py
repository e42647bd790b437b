"""``zorg-idp serve`` under load: one worker against two, and a memory soak.

Both commands seed a throw-away database by running ``zorg-idp demo`` once in a temporary
directory (2048-bit keys by default), then start ``zorg-idp serve`` on it with ``IDP_*``
variables (``IDP_ENVIRONMENT=dev`` for the ``dev`` login, a loopback ``http`` issuer) and the
Redis state store ``redis://127.0.0.1:6379/9`` (database 9 only, flushed before and after).
The flow is bench/compare.py's full login flow (new browser, dev login, token with
private_key_jwt, userinfo), driven by the same load client.

- ``workers``: the same concurrency against ``--workers 1`` and ``--workers 2`` (both on Redis):
  flows per second, server CPU per flow (all worker processes), load-client CPU per flow, and
  the throughput ratio. The load client runs on the same two cores.
- ``soak``: one worker, ``--flows`` full flows (default 100,000), the worker's RSS sampled every
  ``--sample-every`` flows; the growth after warm-up in MB per 10,000 flows (least squares).

Usage: ``.venv/bin/python bench/serve_scale.py workers`` / ``… soak --flows 20000``.
Exit 0 when every flow succeeded (and, for soak, the RSS stayed flat), 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.compare import Limits, Target, row_full  # noqa: E402
from bench.loadclient import Client, Endpoints, Measured  # noqa: E402
from bench.procstat import process_tree, tree_rss_mb  # noqa: E402
from bench.servers import run_serve, seed_demo_data  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/9"  # database 9 and only database 9


def flush_state() -> None:
    with redis.Redis.from_url(REDIS_URL) as store:
        store.flushdb()


def slope_per_10k(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of (flows, MB) in MB per 10,000 flows (0.0 for fewer than 2 points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return cov / var * 10_000


def _header(title: str) -> None:
    load = os.getloadavg()
    print(
        f"{title}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"(shared by the server and this load client), load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def workers(args: argparse.Namespace, workdir: Path, clients: list[Client]) -> int:
    results: dict[int, Measured] = {}
    for count in (1, 2):
        flush_state()
        with run_serve(workdir, args.key_size, count, REDIS_URL, clients) as server:
            target = Target(server, Endpoints.discover(server.issuer), args.user, *clients)
            warm = row_full(target, Limits(args.warmup, args.concurrency, 120.0))
            results[count] = row_full(target, Limits(args.flows, args.concurrency, args.seconds))
            results[count].outcome.errors.update(
                {f"warm-up: {m}": n for m, n in warm.outcome.errors.items()}
            )
            workers_seen = len(process_tree(server.pid))
        print(f"  --workers {count}: {workers_seen} processes in the server's tree")
    flush_state()
    _header("zorg-idp serve --workers 1 vs 2, Redis state store, SQLite database")
    print(
        f"full login flows, concurrency {args.concurrency}, {args.flows} flows "
        f"(cap {args.seconds:g} s) after {args.warmup} warm-up flows each\n"
    )
    print(
        "| workers | flows ok (errors) | flows/s | server CPU ms/flow | client CPU ms/flow "
        "| cores busy: server / load client |"
    )
    print("|---:|---|---:|---:|---:|---|")
    rates: dict[int, float] = {}
    failed = 0
    for count, m in results.items():
        elapsed = m.outcome.elapsed or 1e-9
        rates[count] = m.outcome.ok / elapsed
        failed += m.outcome.failed
        print(
            f"| {count} | {m.outcome.ok} ({m.outcome.failed}) | {rates[count]:.1f} "
            f"| {m.server_ms_per_op() or 0:.2f} | {m.client_ms_per_op() or 0:.2f} "
            f"| {m.server_cpu / elapsed:.2f} / {m.client_cpu / elapsed:.2f} |"
        )
    if rates[1]:
        print(f"\nthroughput ratio 2 workers / 1 worker: {rates[2] / rates[1]:.2f}")
    for count, m in results.items():
        for message, n in m.outcome.errors.most_common(8):
            print(f"  ERROR --workers {count} x{n}: {message}")
    if failed:
        print(f"{failed} flows FAILED")
    return 1 if failed else 0


def soak(args: argparse.Namespace, workdir: Path, clients: list[Client]) -> int:
    state_url = REDIS_URL if args.state == "redis" else "memory://"
    flush_state()
    samples: list[tuple[int, float]] = []
    done = failed = 0
    cpu = 0.0
    errors: dict[str, int] = {}
    deadline = time.monotonic() + args.seconds
    with run_serve(workdir, args.key_size, 1, state_url, clients) as server:
        target = Target(server, Endpoints.discover(server.issuer), args.user, *clients)
        samples.append((0, tree_rss_mb(server.pid)))
        while done < args.flows and time.monotonic() < deadline:
            size = min(args.sample_every, args.flows - done)
            left = max(deadline - time.monotonic(), 0.1)
            m = row_full(target, Limits(size, args.concurrency, left))
            done += m.outcome.ok + m.outcome.failed
            failed += m.outcome.failed
            cpu += m.server_cpu
            for message, n in m.outcome.errors.items():
                errors[message] = errors.get(message, 0) + n
            samples.append((done, tree_rss_mb(server.pid)))
            print(f"  {done:7d} flows  RSS {samples[-1][1]:8.1f} MB  errors {failed}", flush=True)
            if m.outcome.ok + m.outcome.failed == 0:
                break
    flush_state()
    warm = int(done * args.warmup_fraction)
    after = [(x, y) for x, y in samples if x >= warm]
    growth = slope_per_10k(after)
    _header(f"zorg-idp serve, one worker, state store {args.state}: memory soak")
    print(
        f"{done} full login flows (concurrency {args.concurrency}), {failed} failed, "
        f"server CPU {cpu / max(done - failed, 1) * 1000:.2f} ms/flow"
    )
    print(
        f"RSS: start {samples[0][1]:.1f} MB, after warm-up ({warm} flows) "
        f"{after[0][1] if after else 0:.1f} MB, end {samples[-1][1]:.1f} MB, "
        f"max {max(y for _, y in samples):.1f} MB"
    )
    flat = abs(growth) <= args.flat_mb
    print(
        f"growth after warm-up: {growth:+.2f} MB per 10,000 flows "
        f"({'flat' if flat else 'GROWING'}: threshold {args.flat_mb:g} MB per 10,000 flows)"
    )
    for message, n in sorted(errors.items(), key=lambda item: -item[1])[:8]:
        print(f"  ERROR x{n}: {message}")
    return 0 if flat and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("workers", "soak"):
        p = sub.add_parser(name)
        p.add_argument("--concurrency", type=int, default=4, help="load-client threads")
        p.add_argument("--key-size", type=int, default=2048, help="zorg-idp's RSA key size")
        p.add_argument("--user", default="900000019", help="dev login (Dezi number)")
    w = sub.choices["workers"]
    w.add_argument("--flows", type=int, default=1000, help="measured flows per worker count")
    w.add_argument("--warmup", type=int, default=200, help="unmeasured flows first")
    w.add_argument("--seconds", type=float, default=120.0, help="cap per measurement")
    s = sub.choices["soak"]
    s.add_argument("--flows", type=int, default=100_000, help="flows in the soak")
    s.add_argument("--sample-every", type=int, default=2000, help="flows between RSS samples")
    s.add_argument("--seconds", type=float, default=4 * 3600.0, help="cap for the whole soak")
    s.add_argument("--warmup-fraction", type=float, default=0.2, help="not in the growth fit")
    s.add_argument("--flat-mb", type=float, default=1.0, help="max growth per 10,000 flows")
    s.add_argument("--state", choices=("redis", "memory"), default="redis", help="state store")
    args = parser.parse_args(argv)
    if args.flows < 1 or args.concurrency < 1 or args.seconds <= 0:
        parser.error("--flows, --concurrency and --seconds must be positive")
    clients = [Client.generate("bench-a"), Client.generate("bench-b")]
    with tempfile.TemporaryDirectory(prefix="zorg-serve-scale-") as tmp:
        workdir = Path(tmp)
        try:
            seed_demo_data(workdir, args.key_size)
            return (
                workers(args, workdir, clients)
                if args.command == "workers"
                else soak(args, workdir, clients)
            )
        except (RuntimeError, httpx.HTTPError, redis.RedisError) as exc:
            print(f"failed: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
