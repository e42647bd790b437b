"""``zorg-idp registry …``: the register's commands (INTERFACES.md "Commands").

A factory, ``build_registry_app(get_engine)``: the register cannot read the IdP's settings
(ARCHITECTURE.md, "registry never imports idp"), so the entry point hands in
``get_engine(config_path)``, which returns an engine on a migrated database. Every command takes
``--config FILE``.

Whoever runs the CLI has the machine and the database, so the CLI acts as a registry
administrator: organisations it enrols or imports are ``active``. Audit records name the actor
``cli:<OS user>`` and the access point ``cli`` (NEN 7513 "user" and "access point",
security-checklist.md §4).

Errors are one line on stderr, never a traceback. Exit codes: 0 done; 1 input the register
rejected (a bad identifier, a broken rule, rejected import rows); 2 unusable input (an unusable
file or argument); 3 the database could not be used.
"""

from __future__ import annotations

import csv
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from registry import audit
from registry.bulk import (
    DEFAULT_BATCH_SIZE,
    Importer,
    ImportReport,
    RowResult,
    open_import_file,
    run_import,
)
from registry.bulk_file import UnusableFile
from registry.db import read_session
from registry.errors import RegistryError
from registry.export import export_audit, export_csv, guard_cell
from registry.staff import AuditContext

__all__ = ["EngineFactory", "EngineScope", "build_registry_app", "cli_actor", "failures"]

EngineFactory = Callable[[Path | None], Engine]
EngineScope = Callable[[Path | None], AbstractContextManager[Engine]]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (or set IDP_CONFIG).")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
EXIT_REJECTED, EXIT_UNUSABLE, EXIT_DATABASE = 1, 2, 3


def cli_actor() -> str:
    """``cli:<OS user>`` (the uid when the user has no name, as in some containers)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}"
    return f"cli:{user}"[:128]


def cli_context(via: str | None = None) -> AuditContext:
    return AuditContext(actor=cli_actor(), source="cli", via=via)


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _database_message(exc: SQLAlchemyError) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@contextmanager
def failures() -> Iterator[None]:
    """Turn the errors a command can meet into one line and an exit code."""
    try:
        yield
    except UnusableFile as exc:
        raise fail(exc.description, EXIT_UNUSABLE) from None
    except RegistryError as exc:
        raise fail(exc.description, EXIT_REJECTED) from None
    except SQLAlchemyError as exc:
        raise fail(f"database: {_database_message(exc)}", EXIT_DATABASE) from None
    except OSError as exc:
        raise fail(f"{exc.filename or 'file'}: {exc.strerror or exc}", EXIT_UNUSABLE) from None


def engine_scope(get_engine: EngineFactory) -> EngineScope:
    """``with scope(config) as engine``: the engine for one command, disposed after it."""

    @contextmanager
    def scope(config: Path | None) -> Iterator[Engine]:
        with failures():
            engine = get_engine(config)
            try:
                yield engine
            finally:
                engine.dispose()

    return scope


@contextmanager
def output_file(path: Path | None, *, private: bool) -> Iterator[TextIO]:
    """stdout, or ``path`` written whole or not at all (a temporary file renamed into place),
    mode 0600 when ``private`` (personal data)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _print_report(report: ImportReport, total: int) -> None:
    detected = " (semicolon-separated, detected from the header)" if report.delimiter == ";" else ""
    typer.echo(f"{report.kind} file, {total} rows{detected}")
    for result in report.results:
        if result.outcome == "rejected":
            typer.echo(f"line {result.line}: rejected: {'; '.join(result.reasons)}")
        for note in result.notes:
            typer.echo(f"line {result.line}: note: {note}")
    counts = report.counts
    typer.echo(", ".join(f"{outcome} {counts[outcome]}" for outcome in counts))
    if report.dry_run:
        typer.echo("dry run: nothing was changed (Dezi numbers in a report are provisional)")


@contextmanager
def _report_sink(path: Path | None) -> Iterator[Callable[[RowResult], None] | None]:
    """Where each row's result goes as the import commits it: ``--report``'s CSV, written as
    the rows come (so a million-row import does not keep a million results), whole or not at
    all; without ``--report``, nowhere (the summary keeps the rejected rows and notes)."""
    if path is None:
        yield None
        return
    with failures(), output_file(path, private=True) as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["line", "outcome", "dezi_nummer", "reasons", "notes"])

        def write(result: RowResult) -> None:
            cells = [
                str(result.line),
                result.outcome,
                result.dezi_nummer or "",
                "; ".join(result.reasons),
                "; ".join(result.notes),
            ]
            writer.writerow([guard_cell(cell) for cell in cells])

        yield write


