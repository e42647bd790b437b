"""Listings of the register for administrators (the ``zorg-idp registry … list`` commands).

Searches use bound parameters and a LIKE pattern with ``%``, ``_`` and ``\\`` escaped, so input is
matched literally (security-checklist.md K1, §2.11); results are capped by ``limit``. Searching
the register is a loggable event under NEN 7513 ("search actions", security-checklist.md §4),
so every listing appends a ``register.search`` audit record with its filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, or_, select

from registry.db import read_session, transaction
from registry.errors import InvalidIdentifier
from registry.identifiers import BigNummer, DeziNummer, Ura
from registry.models import (
    DECLARATION_STATUSES,
    ORGANISATION_STATUSES,
    Declaration,
    Employment,
    Organisation,
    Professional,
)
from registry.records import OrganisationRecord, organisation_record
from registry.staff import AuditContext, record_change

__all__ = [
    "MAX_LIMIT",
    "DeclarationListing",
    "ProfessionalListing",
    "like_pattern",
    "list_declarations",
    "list_organisations",
    "list_professionals",
]

MAX_LIMIT = 10_000


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards escaped (escape character ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


@dataclass(frozen=True)
class ProfessionalListing:
    dezi_nummer: str
    big_nummer: str | None
    voorletters: str
    voorvoegsel: str | None
    achternaam: str
    staff_numbers: tuple[str, ...]  # "URA/personeelsnummer"


@dataclass(frozen=True)
class DeclarationListing:
    declaration_id: str
    dezi_nummer: str
    naam: str
    ura: str
    rol_code: str
    valid_from: datetime
    valid_until: datetime | None
    status: str
    status_reason: str | None


def _log(engine: Engine, context: AuditContext, what: str, filters: dict[str, object]) -> None:
    with transaction(engine) as session:
        record_change(
            session,
            context,
            action="register.search",
            object_type=what,
            object_id="*",
            detail={k: v for k, v in filters.items() if v is not None},
        )


def list_organisations(
    engine: Engine,
    *,
    context: AuditContext,
    status: str | None = None,
    search: str | None = None,
    limit: int = 100,
) -> list[OrganisationRecord]:
    """Organisations by URA, filtered on status and a literal name fragment."""
    if status is not None and status not in ORGANISATION_STATUSES:
        raise InvalidIdentifier("status", f"must be one of {', '.join(ORGANISATION_STATUSES)}")
    statement = select(Organisation).order_by(col(Organisation.ura)).limit(_limit(limit))
    if status is not None:
        statement = statement.where(Organisation.status == status)
    if search:
        statement = statement.where(col(Organisation.naam).ilike(like_pattern(search), "\\"))
    with read_session(engine) as session:
        found = [organisation_record(row) for row in session.exec(statement)]
    _log(engine, context, "organisation", {"status": status, "search": search})
    return found


def list_professionals(
    engine: Engine,
    *,
    context: AuditContext,
    ura: str | None = None,
    search: str | None = None,
    big_nummer: str | None = None,
    dezi_nummer: str | None = None,
    limit: int = 100,
) -> list[ProfessionalListing]:
    """Professionals by Dezi number: employed at ``ura`` (a staff number there), with a
    surname containing ``search``, or with exactly that BIG or Dezi number."""
    statement = select(Professional).order_by(col(Professional.dezi_nummer)).limit(_limit(limit))
    if ura is not None:
        checked = Ura(ura).value
        statement = statement.where(
            col(Professional.id).in_(
                select(Employment.professional_id)
                .join(Organisation, col(Organisation.id) == col(Employment.organisation_id))
                .where(Organisation.ura == checked)
            )
        )
    if search:
        pattern = like_pattern(search)
        statement = statement.where(
            or_(
                col(Professional.achternaam).ilike(pattern, "\\"),
                col(Professional.voorvoegsel).ilike(pattern, "\\"),
            )
        )
    if big_nummer is not None:
        statement = statement.where(Professional.big_nummer == BigNummer(big_nummer).value)
    if dezi_nummer is not None:
        statement = statement.where(Professional.dezi_nummer == DeziNummer(dezi_nummer).value)
    with read_session(engine) as session:
        people = session.exec(statement).all()
        links = session.exec(
            select(Employment.professional_id, Organisation.ura, Employment.personeelsnummer)
            .join(Organisation, col(Organisation.id) == col(Employment.organisation_id))
            .where(col(Employment.professional_id).in_([p.id for p in people]))
        ).all()
    numbers: dict[str, list[str]] = {}
    for professional_id, link_ura, staff_number in links:
        numbers.setdefault(professional_id, []).append(f"{link_ura}/{staff_number}")
    _log(
        engine,
        context,
        "professional",
        {"ura": ura, "search": search, "big_nummer": big_nummer, "dezi_nummer": dezi_nummer},
    )
    return [
        ProfessionalListing(
            p.dezi_nummer,
            p.big_nummer,
            p.voorletters,
            p.voorvoegsel,
            p.achternaam,
            tuple(sorted(numbers.get(p.id, []))),
        )
        for p in people
    ]


def list_declarations(
    engine: Engine,
    *,
    context: AuditContext,
    dezi_nummer: str | None = None,
    ura: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[DeclarationListing]:
    """Declarations by organisation, professional and role, filtered on any of them."""
    if status is not None and status not in DECLARATION_STATUSES:
        raise InvalidIdentifier("status", f"must be one of {', '.join(DECLARATION_STATUSES)}")
    statement = (
        select(Declaration, Professional, Organisation)
        .join(Professional, col(Professional.id) == col(Declaration.professional_id))
        .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
        .order_by(
            col(Organisation.ura),
            col(Professional.dezi_nummer),
            col(Declaration.rol_code),
            col(Declaration.created_at),
        )
        .limit(_limit(limit))
    )
    if dezi_nummer is not None:
        statement = statement.where(Professional.dezi_nummer == DeziNummer(dezi_nummer).value)
    if ura is not None:
        statement = statement.where(Organisation.ura == Ura(ura).value)
    if status is not None:
        statement = statement.where(Declaration.status == status)
    with read_session(engine) as session:
        rows = session.exec(statement).all()
    _log(
        engine,
        context,
        "declaration",
        {"dezi_nummer": dezi_nummer, "ura": ura, "status": status},
    )
    return [
        DeclarationListing(
            declaration_id=d.id,
            dezi_nummer=p.dezi_nummer,
            naam=" ".join(part for part in (p.voorletters, p.voorvoegsel, p.achternaam) if part),
            ura=o.ura,
            rol_code=d.rol_code,
            valid_from=d.valid_from,
            valid_until=d.valid_until,
            status=d.status,
            status_reason=d.status_reason,
        )
        for d, p, o in rows
    ]
