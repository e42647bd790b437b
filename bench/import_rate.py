"""Bulk import rate and the login-path declaration lookup, on SQLite and on PostgreSQL.

A benchmark, not a test. For each backend it makes a throwaway database (a temporary SQLite file;
a ``zorg_bench_<hex>`` database on the local PostgreSQL, dropped afterwards), enrols the
organisations, generates a staff CSV of ``--rows`` professionals (one declaration each; about one
in ten BIG-registered), and times:

1. the import through ``registry.bulk`` (the code behind ``zorg-idp registry import``: staged
   and checked, then applied in chunks of ``--batch-size`` rows), rows/s, with the peak resident
   memory of the process after it (``--measure-memory``; ``ru_maxrss``);
2. optionally (``--rerun``) the same file again, where every row is "unchanged";
3. ``registry.audit.verify`` over the whole chain (``--verify``): it must hold;
4. ``SqlRegister.usable_declarations`` for ``--lookups`` random professionals (the read the login
   path makes at each token issuance, DECISIONS.md #11): p50, p95, p99 and max in ms
   (``--lookups 0`` skips it).

    .venv/bin/python bench/import_rate.py --rows 30000 --rerun --verify --backend postgresql
    .venv/bin/python bench/import_rate.py --rows 1000000 --backend postgresql --measure-memory \
        --lookups 0
    .venv/bin/python bench/import_rate.py --rows 100000 --max-seconds 600   # stop early
    .venv/bin/python bench/import_rate.py --rows 20000 --backend sqlite --rerun
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import audit, codes, db
from registry.bulk import DEFAULT_BATCH_SIZE, Importer, open_import_file, run_import
from registry.bulk_file import ORGANISATION_COLUMNS, STAFF_COLUMNS, parse_import_file
from registry.models import Declaration, Professional
from registry.repository import SqlRegister
from registry.staff import AuditContext

IMPORTER = Importer(AuditContext("cli:bench", "cli", via="import"), registry_admin=True)
SURNAMES = ("Jansen", "de Vries", "Bakker", "Müller-Lüdenscheidt", "Hoff", "Ancona", "Çelik")
PREFIXES = ("", "", "", "van", "van der", "van 't", "d'", "de")


def generate(path: Path, rows: int, uras: list[str], rng: random.Random) -> None:
    """A staff CSV of ``rows`` professionals, each with one declaration."""
    declarable = [r for r in codes.roles().values() if r.declarable]
    big_roles = [r.code for r in declarable if r.big_registered]
    other_roles = [r.code for r in declarable if not r.big_registered]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(STAFF_COLUMNS) + "\r\n")
        for n in range(rows):
            big = n % 10 == 0
            cells = [
                uras[n % len(uras)],
                f"HR{n:07d}",
                f"{chr(65 + n % 26)}.",
                rng.choice(PREFIXES),
                f"{rng.choice(SURNAMES)}{n}",
                f"{n:011d}" if big else "",
                rng.choice(big_roles if big else other_roles),
                "2025-01-01",
                "" if n % 3 else "2027-12-31",
            ]
            handle.write(",".join(cells) + "\r\n")


@contextmanager
def sqlite_database() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="zorg-bench-") as directory:
        engine = db.create_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_database(host: str, port: int) -> Iterator[Engine]:
    for user in ("postgres", "root"):
        try:
            admin = psycopg.connect(
                host=host, port=port, user=user, dbname="test", autocommit=True, connect_timeout=5
            )
            break
        except psycopg.OperationalError:
            continue
    else:
        raise SystemExit(f"PostgreSQL on {host}:{port} is unreachable")
    name = f"zorg_bench_{secrets.token_hex(4)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    engine = db.create_engine(f"postgresql+psycopg://{user}@{host}:{port}/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


class TimeUp(Exception):
    """``--max-seconds`` passed: the open batch is rolled back, the committed ones stay."""


def committed(engine: Engine) -> int:
    with db.read_session(engine) as session:
        return len(session.exec(select(Declaration.id)).all())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class ServerCpu:
    """CPU seconds used by the PostgreSQL backends of ``engine``'s connections, read from
    /proc (the server runs on this machine), so that a run on a busy machine can still say what
    the import itself costs. Zero on SQLite or when /proc is not readable."""

    def __init__(self, engine: Engine) -> None:
        self._pids: set[int] = set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._remember)

    def _remember(self, connection: Any, _record: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self._pids.add(int(cursor.fetchone()[0]))

    def seconds(self) -> float:
        total = 0.0
        for pid in self._pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def bench(engine: Engine, name: str, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    server = ServerCpu(engine)
    db.upgrade(engine)
    uras = [f"{91_000_000 + n:08d}" for n in range(args.organisations)]
    organisations = "\r\n".join(
        [",".join(ORGANISATION_COLUMNS), *(f"{u},Zorgorganisatie {u},,T2" for u in uras)]
    )
    run_import(engine, parse_import_file(organisations.encode()), IMPORTER)
    with tempfile.TemporaryDirectory(prefix="zorg-bench-csv-") as directory:
        path = Path(directory) / "staff.csv"
        generate(path, args.rows, uras, rng)
        size = path.stat().st_size
        started, cpu, server_cpu = time.perf_counter(), time.process_time(), server.seconds()
        parsed = open_import_file(path)
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            if args.max_seconds and time.perf_counter() - started > args.max_seconds:
                raise TimeUp
            if done[0] // args.progress_every != (done[0] - n) // args.progress_every:
                elapsed = time.perf_counter() - started
                used = time.process_time() - cpu
                print(
                    f"  {name}: {done[0]} rows, {elapsed:.0f} s wall, {used:.0f} s CPU",
                    file=sys.stderr,
                    flush=True,
                )

        try:
            report = run_import(
                engine,
                parsed,
                IMPORTER,
                batch_size=args.batch_size,
                progress=progress,
                on_result=lambda _result: None,  # as the CLI: results are not kept
            )
        except (KeyboardInterrupt, TimeUp):  # report what was committed, then time the lookups
            report = None
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = server.seconds() - server_cpu
        imported = args.rows if report is not None else committed(engine)
        state = "imported" if report is not None else "INTERRUPTED; committed"
        print(
            f"{name}: {state} {imported} of {args.rows} rows ({size / 2**20:.1f} MiB) in"
            f" {elapsed:.1f} s = {imported / elapsed:.0f} rows/s (batch {args.batch_size});"
            f" CPU {cpu:.1f} s importer + {server_cpu:.1f} s PostgreSQL backend;"
            f" load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if args.measure_memory:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            print(f"{name}: peak resident memory of the process {peak:.0f} MiB", flush=True)
        if report is not None:
            assert report.count("created") == args.rows, report.counts
        if args.rerun and report is not None:
            started, cpu, server_cpu = time.perf_counter(), time.process_time(), server.seconds()
            again = run_import(
                engine, parsed, IMPORTER, batch_size=args.batch_size, on_result=lambda _r: None
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            server_cpu = server.seconds() - server_cpu
            assert again.count("unchanged") == args.rows, again.counts
            print(
                f"{name}: same file again (all unchanged) in {elapsed:.2f} s ="
                f" {args.rows / elapsed:.0f} rows/s; CPU {cpu:.2f} s importer +"
                f" {server_cpu:.2f} s PostgreSQL backend; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    if args.verify:
        started = time.perf_counter()
        with db.read_session(engine) as session:
            broken = audit.verify(session)
            head = audit.head(session)
        assert broken is None, f"the audit chain breaks at seq {broken}"
        print(
            f"{name}: audit chain verifies ({head[0] if head else 0} records,"
            f" {time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    if not args.lookups:
        return
    with db.read_session(engine) as session:
        numbers = list(session.exec(select(Professional.dezi_nummer)).all())
    register = SqlRegister(engine)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    for number in rng.sample(numbers, min(50, len(numbers))):  # warm-up
        register.usable_declarations(number, [], at)
    timings: list[float] = []
    for number in rng.choices(numbers, k=args.lookups):
        started = time.perf_counter()
        found = register.usable_declarations(number, [], at)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(found) == 1
    print(
        f"{name}: usable_declarations x{args.lookups}: p50 {statistics.median(timings):.2f} ms,"
        f" p95 {percentile(timings, 0.95):.2f} ms, p99 {percentile(timings, 0.99):.2f} ms,"
        f" max {max(timings):.2f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--rerun", action="store_true", help="also time the same file again")
    parser.add_argument("--verify", action="store_true", help="verify the audit chain after")
    parser.add_argument(
        "--measure-memory", action="store_true", help="print the peak RSS after the import"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--seed", type=int, default=7513)
    parser.add_argument("--progress-every", type=int, default=10_000, help="rows (stderr)")
    parser.add_argument(
        "--max-seconds", type=float, default=0, help="stop the import after this long (0: never)"
    )
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with sqlite_database() as engine:
            bench(engine, "sqlite", args)
    if args.backend in ("postgresql", "both"):
        with postgres_database(args.pg_host, args.pg_port) as engine:
            bench(engine, "postgresql", args)


if __name__ == "__main__":
    main()
