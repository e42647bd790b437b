"""Passkeys bound to professionals: service functions and reads of ``passkey_credential``.

The IdP's passkey method (``idp.authn.passkey``) checks the WebAuthn ceremonies; this module keeps
what they bind. Same rules as the rest of the service layer (security-checklist.md §3): a change
and its audit record commit in ONE transaction; nothing is deleted, a revoked passkey keeps its
row with ``revoked_at``. ``SqlPasskeys`` is the adapter the IdP holds (its ``PasskeyStore``
Protocol, satisfied structurally: the registry never imports the IdP).

Using a passkey updates only its signature counter and ``last_used_at``, with one conditional
UPDATE (compare and set), so two assertions racing with the same counter cannot both pass
(WebAuthn L2 §6.1.1). A counter that went backwards is audited: it may mean a cloned
authenticator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit
from registry.db import professional_by_dezi, read_session, transaction
from registry.errors import Conflict, InvalidIdentifier
from registry.identifiers import DeziNummer, normalise_name
from registry.models import PasskeyCredential, Professional, utcnow

__all__ = [
    "PASSKEY_NAME_MAX_LENGTH",
    "PasskeyRecord",
    "SqlPasskeys",
    "add_passkey",
    "record_sign_count_regression",
    "revoke_passkey",
]

PASSKEY_NAME_MAX_LENGTH = 64
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{16,1400}", re.ASCII)
_AAGUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_SIGN_COUNT_MAX = 2**32 - 1  # a 32-bit unsigned integer in authenticator data (L2 §6.1)


@dataclass(frozen=True)
class PasskeyRecord:
    """One passkey as the register reports it (the IdP's ``PasskeyView``)."""

    passkey_id: str
    credential_id: str
    dezi_nummer: str
    public_key: bytes
    sign_count: int
    user_handle: str
    name: str
    aaguid: str
    backup_eligible: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _record(row: PasskeyCredential, dezi_nummer: str) -> PasskeyRecord:
    return PasskeyRecord(
        passkey_id=row.id,
        credential_id=row.credential_id,
        dezi_nummer=dezi_nummer,
        public_key=bytes(row.public_key),
        sign_count=row.sign_count,
        user_handle=row.user_handle,
        name=row.name,
        aaguid=row.aaguid,
        backup_eligible=row.backup_eligible,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _check_sign_count(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value <= _SIGN_COUNT_MAX:
        raise InvalidIdentifier("sign_count", "must be a 32-bit unsigned integer")
    return value


def add_passkey(
    engine: Engine,
    dezi_nummer: str,
    *,
    credential_id: str,
    public_key: bytes,
    sign_count: int,
    user_handle: str,
    name: str,
    aaguid: str,
    backup_eligible: bool,
    actor: str,
    source: str | None = None,
) -> PasskeyRecord:
    """Bind a verified credential to a professional, with its audit record.

    A credential ID already in the register, for anyone, is a ``Conflict`` (WebAuthn L2 §7.1:
    the RP should fail a registration of a credential registered to another user; for the
    same user it is simply already there)."""
    number = DeziNummer(dezi_nummer).value
    if _BASE64URL.fullmatch(credential_id) is None:
        raise InvalidIdentifier("credential_id", "must be base64url text")
    if _BASE64URL.fullmatch(user_handle) is None:
        raise InvalidIdentifier("user_handle", "must be base64url text")
    if _AAGUID.fullmatch(aaguid) is None:
        raise InvalidIdentifier("aaguid", "must be a lowercase UUID")
    if not public_key:
        raise InvalidIdentifier("public_key", "must not be empty")
    label = normalise_name(name, field="name", max_length=PASSKEY_NAME_MAX_LENGTH)
    with transaction(engine) as session:
        professional = professional_by_dezi(session, number)
        taken = session.exec(
            select(PasskeyCredential.id).where(PasskeyCredential.credential_id == credential_id)
        ).first()
        if taken is not None:
            raise Conflict("this passkey is already registered")
        row = PasskeyCredential(
            credential_id=credential_id,
            professional_id=professional.id,
            public_key=public_key,
            sign_count=_check_sign_count(sign_count),
            user_handle=user_handle,
            name=label,
            aaguid=aaguid,
            backup_eligible=backup_eligible,
        )
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="passkey.register",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"passkey_id": row.id, "aaguid": aaguid, "backup_eligible": backup_eligible},
        )
        return _record(row, number)


def revoke_passkey(
    engine: Engine,
    dezi_nummer: str,
    passkey_id: str,
    *,
    actor: str,
    source: str | None = None,
) -> bool:
    """Revoke one of the professional's passkeys, with its audit record. False (and no record)
    when she has no such active passkey: revoking twice changes nothing."""
    number = DeziNummer(dezi_nummer).value
    with transaction(engine) as session:
        professional = professional_by_dezi(session, number)
        row = session.exec(
            select(PasskeyCredential).where(
                PasskeyCredential.id == passkey_id,
                PasskeyCredential.professional_id == professional.id,
                col(PasskeyCredential.revoked_at).is_(None),
            )
        ).first()
        if row is None:
            return False
        row.revoked_at = utcnow()
        row.revoked_by = actor
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="passkey.revoke",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"passkey_id": row.id},
        )
        return True


