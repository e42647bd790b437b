"""The register's read side for the login path: ``SqlRegister``.

Satisfies the IdP's ``ClientStore`` and ``Register`` Protocols (``idp/protocol/ports.py``)
structurally. Every call opens a short read-only session and reads the database: no cache, so
a revocation is effective on the next call (DECISIONS.md #11). Malformed identifiers read as
"not there" rather than raising, because they arrive from login forms.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from registry.consents import CONSENTED
from registry.db import read_only, read_session
from registry.errors import InvalidIdentifier
from registry.identifiers import DeziNummer, Ura
from registry.models import (
    AdminGrant,
    Declaration,
    IdentityBinding,
    Organisation,
    OrganisationStatusChange,
    Professional,
    RelyingParty,
    RelyingPartyOrganisation,
)
from registry.records import (
    ClientRecord,
    DeclarationRecord,
    DeclarationStatusRecord,
    OrganisationRecord,
    ProfessionalRecord,
    RevocationRecord,
    client_record,
    declaration_record_of,
    organisation_record,
    professional_record,
)

__all__ = ["SqlRegister", "display_sort_key"]


def display_sort_key(name: str) -> str:
    """Case- and accent-insensitive key, the same on every database (security-checklist.md
    UN10: a display choice): "Één" sorts with "E", not after "Z" as raw code points would."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _valid_dezi(value: str) -> str | None:
    try:
        return DeziNummer(value).value
    except InvalidIdentifier:
        return None


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; they are UTC (``registry.models``)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _require_aware(at: datetime) -> None:
    if at.utcoffset() is None:
        raise ValueError("'at' must be an aware datetime")


