"""Planning a chunk of import rows: what to write, and the audit records, decided row by row.

Every row is matched on its natural key before anything is written, so applying the same row
again changes nothing and writes no audit record (security-checklist.md §3.3); that is what makes
an interrupted import safe to run again. A row is decided in full (every rule checked) before it
adds anything to the ``ChunkPlan``, so a row rejected for a broken rule leaves no trace and does
not affect the others; ``registry.bulk_write`` then writes the plan set-based, with its audit
records, in the chunk's transaction (§3.2, NEN 7513 fields via ``registry.staff.AuditContext``).

Organisations (INTERFACES.md "Bulk import files") are matched on URA. A new one is ``active``
only when the importer is a registry administrator, else ``pending`` until one approves it
(issue 4, "enrolment"). An empty ``agb_code`` means "none". An ended organisation is not
changed. Staff rows are ``registry.bulk_staff``; the day arithmetic both share is here: dates are
days in Europe/Amsterdam, ``geldig_vanaf`` from the start of that day and ``geldig_tot`` up to
the end of that day (inclusive, as HR systems give an end date), compared at day precision.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from registry.bulk_file import OrganisationRow
from registry.errors import InvariantViolation, RegistryError
from registry.models import Organisation, utcnow
from registry.staff import AuditContext

__all__ = [
    "REGISTER_ZONE",
    "ChunkPlan",
    "Event",
    "Importer",
    "OrganisationPlanner",
    "Person",
    "Planned",
    "end_of",
    "first_day",
    "last_day",
    "new_row_id",
    "start_of",
]

REGISTER_ZONE = ZoneInfo("Europe/Amsterdam")
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Importer:
    """Who runs an import. A registry administrator may change every organisation and enrols
    new ones as active; anyone else only the URAs in ``organisations``, and enrols pending."""

    context: AuditContext
    registry_admin: bool = False
    organisations: frozenset[str] = frozenset()

    def may_change(self, ura: str) -> bool:
        return self.registry_admin or ura in self.organisations


@dataclass(eq=False)
class Person:
    """A professional as the chunk sees it; ``dezi_nummer`` is None for a new one until the
    writer allocates its number."""

    id: str
    dezi_nummer: str | None
    big_nummer: str | None
    voorletters: str
    voorvoegsel: str | None
    achternaam: str
    new: bool = False
    changed: bool = False

    def number(self) -> str:
        if self.dezi_nummer is None:
            raise RuntimeError("the Dezi number is allocated when the chunk is written")
        return self.dezi_nummer


Detail = dict[str, object]


@dataclass(frozen=True)
class Event:
    """One audit record to append, in row order. For a new professional the object id and
    the detail name a Dezi number that is only known when the chunk is written, so they may be
    given as functions."""

    action: str
    object_type: str
    object_id: str | Callable[[], str]
    detail: Detail | Callable[[], Detail]


@dataclass
class Planned:
    """One row's outcome; ``person`` supplies the Dezi number once it is allocated."""

    line: int
    outcome: Literal["created", "updated", "unchanged", "rejected"]
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    person: Person | None = None


@dataclass
class ChunkPlan:
    """What one chunk writes: rows per table (in foreign-key order), changed rows by id, the
    professionals that need a Dezi number, and the audit events in row order."""

    inserts: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    updates: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    new_people: list[Person] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    results: list[Planned] = field(default_factory=list)

    def insert(self, table: str, row: dict[str, object]) -> None:
        self.inserts.setdefault(table, []).append(row)

    def update(self, table: str, row_id: str, values: dict[str, object]) -> None:
        self.updates.setdefault(table, {}).setdefault(row_id, {"id": row_id}).update(values)

    def reject(self, line: int, reason: str) -> None:
        self.results.append(Planned(line, "rejected", (reason,)))


def new_row_id() -> str:
    """A random UUID (version 4) as text, like ``registry.models.new_id``, about four times
    faster: an import makes three per new professional."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4 (RFC 9562 §5.4)
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The day arithmetic below is pure and zone conversions are slow; an import meets the same few
# hundred days over and over.
@lru_cache(maxsize=8192)
def start_of(day: date) -> datetime:
    """The start of ``day`` in the register's zone: ``valid_from`` for a first day."""
    return datetime.combine(day, time(0), tzinfo=REGISTER_ZONE)


def end_of(day: date | None) -> datetime | None:
    """The exclusive ``valid_until`` for an inclusive last day: the start of the next day."""
    return None if day is None else start_of(day + timedelta(days=1))


@lru_cache(maxsize=8192)
def first_day(valid_from: datetime) -> date:
    """The day ``valid_from`` falls on in the register's zone."""
    return valid_from.astimezone(REGISTER_ZONE).date()


@lru_cache(maxsize=8192)
def last_day(valid_until: datetime | None) -> date | None:
    """The last day of validity for an exclusive ``valid_until`` (inclusive day)."""
    if valid_until is None:
        return None
    return (valid_until.astimezone(REGISTER_ZONE) - timedelta(microseconds=1)).date()


class OrganisationPlanner:
    """Organisation rows (INTERFACES.md "Bulk import files"), matched on URA."""

    def __init__(self, importer: Importer) -> None:
        self._importer = importer

    def plan(self, connection: sa.Connection, rows: Iterable[OrganisationRow]) -> ChunkPlan:
        rows = list(rows)
        table = Organisation.__table__  # type: ignore[attr-defined]
        found = {
            r.ura: r
            for r in connection.execute(
                sa.select(table).where(table.c.ura.in_(sorted({row.ura for row in rows})))
            )
        }
        plan = ChunkPlan()
        for row in rows:
            try:
                self._row(plan, row, found.get(row.ura))
            except RegistryError as exc:
                plan.reject(row.line, exc.description)
        return plan

    def _row(self, plan: ChunkPlan, row: OrganisationRow, found: sa.Row[object] | None) -> None:
        actor = self._importer.context.actor
        if found is None:
            status = "active" if self._importer.registry_admin else "pending"
            organisation_id, now = new_row_id(), utcnow()
            plan.insert(
                "organisation",
                {
                    "id": organisation_id,
                    "ura": row.ura,
                    "agb_code": row.agb_code,
                    "naam": row.naam,
                    "categorie": row.categorie,
                    "status": status,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            plan.insert(
                "organisation_status_change",
                {
                    "id": new_row_id(),
                    "organisation_id": organisation_id,
                    "from_status": None,
                    "to_status": status,
                    "reason": None,
                    "actor": actor,
                    "at": now,
                },
            )
            detail: Detail = {"categorie": row.categorie, "status": status}
            plan.events.append(Event("organisation.enrol", "organisation", row.ura, detail))
            plan.results.append(Planned(row.line, "created"))
            return
        if not self._importer.may_change(row.ura):
            raise InvariantViolation("ura: not an organisation you administer")
        current = found._mapping
        changed = [
            name
            for name in ("naam", "agb_code", "categorie")
            if current[name] != getattr(row, name)
        ]
        if not changed:
            plan.results.append(Planned(row.line, "unchanged"))
            return
        if current["status"] == "ended":
            raise InvariantViolation(f"ura: organisation {row.ura} has ended")
        values: dict[str, object] = {
            "naam": row.naam,
            "agb_code": row.agb_code,
            "categorie": row.categorie,
            "updated_at": utcnow(),
        }
        plan.update("organisation", str(current["id"]), values)
        detail = {"changed": changed}
        plan.events.append(Event("organisation.update", "organisation", row.ura, detail))
        plan.results.append(Planned(row.line, "updated"))