def record_sign_count_regression(
    engine: Engine, credential_id: str, presented: int, *, source: str | None = None
) -> None:
    """Audit a signature counter that did not go up (WebAuthn L2 §6.1.1: a signal that the
    authenticator may be cloned). The login was refused; the passkey stays as it is."""
    with transaction(engine) as session:
        found = session.exec(
            select(PasskeyCredential, Professional.dezi_nummer)
            .join(Professional, col(Professional.id) == col(PasskeyCredential.professional_id))
            .where(PasskeyCredential.credential_id == credential_id)
        ).first()
        if found is None:
            return
        row, number = found
        audit.append(
            session,
            actor="system:passkey-login",
            source=source,
            action="passkey.sign_count_regression",
            object_type="professional",
            object_id=number,
            outcome="refused",
            detail={"passkey_id": row.id, "stored": row.sign_count, "presented": presented},
        )


class SqlPasskeys:
    """The register's passkeys for the IdP: reads, the counter update, and the audited writes."""

    def __init__(self, engine: Engine, *, source: str = "web") -> None:
        self._engine = engine
        self._source = source

    def passkey(self, credential_id: str) -> PasskeyRecord | None:
        """The passkey with this credential ID, revoked or not; ``None`` when unknown."""
        if _BASE64URL.fullmatch(credential_id) is None:
            return None
        statement = (
            select(PasskeyCredential, Professional.dezi_nummer)
            .join(Professional, col(Professional.id) == col(PasskeyCredential.professional_id))
            .where(PasskeyCredential.credential_id == credential_id)
        )
        with read_session(self._engine) as session:
            found = session.exec(statement).first()
        return None if found is None else _record(*found)

    def passkeys_of(self, dezi_nummer: str) -> Sequence[PasskeyRecord]:
        """All of her passkeys, revoked ones included, oldest first."""
        statement = (
            select(PasskeyCredential, Professional.dezi_nummer)
            .join(Professional, col(Professional.id) == col(PasskeyCredential.professional_id))
            .where(Professional.dezi_nummer == dezi_nummer)
            .order_by(col(PasskeyCredential.created_at), col(PasskeyCredential.id))
        )
        with read_session(self._engine) as session:
            return [_record(row, number) for row, number in session.exec(statement).all()]

    def record_use(self, credential_id: str, sign_count: int, at: datetime) -> bool:
        """Store the new counter and the time of use, only if the passkey is not revoked and
        the counter went up (or both are 0: authenticators without a counter, L2 §6.1.1).
        False when another use got there first or the passkey was revoked meanwhile."""
        table = sa.table(
            "passkey_credential",
            sa.column("credential_id", sa.String),
            sa.column("sign_count", sa.BigInteger),
            sa.column("last_used_at"),
            sa.column("revoked_at"),
        )
        counter_ok = (
            table.c.sign_count < sign_count
            if sign_count > 0
            else (table.c.sign_count == 0)  # no counter: accept while it stays 0
        )
        statement = (
            sa.update(table)
            .where(
                table.c.credential_id == credential_id,
                table.c.revoked_at.is_(None),
                counter_ok,
            )
            .values(sign_count=_check_sign_count(sign_count), last_used_at=at)
        )
        with transaction(self._engine) as session:
            result = session.connection().execute(statement)
            return bool(result.rowcount == 1)

    def add_passkey(
        self,
        dezi_nummer: str,
        *,
        credential_id: str,
        public_key: bytes,
        sign_count: int,
        user_handle: str,
        name: str,
        aaguid: str,
        backup_eligible: bool,
    ) -> PasskeyRecord | None:
        """``add_passkey`` by the worker herself; ``None`` when the credential is already
        registered (to her or anyone)."""
        try:
            return add_passkey(
                self._engine,
                dezi_nummer,
                credential_id=credential_id,
                public_key=public_key,
                sign_count=sign_count,
                user_handle=user_handle,
                name=name,
                aaguid=aaguid,
                backup_eligible=backup_eligible,
                actor=f"dezi:{dezi_nummer}",
                source=self._source,
            )
        except Conflict:
            return None

    def revoke_passkey(self, dezi_nummer: str, passkey_id: str) -> bool:
        """``revoke_passkey`` by the worker herself."""
        return revoke_passkey(
            self._engine, dezi_nummer, passkey_id, actor=f"dezi:{dezi_nummer}", source=self._source
        )

    def record_sign_count_regression(self, credential_id: str, presented: int) -> None:
        record_sign_count_regression(self._engine, credential_id, presented, source=self._source)
