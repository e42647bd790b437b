"""Bulk import of organisations, or of staff with their declarations, from a CSV file.

INTERFACES.md "Bulk import files" and the ``zorg-idp registry import`` command, built to run at
``COPY`` speed on PostgreSQL without holding the file in memory:

1. The file streams through the field checks into a temporary staging table
   (``registry.bulk_stage``; ``COPY`` on PostgreSQL), and the rows that contradict each other
   inside the file are marked there with one set-based query. A file found unusable half-way
   (exit 2) has changed nothing: the staging table is not the register.
2. The staged rows are applied in chunks of ``batch_size`` rows, one transaction per chunk: the
   chunk's reads join the staging table against the register, the rows are decided in file
   order in memory (``registry.bulk_staff``, ``registry.bulk_rows``), and the chunk is written
   set-based with its hash-chained audit records (``registry.bulk_write``). A row that breaks a
   rule is decided before it plans any write, so it leaves no trace and does not spoil its
   chunk (security-checklist.md §3.2, "nothing half-written").

Rows are matched on their natural keys, so the same file twice changes nothing and writes no
audit record (§3.3); and an import killed half-way, run again, ends in the same state as one
clean run: committed chunks come back "unchanged", the chunk that was cut off was rolled back
whole, Dezi numbers included, and the audit chain still verifies (§3.5).

While a chunk is open it holds the register's write lock (SQLite) or the audit-chain lock
(PostgreSQL, taken before the chunk's reads), so other writers wait for at most one chunk. A
chunk that meets a unique violation or a deadlock (a writer that does not take the audit lock
first got there first) is planned again once. ``dry_run`` applies everything in ONE transaction
and rolls it back: it reports exactly what would happen (Dezi numbers shown for new
professionals are provisional) and holds the lock for the whole run.

Who imports is an ``Importer``: the CLI is a registry administrator, so organisations it imports
are ``active``; an organisation administrator's are ``pending`` until a registry administrator
approves them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from registry import audit
from registry.bulk_copy import is_postgres
from registry.bulk_csv import (
    ImportFile,
    ImportSource,
    Kind,
    UnusableFile,
    load_import_file,
    open_import_file,
    parse_import_file,
)
from registry.bulk_file import OrganisationRow, StaffRow
from registry.bulk_rows import ChunkPlan, Importer, OrganisationPlanner
from registry.bulk_staff import StaffPlanner
from registry.bulk_stage import (
    Staged,
    create_stage,
    drop_stage,
    fill_stage,
    judge_stage,
    read_chunk,
    stage_table,
)
from registry.bulk_unchanged import mark_unchanged
from registry.bulk_write import write_plan

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ImportFile",
    "ImportReport",
    "ImportSource",
    "Importer",
    "RowResult",
    "UnusableFile",
    "load_import_file",
    "open_import_file",
    "parse_import_file",
    "run_import",
]

# Rows per chunk (one transaction each). Big enough that the fixed cost of a chunk (its reads,
# one COPY per table, the commit) is small per row; small enough that the audit lock is held
# for well under a second on PostgreSQL.
DEFAULT_BATCH_SIZE = 5000
RowOutcome = Literal["created", "updated", "unchanged", "rejected"]
OUTCOMES: tuple[RowOutcome, ...] = ("created", "updated", "unchanged", "rejected")


@dataclass(frozen=True)
class RowResult:
    """What happened to one row (``line`` is its first physical line; the header is line 1)."""

    line: int
    outcome: RowOutcome
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dezi_nummer: str | None = None


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import. ``results`` holds every row, or, when the caller took the rows
    as they came (``run_import(on_result=…)``), only those rejected or with a note."""

    kind: Kind
    delimiter: str
    dry_run: bool
    results: tuple[RowResult, ...]
    tally: Mapping[RowOutcome, int] = field(default_factory=dict)

    def count(self, outcome: RowOutcome) -> int:
        if self.tally:
            return self.tally.get(outcome, 0)
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def counts(self) -> dict[RowOutcome, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}

    @property
    def exit_code(self) -> int:
        """INTERFACES.md: 0 when every row was applied or unchanged, 1 when some were
        rejected (the others applied). An unusable file (2) never gets this far."""
        return 1 if self.count("rejected") else 0


def _retryable(exc: DBAPIError) -> bool:
    """A unique violation, a deadlock or a serialisation failure: a concurrent writer, worth
    one more try with fresh reads."""
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in (
        "40P01",
        "40001",
    )