class SqlRegister:
    """``ClientStore`` and ``Register`` on the register database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = read_only(engine)  # built once: execution_options makes a new engine

    # -- clients ------------------------------------------------------------------------------

    def get_client(self, client_id: str) -> ClientRecord | None:
        """The client, active or not (the caller refuses inactive ones)."""
        with read_session(self._engine) as session:
            row = session.exec(
                select(RelyingParty).where(RelyingParty.client_id == client_id)
            ).first()
            if row is None:
                return None
            return client_record(row, _client_organisations(session, row.id))

    # -- professionals and declarations ------------------------------------------------------------

    def find_professional(self, dezi_nummer: str) -> ProfessionalRecord | None:
        number = _valid_dezi(dezi_nummer)
        if number is None:
            return None
        with self._reader.connect() as connection:
            row = connection.execute(_FIND_PROFESSIONAL, {"number": number}).first()
        return None if row is None else professional_record(row)

    def find_organisation(self, ura: str) -> OrganisationRecord | None:
        try:
            checked = Ura(ura).value
        except InvalidIdentifier:
            return None
        with read_session(self._engine) as session:
            row = session.exec(select(Organisation).where(Organisation.ura == checked)).first()
            return None if row is None else organisation_record(row)

    def usable_declarations(
        self, dezi_nummer: str, organisations: Sequence[str], at: datetime
    ) -> list[DeclarationRecord]:
        """Active declarations valid at ``at`` (``valid_from <= at < valid_until``) of active
        organisations, limited to ``organisations`` (URAs) when it is not empty; ordered by
        organisation name (``display_sort_key``), then role code."""
        _require_aware(at)
        number = _valid_dezi(dezi_nummer)
        if number is None:
            return []
        with self._reader.connect() as connection:
            return _usable_declarations(connection, number, organisations, at)

    def login_profile(
        self, dezi_nummer: str, at: datetime
    ) -> tuple[list[DeclarationRecord], list[tuple[str, str]]]:
        """The one register read of a login (ARCHITECTURE.md "The hot path"): every usable
        declaration of the person, and (client id, declaration id) of each consent in force;
        two statements on one connection, plain columns through SQLAlchemy Core."""
        _require_aware(at)
        number = _valid_dezi(dezi_nummer)
        if number is None:
            return [], []
        with self._reader.connect() as connection:
            declarations = _usable_declarations(connection, number, (), at)
            consents = [
                (row.client_id, row.declaration_id)
                for row in connection.execute(CONSENTED, {"number": number})
            ]
        return declarations, consents

    def usable_declaration(self, declaration_id: str, at: datetime) -> DeclarationRecord | None:
        """The declaration if it is usable at ``at`` (same rules as ``usable_declarations``)."""
        _require_aware(at)
        with self._reader.connect() as connection:
            row = connection.execute(_USABLE_BY_ID, {"id": declaration_id, "at": at}).first()
        return None if row is None else _column_record(row)

    # -- revocation (Dezi v0.7 §6) ---------------------------------------------------------------

    def declaration_status(self, declaration_id: str) -> DeclarationStatusRecord | None:
        """The declaration's own and its organisation's status, whatever they are; ``None``
        for an unknown or malformed id."""
        try:
            wanted = str(uuid.UUID(declaration_id))
        except (ValueError, TypeError, AttributeError):
            return None
        statement = (
            select(Declaration, Organisation.status)
            .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
            .where(Declaration.id == wanted)
        )
        with read_session(self._engine) as session:
            row = session.exec(statement).first()
        if row is None:
            return None
        declaration, organisation_status = row
        return DeclarationStatusRecord(
            declaration_id=declaration.id,
            status=declaration.status,
            organisation_status=organisation_status,
            valid_from=declaration.valid_from,
            valid_until=declaration.valid_until,
        )

    def revocations(self, since: datetime, at: datetime) -> list[RevocationRecord]:
        """Declarations not usable for a reason other than time, still inside their validity
        at ``at``, revoked at or after ``since``; ordered by time, then id.

        The time is ``revoked_at`` for a declaration that is not active (its ``created_at``,
        the earliest bound, when the register kept no time), and the organisation's last
        status change for an active declaration of a suspended or ended organisation.
        """
        _require_aware(since)
        _require_aware(at)
        in_validity = or_(col(Declaration.valid_until).is_(None), col(Declaration.valid_until) > at)
        own = (
            select(Declaration, Professional.dezi_nummer)
            .join(Professional, col(Professional.id) == col(Declaration.professional_id))
            .where(
                Declaration.status != "active",
                in_validity,
                or_(col(Declaration.revoked_at).is_(None), col(Declaration.revoked_at) >= since),
            )
        )
        changed = (
            select(
                OrganisationStatusChange.organisation_id,
                sa.func.max(OrganisationStatusChange.at).label("at"),
            )
            .group_by(col(OrganisationStatusChange.organisation_id))
            .subquery()
        )
        through_organisation = (
            select(Declaration.id, changed.c.at, Professional.dezi_nummer)
            .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
            .join(Professional, col(Professional.id) == col(Declaration.professional_id))
            .join(changed, changed.c.organisation_id == col(Organisation.id))
            .where(
                Declaration.status == "active",
                col(Organisation.status).in_(["suspended", "ended"]),
                in_validity,
                changed.c.at >= since,
            )
        )
        with read_session(self._engine) as session:
            found = [
                RevocationRecord(row.id, row.revoked_at or row.created_at, dezi)
                for row, dezi in session.exec(own).all()
            ]
            found += [
                RevocationRecord(i, t, dezi)
                for i, t, dezi in session.exec(through_organisation).all()
            ]
        return sorted(found, key=lambda r: (r.revoked_at, r.declaration_id))

    def professional_for_binding(self, method: str, subject_hash: str) -> ProfessionalRecord | None:
        """The professional a login subject (``IdentityBinding``) is bound to."""
        statement = (
            select(Professional)
            .join(IdentityBinding, col(IdentityBinding.professional_id) == col(Professional.id))
            .where(IdentityBinding.method == method, IdentityBinding.subject_hash == subject_hash)
        )
        with read_session(self._engine) as session:
            row = session.exec(statement).first()
            return None if row is None else professional_record(row)

    # -- administrators ------------------------------------------------------------------------

    def is_registry_admin(self, dezi_nummer: str) -> bool:
        number = _valid_dezi(dezi_nummer)
        if number is None:
            return False
        statement = (
            select(AdminGrant.id)
            .join(Professional, col(Professional.id) == col(AdminGrant.professional_id))
            .where(
                Professional.dezi_nummer == number,
                AdminGrant.role == "registry_admin",
                col(AdminGrant.revoked_at).is_(None),
            )
        )
        with read_session(self._engine) as session:
            return session.exec(statement).first() is not None

    def admin_organisations(self, dezi_nummer: str) -> list[str]:
        """URAs of the organisations whose staff this professional administers, sorted."""
        number = _valid_dezi(dezi_nummer)
        if number is None:
            return []
        statement = (
            select(Organisation.ura)
            .join(AdminGrant, col(AdminGrant.organisation_id) == col(Organisation.id))
            .join(Professional, col(Professional.id) == col(AdminGrant.professional_id))
            .where(
                Professional.dezi_nummer == number,
                AdminGrant.role == "org_admin",
                col(AdminGrant.revoked_at).is_(None),
            )
            .distinct()
        )
        with read_session(self._engine) as session:
            return sorted(session.exec(statement).all())

    # -- health --------------------------------------------------------------------------------

    def ping(self) -> bool:
        """``SELECT 1``; False when the database cannot be reached."""
        try:
            with read_only(self._engine).connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except (sa.exc.SQLAlchemyError, OSError):
            return False
        return True


_DECLARATION = Declaration.__table__  # type: ignore[attr-defined]
_PROFESSIONAL = Professional.__table__  # type: ignore[attr-defined]
_ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
_USABLE_COLUMNS = (
    sa.select(
        _DECLARATION.c.id,
        _DECLARATION.c.rol_code,
        _DECLARATION.c.valid_from,
        _DECLARATION.c.valid_until,
        _PROFESSIONAL.c.dezi_nummer,
        _PROFESSIONAL.c.voorletters,
        _PROFESSIONAL.c.voorvoegsel,
        _PROFESSIONAL.c.achternaam,
        _ORGANISATION.c.ura,
        _ORGANISATION.c.naam,
    )
    .select_from(
        _DECLARATION.join(_PROFESSIONAL, _PROFESSIONAL.c.id == _DECLARATION.c.professional_id).join(
            _ORGANISATION, _ORGANISATION.c.id == _DECLARATION.c.organisation_id
        )
    )
    .where(_DECLARATION.c.status == "active", _ORGANISATION.c.status == "active")
)


# The login path's statements, built once with bound parameters: building a WHERE clause costs
# more than SQLite takes to run the query.
_FIND_PROFESSIONAL = sa.select(
    _PROFESSIONAL.c.dezi_nummer,
    _PROFESSIONAL.c.voorletters,
    _PROFESSIONAL.c.voorvoegsel,
    _PROFESSIONAL.c.achternaam,
    _PROFESSIONAL.c.big_nummer,
).where(_PROFESSIONAL.c.dezi_nummer == sa.bindparam("number"))
# Valid at ``at``: valid_from <= at < valid_until (an open end never ends).
_VALID_AT = sa.and_(
    _DECLARATION.c.valid_from <= sa.bindparam("at"),
    sa.or_(_DECLARATION.c.valid_until.is_(None), _DECLARATION.c.valid_until > sa.bindparam("at")),
)
_USABLE_FOR_PERSON = _USABLE_COLUMNS.where(
    _PROFESSIONAL.c.dezi_nummer == sa.bindparam("number"), _VALID_AT
)
# The login path's snapshot is stale (a revocation mark): the one declaration, read again.
_USABLE_BY_ID = _USABLE_COLUMNS.where(_DECLARATION.c.id == sa.bindparam("id"), _VALID_AT)
_USABLE_AT_ORGANISATIONS = _USABLE_FOR_PERSON.where(
    _ORGANISATION.c.ura.in_(sa.bindparam("uras", expanding=True))
)


def _usable_declarations(
    connection: sa.Connection, number: str, organisations: Sequence[str], at: datetime
) -> list[DeclarationRecord]:
    if organisations:
        rows = connection.execute(
            _USABLE_AT_ORGANISATIONS, {"number": number, "at": at, "uras": list(organisations)}
        )
    else:
        rows = connection.execute(_USABLE_FOR_PERSON, {"number": number, "at": at})
    found = [r for r in map(_column_record, rows) if r is not None]
    return sorted(
        found, key=lambda r: (display_sort_key(r.abonnee_naam), r.abonnee_naam, r.rol_code)
    )


def _column_record(row: Any) -> DeclarationRecord | None:
    # A role dropped from the code list makes its declarations unusable, not the login path.
    try:
        return declaration_record_of(
            declaration_id=row.id,
            rol_code=row.rol_code,
            valid_from=_aware(row.valid_from),
            valid_until=None if row.valid_until is None else _aware(row.valid_until),
            professional=row,
            ura=row.ura,
            naam=row.naam,
        )
    except InvalidIdentifier:
        return None


def _client_organisations(session: Session, relying_party_id: str) -> tuple[str, ...]:
    statement = (
        select(Organisation.ura)
        .join(
            RelyingPartyOrganisation,
            col(RelyingPartyOrganisation.organisation_id) == col(Organisation.id),
        )
        .where(
            RelyingPartyOrganisation.relying_party_id == relying_party_id,
            col(RelyingPartyOrganisation.removed_at).is_(None),
        )
    )
    return tuple(sorted(session.exec(statement).all()))