Advance = Callable[[int], None]


@contextmanager
def _progress_bar() -> Iterator[tuple[Advance | None, Advance | None]]:
    """Progress on stderr while the rows are checked (a count: the file is read once), then
    applied (a bar: the count is known by then); only when stderr is a terminal, so pipes and
    logs get nothing extra."""
    if not sys.stderr.isatty():
        yield None, None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        checking = bar.add_task("checking rows", total=None)
        importing = bar.add_task("importing", total=None, start=False)
        counted = [0, 0]  # rows checked, rows applied

        def checked(n: int) -> None:
            counted[0] += n
            bar.advance(checking, n)

        def applied(n: int) -> None:
            if not counted[1]:
                bar.update(checking, total=counted[0], completed=counted[0])
                bar.update(importing, total=counted[0])
                bar.start_task(importing)
            counted[1] += n
            bar.advance(importing, n)

        yield checked, applied


def build_registry_app(get_engine: EngineFactory) -> typer.Typer:
    """The ``registry`` command group; ``get_engine(config)`` gives a migrated engine."""
    from registry.cli_records import add_record_commands

    app = typer.Typer(
        no_args_is_help=True,
        help="The register: organisations, professionals, declarations, audit trail.",
    )
    engine_for = engine_scope(get_engine)

    @app.command("import")
    def import_file(
        file: Annotated[Path, typer.Argument(help="CSV file (organisations or staff).")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
        ] = False,
        batch_size: Annotated[
            int, typer.Option("--batch-size", min=1, max=10_000, help="Rows per transaction.")
        ] = DEFAULT_BATCH_SIZE,
        report: Annotated[
            Path | None,
            typer.Option("--report", help="Write every row's outcome (and Dezi number) as CSV."),
        ] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Idempotent bulk import (INTERFACES.md "Bulk import files"). Exit 0: every row
        applied or unchanged; 1: some rows rejected (the others applied); 2: unusable file."""
        with failures():
            parsed = open_import_file(file)  # the header; the rest is checked while staged
        importer = Importer(cli_context(via="import"), registry_admin=True)
        with (
            engine_for(config) as engine,
            _report_sink(report) as sink,
            _progress_bar() as (checked, applied),
        ):
            result = run_import(
                engine,
                parsed,
                importer,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=applied,
                checked=checked,
                on_result=sink,
            )
        _print_report(result, sum(result.counts.values()))
        raise typer.Exit(result.exit_code)

    @app.command("export")
    def export(
        kind: Annotated[str, typer.Argument(help="organisations or staff")],
        ura: Annotated[str | None, typer.Option("--ura", help="Only this organisation.")] = None,
        output: OutputOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Export as import CSV (re-imports as unchanged); formula cells are quoted (K3)."""
        if kind not in ("organisations", "staff"):
            raise fail("export what? organisations or staff", EXIT_UNUSABLE)
        with engine_for(config) as engine, output_file(output, private=True) as handle:
            done = export_csv(
                engine,
                "organisations" if kind == "organisations" else "staff",
                handle,
                ura=ura,
                context=cli_context(),
            )
        skipped = f"; {done.skipped} without a staff number left out" if done.skipped else ""
        typer.echo(f"exported {done.rows} {kind} rows{skipped}", err=True)

    audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit trail.")
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def audit_verify(config: ConfigOpt = None) -> None:
        """Check the hash chain: OK and the head, or the seq of the first broken link."""
        with engine_for(config) as engine, read_session(engine) as session:
            broken = audit.verify(session)
            head = audit.head(session)
        if broken is not None:
            typer.echo(f"BROKEN at seq {broken}")
            raise typer.Exit(EXIT_REJECTED)
        seq, digest = head if head is not None else (0, audit.GENESIS_HASH)
        typer.echo(f"OK {seq} records, head {digest}")

    @audit_app.command("export")
    def audit_export(output: OutputOpt = None, config: ConfigOpt = None) -> None:
        """Every audit record as JSON lines, in order (NEN 7513 fields, hash chain)."""
        with engine_for(config) as engine, output_file(output, private=True) as handle:
            count, head = export_audit(engine, handle, context=cli_context())
        typer.echo(f"exported {count} audit records, head {head}", err=True)

    add_record_commands(app, engine_for)
    return app
