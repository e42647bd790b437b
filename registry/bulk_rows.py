"""Applying one validated import row inside the caller's transaction, idempotently.

Every row is matched on its natural key before anything is written, so applying the same row
again changes nothing and writes no audit record (security-checklist.md §3.3); that is what makes
an interrupted import safe to run again. Each change appends its audit record to the same
transaction (§3.2, NEN 7513 fields via ``registry.staff.AuditContext``). A rule broken half-way
raises a ``RegistryError``; the caller's savepoint then rolls the row back whole.

Organisations (INTERFACES.md "Bulk import files") are matched on URA. A new one is ``active``
only when the importer is a registry administrator, else ``pending`` until one approves it
(issue 4, "enrolment"). An empty ``agb_code`` means "none". An ended organisation is not
changed. Staff rows are ``registry.bulk_staff``; the day arithmetic both share is here: dates are
days in Europe/Amsterdam, ``geldig_vanaf`` from the start of that day and ``geldig_tot`` up to
the end of that day (inclusive, as HR systems give an end date), compared at day precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from registry.bulk_file import OrganisationRow
from registry.errors import InvariantViolation
from registry.models import Organisation, OrganisationStatusChange, utcnow
from registry.staff import AuditContext, record_change

__all__ = [
    "REGISTER_ZONE",
    "Applied",
    "Importer",
    "OrganisationApplier",
    "end_of",
    "first_day",
    "last_day",
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


@dataclass
class Applied:
    outcome: Outcome
    dezi_nummer: str | None = None
    notes: list[str] = field(default_factory=list)


def start_of(day: date) -> datetime:
    """The start of ``day`` in the register's zone: ``valid_from`` for a first day."""
    return datetime.combine(day, time(0), tzinfo=REGISTER_ZONE)


def end_of(day: date | None) -> datetime | None:
    """The exclusive ``valid_until`` for an inclusive last day: the start of the next day."""
    return None if day is None else start_of(day + timedelta(days=1))


def first_day(valid_from: datetime) -> date:
    """The day ``valid_from`` falls on in the register's zone."""
    return valid_from.astimezone(REGISTER_ZONE).date()


def last_day(valid_until: datetime | None) -> date | None:
    """The last day of validity for an exclusive ``valid_until`` (inclusive day)."""
    if valid_until is None:
        return None
    return (valid_until.astimezone(REGISTER_ZONE) - timedelta(microseconds=1)).date()


class OrganisationApplier:
    def __init__(self, session: Session, importer: Importer) -> None:
        self._session = session
        self._importer = importer

    def apply(self, row: OrganisationRow) -> Applied:
        session, context = self._session, self._importer.context
        found = session.exec(select(Organisation).where(Organisation.ura == row.ura)).first()
        if found is None:
            status = "active" if self._importer.registry_admin else "pending"
            created = Organisation(
                ura=row.ura,
                naam=row.naam,
                categorie=row.categorie,
                agb_code=row.agb_code,
                status=status,
            )
            session.add(created)
            session.flush()
            session.add(
                OrganisationStatusChange(
                    organisation_id=created.id, to_status=status, actor=context.actor
                )
            )
            record_change(
                session,
                context,
                action="organisation.enrol",
                object_type="organisation",
                object_id=row.ura,
                detail={"categorie": row.categorie, "status": status},
            )
            return Applied("created")
        if not self._importer.may_change(row.ura):
            raise InvariantViolation("ura: not an organisation you administer")
        changed = [
            name
            for name in ("naam", "agb_code", "categorie")
            if getattr(found, name) != getattr(row, name)
        ]
        if not changed:
            return Applied("unchanged")
        if found.status == "ended":
            raise InvariantViolation(f"ura: organisation {row.ura} has ended")
        found.naam, found.agb_code, found.categorie = row.naam, row.agb_code, row.categorie
        found.updated_at = utcnow()
        session.add(found)
        session.flush()
        record_change(
            session,
            context,
            action="organisation.update",
            object_type="organisation",
            object_id=row.ura,
            detail={"changed": changed},
        )
        return Applied("updated")
