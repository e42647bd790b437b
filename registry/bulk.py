"""Bulk import of organisations, or of staff with their declarations, from a CSV file.

INTERFACES.md "Bulk import files" and the ``zorg-idp registry import`` command. The file is
read and checked whole first (``registry.bulk_file``): an unusable file changes nothing. Then the
rows are applied in batches, one transaction per batch (``batch_size`` rows) with a SAVEPOINT
per row, so a rejected row leaves no trace and does not spoil its batch (security-checklist.md
§3.2, "nothing half-written"). Rows are matched on their natural keys (``registry.bulk_rows``),
so the same file twice changes nothing and writes no audit record (§3.3); and an import killed
half-way, run again, ends in the same state as one clean run: committed batches come back
"unchanged", the batch that was cut off was rolled back whole, Dezi numbers included, and the
audit chain still verifies (§3.5).

While a batch is open it holds the register's write lock (SQLite) or the audit-chain lock
(PostgreSQL), so other writers wait for at most one batch. ``dry_run`` applies everything in ONE
transaction and rolls it back: it reports exactly what would happen (Dezi numbers shown for new
professionals are provisional) and holds the lock for the whole run.

Who imports is an ``Importer``: the CLI is a registry administrator, so organisations it imports
are ``active``; an organisation administrator's are ``pending`` until a registry administrator
approves them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from registry.bulk_file import (
    ImportFile,
    Kind,
    OrganisationRow,
    StaffRow,
    UnusableFile,
    load_import_file,
    parse_import_file,
    validate_organisation,
    validate_staff,
)
from registry.bulk_rows import Importer, OrganisationApplier
from registry.bulk_staff import StaffApplier
from registry.errors import RegistryError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ImportFile",
    "ImportReport",
    "Importer",
    "RowResult",
    "UnusableFile",
    "load_import_file",
    "parse_import_file",
    "run_import",
]

DEFAULT_BATCH_SIZE = 500
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
    kind: Kind
    delimiter: str
    dry_run: bool
    results: tuple[RowResult, ...]

    def count(self, outcome: RowOutcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def counts(self) -> dict[RowOutcome, int]:
        return {outcome: self.count(outcome) for outcome in OUTCOMES}

    @property
    def exit_code(self) -> int:
        """INTERFACES.md: 0 when every row was applied or unchanged, 1 when some were
        rejected (the others applied). An unusable file (2) never gets this far."""
        return 1 if self.count("rejected") else 0


Validated = tuple[int, OrganisationRow | StaffRow | list[str]]


def _check_organisations(file: ImportFile) -> list[Validated]:
    seen: dict[str, int] = {}
    checked: list[Validated] = []
    for raw in file.rows:
        row = validate_organisation(raw)
        if isinstance(row, OrganisationRow):
            first = seen.setdefault(row.ura, row.line)
            if first != row.line:
                row = [f"ura: duplicate of line {first}"]
        checked.append((raw.line, row))
    return checked


def _check_staff(file: ImportFile) -> list[Validated]:
    """Field checks, then consistency inside the file: one row per (URA, personeelsnummer,
    role), and one name and BIG number per (URA, personeelsnummer); without that, two rows
    would undo each other on every run and the import would never settle."""
    declarations: dict[tuple[str, str, str], int] = {}
    people: dict[tuple[str, str], StaffRow] = {}
    checked: list[Validated] = []
    for raw in file.rows:
        row = validate_staff(raw)
        if isinstance(row, StaffRow):
            person = (row.ura, row.personeelsnummer)
            key = (*person, row.role.code)
            earlier = people.get(person, row)
            if key in declarations:
                row = [
                    f"rol_code: duplicate of line {declarations[key]}"
                    " (same ura, personeelsnummer, role)"
                ]
            elif earlier.names != row.names:
                row = [f"personeelsnummer: line {earlier.line} gives this person another name"]
            elif None not in (earlier.big_nummer, row.big_nummer) and (
                earlier.big_nummer != row.big_nummer
            ):
                row = [f"big_nummer: line {earlier.line} gives this person another BIG number"]
            else:
                declarations[key] = row.line
                people.setdefault(person, row)
        checked.append((raw.line, row))
    return checked


def _apply(
    session: Session, applier: OrganisationApplier | StaffApplier, item: Validated
) -> RowResult:
    line, row = item
    if isinstance(row, list):
        return RowResult(line, "rejected", tuple(row))
    if isinstance(applier, StaffApplier):
        applier.begin_row()
    try:
        with session.begin_nested():
            if isinstance(applier, OrganisationApplier) and isinstance(row, OrganisationRow):
                applied = applier.apply(row)
            elif isinstance(applier, StaffApplier) and isinstance(row, StaffRow):
                applied = applier.apply(row)
            else:
                raise TypeError(f"no applier for {type(row).__name__}")
    except RegistryError as exc:
        reason = exc.description
    except IntegrityError:
        # A concurrent writer took the same natural key between our read and our write.
        reason = "conflicts with a concurrent change; run it again"
    else:
        return RowResult(line, applied.outcome, (), tuple(applied.notes), applied.dezi_nummer)
    if isinstance(applier, StaffApplier):
        applier.rollback_row()
    return RowResult(line, "rejected", (reason,))


def run_import(
    engine: Engine,
    file: ImportFile,
    importer: Importer,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply ``file``'s rows; see the module docstring. ``progress(n)`` is called as rows are
    done. Database failures propagate (the open batch rolls back; the committed ones stay)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    checked = _check_organisations(file) if file.kind == "organisations" else _check_staff(file)
    results: list[RowResult] = []
    session = Session(engine, expire_on_commit=False, autoflush=True)
    try:
        for start in range(0, len(checked), batch_size):
            applier: OrganisationApplier | StaffApplier = (
                OrganisationApplier(session, importer)
                if file.kind == "organisations"
                else StaffApplier(session, importer)
            )
            batch = checked[start : start + batch_size]
            if isinstance(applier, StaffApplier):
                applier.prefetch([row for _, row in batch if isinstance(row, StaffRow)])
            for item in batch:
                results.append(_apply(session, applier, item))
                if progress is not None:
                    progress(1)
            if not dry_run:
                session.commit()
                session.expunge_all()
        session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return ImportReport(file.kind, file.delimiter, dry_run, tuple(results))