def _results(staged: list[Staged], plan: ChunkPlan) -> list[RowResult]:
    planned = {p.line: p for p in plan.results}
    results: list[RowResult] = []
    for item in staged:
        if item.unchanged is not None:
            results.append(RowResult(item.line, "unchanged", dezi_nummer=item.unchanged))
            continue
        if item.row is None:
            results.append(RowResult(item.line, "rejected", item.reasons))
            continue
        p = planned[item.line]
        number = None if p.person is None else p.person.dezi_nummer
        results.append(RowResult(p.line, p.outcome, p.reasons, p.notes, number))
    return results


class _Chunks:
    """Applies the staged rows chunk by chunk on one connection."""

    def __init__(self, connection: sa.Connection, kind: Kind, importer: Importer) -> None:
        self._connection = connection
        self._kind = kind
        self._importer = importer
        self._staff = StaffPlanner(importer, stage_table("staff"))
        self._organisations = OrganisationPlanner(importer)

    def apply(self, after: int, size: int) -> list[RowResult]:
        """Plan and write the ``size`` staged rows after line ``after``, in the open
        transaction; their results (empty when none are left)."""
        connection = self._connection
        audit.lock(connection)  # before the reads: see registry.audit
        staged = read_chunk(connection, self._kind, after, size)
        if not staged:
            return []
        if self._kind == "staff":
            rows = [s.row for s in staged if isinstance(s.row, StaffRow)]
            plan = self._staff.plan(connection, staged[0].line, staged[-1].line, rows)
        else:
            organisations = [s.row for s in staged if isinstance(s.row, OrganisationRow)]
            plan = self._organisations.plan(connection, organisations)
        write_plan(connection, plan, self._importer)
        return _results(staged, plan)


def run_import(
    engine: Engine,
    file: ImportFile | ImportSource,
    importer: Importer,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    checked: Callable[[int], None] | None = None,
    on_result: Callable[[RowResult], None] | None = None,
) -> ImportReport:
    """Apply ``file``'s rows; see the module docstring. ``checked(n)`` is called as rows are
    checked and staged, ``progress(n)`` as they are applied, ``on_result`` with each row's
    result in file order once its chunk is committed. Database failures propagate (the open
    chunk rolls back; the committed ones stay)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    kept: list[RowResult] = []
    tally: dict[RowOutcome, int] = dict.fromkeys(OUTCOMES, 0)
    with engine.connect() as connection:
        try:
            connection.begin()
            if is_postgres(connection):
                # The in-file checks and the unchanged rows are a sort and a grouped join over
                # the whole file: let them sort in memory (this transaction only).
                connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
            create_stage(connection, file.kind)
            fill_stage(connection, file.kind, file.iter_rows(), checked)
            judge_stage(connection, file.kind)
            if file.kind == "staff":
                mark_unchanged(
                    connection, None if importer.registry_admin else importer.organisations
                )
            chunks = _Chunks(connection, file.kind, importer)
            after = 0
            while results := _chunk(connection, chunks, after, batch_size, dry_run):
                after = results[-1].line
                for result in results:
                    tally[result.outcome] += 1
                    if on_result is None or result.outcome == "rejected" or result.notes:
                        kept.append(result)
                    if on_result is not None:
                        on_result(result)
                if progress is not None:
                    progress(len(results))
            if dry_run:
                connection.rollback()  # the staging table goes with it
            else:
                connection.begin()
                drop_stage(connection)
                connection.commit()
        except BaseException:
            connection.rollback()
            raise
    return ImportReport(file.kind, file.delimiter, dry_run, tuple(kept), tally)


def _chunk(
    connection: sa.Connection, chunks: _Chunks, after: int, size: int, dry_run: bool
) -> list[RowResult]:
    """One chunk in its own transaction (in the dry run's one transaction), tried twice when
    a concurrent writer got in the way. The staging transaction, open on the first call, is
    committed first."""
    if dry_run:
        return chunks.apply(after, size)
    connection.commit()
    for attempt in (1, 2):
        connection.begin()
        try:
            results = chunks.apply(after, size)
        except DBAPIError as exc:
            connection.rollback()
            if attempt == 2 or not _retryable(exc):
                raise
            continue
        connection.commit()
        return results
    raise AssertionError("unreachable")
