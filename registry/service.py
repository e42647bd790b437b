"""The register's write side: one function per change, each ONE transaction with its audit record.

security-checklist.md §3: a change and its audit record commit together or not at all (§3.2);
repeating a call with the same data changes nothing and writes no audit record (§3.3);
nothing is deleted, only superseded (§3.4). Every input is validated before the transaction
opens; invariants that need the database are checked inside it, and the unique indexes back
them up against concurrent writers (a lost race surfaces as ``Conflict``).

``actor`` names who made the change (``dezi:<nummer>``, ``client:<id>``, ``system:seed`` …);
``on_behalf_of`` the organisation (URA) it acted for, if any; ``source`` is the access point
(NEN 7513: "from where").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from registry import audit, codes
from registry.access import bind_identity, grant_admin, revoke_admin
from registry.clients import register_client
from registry.db import organisation_by_ura, professional_by_dezi, transaction
from registry.errors import Conflict, InvalidIdentifier, InvariantViolation, NotFound
from registry.identifiers import AgbCode, BigNummer, DeziNummer, Ura, normalise_name
from registry.models import (
    Declaration,
    DeziNumberSequence,
    Organisation,
    OrganisationStatusChange,
    Professional,
    utcnow,
)
from registry.records import (
    DeclarationRecord,
    OrganisationRecord,
    ProfessionalRecord,
    declaration_record,
    organisation_record,
    professional_record,
)

__all__ = [
    "add_declaration",
    "bind_identity",
    "enrol_organisation",
    "enrol_professional",
    "grant_admin",
    "register_client",
    "revoke_admin",
    "revoke_declaration",
    "set_organisation_status",
]

DEZI_NUMMER_COUNTER = "dezi_nummer"
DEZI_NUMMER_MAX = 999_999_999
_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"active", "ended"}),
    "active": frozenset({"suspended", "ended"}),
    "suspended": frozenset({"active", "ended"}),
    "ended": frozenset(),
}


def _aware(field: str, value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise InvalidIdentifier(field, "must include a time zone")
    return value


def _optional_name(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    return normalise_name(value, field=field)


# -- organisations ----------------------------------------------------------------------------


def enrol_organisation(
    engine: Engine,
    ura: str,
    naam: str,
    categorie: str,
    agb_code: str | None = None,
    *,
    actor: str,
    status: str = "active",
    source: str | None = None,
    on_behalf_of: str | None = None,
) -> OrganisationRecord:
    """Enrol a care provider. The same URA with the same data again is a no-op; with other
    data it is a ``Conflict`` (changes have their own functions)."""
    ura = Ura(ura).value
    naam = normalise_name(naam, field="naam")
    categorie = codes.organisation_type(categorie).code
    agb = None if agb_code is None else AgbCode(agb_code).value
    if status not in ("pending", "active"):
        raise InvalidIdentifier("status", "an organisation is enrolled pending or active")
    with transaction(engine) as session:
        found = session.exec(select(Organisation).where(Organisation.ura == ura)).first()
        if found is not None:
            if (found.naam, found.categorie, found.agb_code) == (naam, categorie, agb):
                return organisation_record(found)
            raise Conflict(f"organisation {ura} is already enrolled with other data")
        row = Organisation(ura=ura, naam=naam, categorie=categorie, agb_code=agb, status=status)
        session.add(row)
        session.flush()
        session.add(
            OrganisationStatusChange(
                organisation_id=row.id, from_status=None, to_status=status, actor=actor
            )
        )
        audit.append(
            session,
            actor=actor,
            source=source,
            on_behalf_of=on_behalf_of,
            action="organisation.enrol",
            object_type="organisation",
            object_id=ura,
            outcome="success",
            detail={"categorie": categorie, "status": status},
        )
        return organisation_record(row)


def set_organisation_status(
    engine: Engine,
    ura: str,
    status: str,
    *,
    actor: str,
    reason: str | None = None,
    source: str | None = None,
    on_behalf_of: str | None = None,
) -> OrganisationRecord:
    """Move an organisation along pending → active ⇄ suspended → ended, with history.

    While not active, its declarations are not usable for login (``SqlRegister``).
    """
    ura = Ura(ura).value
    if status not in _TRANSITIONS:
        raise InvalidIdentifier("status", "unknown organisation status")
    reason = _optional_name(reason, "reason")
    with transaction(engine) as session:
        row = organisation_by_ura(session, ura)
        if row.status == status:
            return organisation_record(row)
        if status not in _TRANSITIONS[row.status]:
            raise InvariantViolation(f"an organisation cannot go from {row.status} to {status}")
        previous, row.status, row.updated_at = row.status, status, utcnow()
        session.add(row)
        session.add(
            OrganisationStatusChange(
                organisation_id=row.id,
                from_status=previous,
                to_status=status,
                reason=reason,
                actor=actor,
            )
        )
        audit.append(
            session,
            actor=actor,
            source=source,
            on_behalf_of=on_behalf_of,
            action="organisation.status",
            object_type="organisation",
            object_id=ura,
            outcome="success",
            detail={"from": previous, "to": status},
        )
        return organisation_record(row)


# -- professionals ----------------------------------------------------------------------------


def issue_dezi_nummer(session: Session) -> str:
    """Next number from the counter, skipping numbers already held (e.g. imported UZI
    numbers). The row lock (PostgreSQL) or the write lock (SQLite) makes it collision-free,
    and the counter never goes down, so a number is never issued twice."""
    counter = session.exec(
        select(DeziNumberSequence)
        .where(DeziNumberSequence.name == DEZI_NUMMER_COUNTER)
        .with_for_update()
    ).first()
    if counter is None:
        raise InvariantViolation("the Dezi number counter is missing; run the migrations")
    value = counter.next_value
    while value <= DEZI_NUMMER_MAX:
        taken = session.exec(
            select(Professional.id).where(Professional.dezi_nummer == f"{value:09d}")
        ).first()
        if taken is None:
            break
        value += 1
    if value > DEZI_NUMMER_MAX:
        raise InvariantViolation("no Dezi numbers are left to issue")
    counter.next_value = value + 1
    session.add(counter)
    return f"{value:09d}"


def enrol_professional(
    engine: Engine,
    voorletters: str,
    voorvoegsel: str | None,
    achternaam: str,
    big_nummer: str | None = None,
    dezi_nummer: str | None = None,
    *,
    actor: str,
    source: str | None = None,
    on_behalf_of: str | None = None,
) -> ProfessionalRecord:
    """Enrol a care worker; issue a new Dezi number when ``dezi_nummer`` is None.

    With a given number that is already enrolled: the same data is a no-op, other data a
    ``Conflict``. A BIG number belongs to one professional only.
    """
    initials = normalise_name(voorletters, field="voorletters")
    prefix = _optional_name(voorvoegsel, "voorvoegsel")
    surname = normalise_name(achternaam, field="achternaam")
    big = None if big_nummer is None else BigNummer(big_nummer).value
    given = None if dezi_nummer is None else DeziNummer(dezi_nummer).value
    with transaction(engine) as session:
        if given is not None:
            found = session.exec(
                select(Professional).where(Professional.dezi_nummer == given)
            ).first()
            if found is not None:
                existing = (
                    found.voorletters,
                    found.voorvoegsel,
                    found.achternaam,
                    found.big_nummer,
                )
                if existing == (initials, prefix, surname, big):
                    return professional_record(found)
                raise Conflict(f"professional {given} is already enrolled with other data")
        if big is not None:
            holder = session.exec(
                select(Professional).where(Professional.big_nummer == big)
            ).first()
            if holder is not None:
                raise Conflict("this BIG number belongs to another professional")
        number = given if given is not None else issue_dezi_nummer(session)
        row = Professional(
            dezi_nummer=number,
            big_nummer=big,
            voorletters=initials,
            voorvoegsel=prefix,
            achternaam=surname,
        )
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            on_behalf_of=on_behalf_of,
            action="professional.enrol",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"issued": given is None, "big_registered": big is not None},
        )
        return professional_record(row)


# -- declarations -----------------------------------------------------------------------------


def add_declaration(
    engine: Engine,
    dezi_nummer: str,
    ura: str,
    rol_code: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    *,
    actor: str,
    personeelsnummer: str | None = None,
    source: str | None = None,
    on_behalf_of: str | None = None,
) -> DeclarationRecord:
    """Declare that a professional works for an organisation in a role.

    Refused: an unknown or non-care role (``InvalidIdentifier``); a BIG-registered role for a
    professional without a BIG number, an empty validity, an ended organisation
    (``InvariantViolation``); a second ACTIVE declaration of the same triple (``Conflict``).
    """
    number = DeziNummer(dezi_nummer).value
    ura = Ura(ura).value
    role = codes.role(rol_code)
    if not role.declarable:
        raise InvalidIdentifier("rol_code", "not a care-provider role")
    valid_from = _aware("valid_from", valid_from)
    if valid_until is not None and _aware("valid_until", valid_until) <= valid_from:
        raise InvariantViolation("valid_until must be later than valid_from")
    staff_number = (
        None
        if personeelsnummer is None
        else normalise_name(personeelsnummer, field="personeelsnummer", max_length=64)
    )
    with transaction(engine) as session:
        professional = professional_by_dezi(session, number)
        organisation = organisation_by_ura(session, ura)
        if organisation.status == "ended":
            raise InvariantViolation(f"organisation {ura} has ended")
        if role.big_registered and professional.big_nummer is None:
            raise InvariantViolation(f"role {role.code} requires a BIG registration")
        duplicate = session.exec(
            select(Declaration.id).where(
                Declaration.professional_id == professional.id,
                Declaration.organisation_id == organisation.id,
                Declaration.rol_code == role.code,
                Declaration.status == "active",
            )
        ).first()
        if duplicate is not None:
            raise Conflict("an active declaration for this professional, organisation and role")
        row = Declaration(
            professional_id=professional.id,
            organisation_id=organisation.id,
            rol_code=role.code,
            valid_from=valid_from,
            valid_until=valid_until,
            status="active",
            issued_by=actor,
            personeelsnummer=staff_number,
        )
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            on_behalf_of=on_behalf_of,
            action="declaration.add",
            object_type="declaration",
            object_id=row.id,
            outcome="success",
            detail={"dezi_nummer": number, "ura": ura, "rol_code": role.code},
        )
        return declaration_record(row, professional, organisation)


def revoke_declaration(
    engine: Engine,
    declaration_id: str,
    reason: str,
    *,
    actor: str,
    source: str | None = None,
    on_behalf_of: str | None = None,
) -> None:
    """Revoke a declaration (kept, with who, when and why). Revoking twice is a no-op."""
    reason = normalise_name(reason, field="reason", max_length=512)
    with transaction(engine) as session:
        row = session.get(Declaration, declaration_id)
        if row is None:
            raise NotFound("declaration", declaration_id)
        if row.status == "revoked":
            return
        previous = row.status
        row.status, row.status_reason = "revoked", reason
        row.revoked_by, row.revoked_at = actor, utcnow()
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            on_behalf_of=on_behalf_of,
            action="declaration.revoke",
            object_type="declaration",
            object_id=row.id,
            outcome="success",
            detail={"from": previous},
        )
