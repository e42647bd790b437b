"""Staff numbers (``Employment``) and the smaller changes to people and declarations.

The session-level functions here change one thing and append its audit record to the caller's
transaction (security-checklist.md §3.2); the bulk import runs many of them inside one batch
transaction, each row under its own savepoint. ``suspend_declaration`` and
``link_staff_number`` are whole service calls, one transaction each, like ``registry.service``.
Nothing is deleted (§3.4): a staff number stays linked, a suspended declaration stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry import audit
from registry.db import organisation_by_ura, professional_by_dezi, transaction
from registry.errors import Conflict, InvariantViolation, NotFound
from registry.identifiers import DeziNummer, Ura, normalise_name
from registry.models import Declaration, Employment, Organisation, Professional, utcnow

__all__ = [
    "AuditContext",
    "Names",
    "add_staff_number",
    "change_validity",
    "link_staff_number",
    "normalise_staff_number",
    "professional_by_staff_number",
    "record_change",
    "rename_professional",
    "suspend_declaration",
]

STAFF_NUMBER_MAX_LENGTH = 64


@dataclass(frozen=True)
class AuditContext:
    """Who changes the register, and from where (NEN 7513 "user", "on whose behalf",
    "access point"; security-checklist.md §4)."""

    actor: str
    source: str | None = None
    on_behalf_of: str | None = None
    via: str | None = None  # e.g. "import": recorded in the audit detail


@dataclass(frozen=True)
class Names:
    """The three name parts of the verklaring, stored as entered in NFC
    (security-checklist.md §2.10; never parsed out of a full name)."""

    voorletters: str
    voorvoegsel: str | None
    achternaam: str

    @classmethod
    def of(cls, row: Professional) -> Names:
        return cls(row.voorletters, row.voorvoegsel, row.achternaam)


def normalise_staff_number(value: str) -> str:
    """A personeelsnummer: the organisation's own text, NFC, at most 64 characters."""
    return normalise_name(value, field="personeelsnummer", max_length=STAFF_NUMBER_MAX_LENGTH)


def record_change(
    session: Session,
    context: AuditContext,
    *,
    action: str,
    object_type: str,
    object_id: str,
    detail: Mapping[str, object],
) -> None:
    """Append the audit record of a successful change to ``session``'s transaction."""
    full = dict(detail) if context.via is None else {**detail, "via": context.via}
    audit.append(
        session,
        actor=context.actor,
        on_behalf_of=context.on_behalf_of,
        source=context.source,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome="success",
        detail=full,
    )


def professional_by_staff_number(
    session: Session, organisation_id: str, personeelsnummer: str
) -> Professional | None:
    """The professional this organisation knows under ``personeelsnummer``."""
    return session.exec(
        select(Professional)
        .join(Employment, col(Employment.professional_id) == col(Professional.id))
        .where(
            Employment.organisation_id == organisation_id,
            Employment.personeelsnummer == personeelsnummer,
        )
    ).first()


def add_staff_number(
    session: Session,
    organisation: Organisation,
    professional: Professional,
    personeelsnummer: str,
    context: AuditContext,
) -> None:
    """Link ``personeelsnummer`` at ``organisation`` to ``professional`` (the unique index
    refuses a number already linked to someone else)."""
    session.add(
        Employment(
            organisation_id=organisation.id,
            personeelsnummer=personeelsnummer,
            professional_id=professional.id,
            created_by=context.actor,
        )
    )
    session.flush()
    record_change(
        session,
        context,
        action="employment.link",
        object_type="professional",
        object_id=professional.dezi_nummer,
        detail={"ura": organisation.ura, "personeelsnummer": personeelsnummer},
    )


def rename_professional(
    session: Session, professional: Professional, names: Names, context: AuditContext
) -> list[str]:
    """Set the name parts; returns the fields that changed (none: no audit record)."""
    changed = [
        name
        for name in ("voorletters", "voorvoegsel", "achternaam")
        if getattr(professional, name) != getattr(names, name)
    ]
    if not changed:
        return []
    professional.voorletters = names.voorletters
    professional.voorvoegsel = names.voorvoegsel
    professional.achternaam = names.achternaam
    professional.updated_at = utcnow()
    session.add(professional)
    session.flush()
    record_change(
        session,
        context,
        action="professional.update",
        object_type="professional",
        object_id=professional.dezi_nummer,
        detail={"changed": changed},
    )
    return changed


def change_validity(
    session: Session,
    declaration: Declaration,
    valid_from: datetime,
    valid_until: datetime | None,
    context: AuditContext,
) -> bool:
    """Set a declaration's validity period; False (and no audit record) when it is the same."""
    if (declaration.valid_from, declaration.valid_until) == (valid_from, valid_until):
        return False
    if valid_until is not None and valid_until <= valid_from:
        raise InvariantViolation("valid_until must be later than valid_from")
    detail = {
        "valid_from": [_iso(declaration.valid_from), _iso(valid_from)],
        "valid_until": [_iso(declaration.valid_until), _iso(valid_until)],
    }
    declaration.valid_from, declaration.valid_until = valid_from, valid_until
    session.add(declaration)
    session.flush()
    record_change(
        session,
        context,
        action="declaration.update",
        object_type="declaration",
        object_id=declaration.id,
        detail=detail,
    )
    return True


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def link_staff_number(
    engine: Engine, dezi_nummer: str, ura: str, personeelsnummer: str, *, context: AuditContext
) -> bool:
    """Record that ``ura`` knows the professional as ``personeelsnummer``. False when that
    link exists already; ``Conflict`` when the number belongs to someone else there."""
    number = DeziNummer(dezi_nummer).value
    checked_ura = Ura(ura).value
    staff_number = normalise_staff_number(personeelsnummer)
    with transaction(engine) as session:
        professional = professional_by_dezi(session, number)
        organisation = organisation_by_ura(session, checked_ura)
        holder = professional_by_staff_number(session, organisation.id, staff_number)
        if holder is not None:
            if holder.id == professional.id:
                return False
            raise Conflict(f"personeelsnummer is already linked to another professional at {ura}")
        add_staff_number(session, organisation, professional, staff_number, context)
        return True


def suspend_declaration(
    engine: Engine, declaration_id: str, reason: str, *, context: AuditContext
) -> bool:
    """Suspend an active declaration (unusable for login at once, kept, with the reason).
    False when it is suspended already; ``InvariantViolation`` when revoked or expired."""
    reason = normalise_name(reason, field="reason", max_length=512)
    with transaction(engine) as session:
        row = session.get(Declaration, declaration_id)
        if row is None:
            raise NotFound("declaration", declaration_id)
        if row.status == "suspended":
            return False
        if row.status != "active":
            raise InvariantViolation(f"a {row.status} declaration cannot be suspended")
        row.status, row.status_reason = "suspended", reason
        # revoked_at/revoked_by record when and by whom a declaration was taken out of use,
        # which the revocation list (Dezi v0.7 §6, ``SqlRegister.revocations``) reads.
        row.revoked_by, row.revoked_at = context.actor, utcnow()
        session.add(row)
        session.flush()
        record_change(
            session,
            context,
            action="declaration.suspend",
            object_type="declaration",
            object_id=row.id,
            detail={"from": "active"},
        )
        return True
