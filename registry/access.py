"""Administrative rights and identity bindings (re-exported by ``registry.service``).

Same rules as the rest of the service layer: one transaction per call with its audit record,
no-op when nothing changes, nothing deleted (security-checklist.md §3).
"""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry import audit
from registry.db import organisation_by_ura, professional_by_dezi, transaction
from registry.errors import Conflict, InvalidIdentifier, InvariantViolation
from registry.identifiers import DeziNummer, Ura
from registry.models import ADMIN_ROLES, AdminGrant, IdentityBinding, utcnow

__all__ = ["bind_identity", "grant_admin", "revoke_admin"]

_METHOD = re.compile(r"[a-z0-9_.-]{1,64}", re.ASCII)
_SUBJECT_HASH = re.compile(r"[0-9a-f]{64}", re.ASCII)


def bind_identity(
    engine: Engine,
    dezi_nummer: str,
    method: str,
    subject_hash: str,
    *,
    actor: str,
    source: str | None = None,
) -> None:
    """Bind a login subject (a keyed hash, ``identifiers.keyed_subject_hash``) to a
    professional. Binding it again to the same professional is a no-op; to another, a
    ``Conflict``."""
    number = DeziNummer(dezi_nummer).value
    if _METHOD.fullmatch(method) is None:
        raise InvalidIdentifier("method", "must be 1-64 of a-z, 0-9, '_', '.', '-'")
    if _SUBJECT_HASH.fullmatch(subject_hash) is None:
        raise InvalidIdentifier("subject_hash", "must be 64 lowercase hex digits")
    with transaction(engine) as session:
        professional = professional_by_dezi(session, number)
        found = session.exec(
            select(IdentityBinding).where(
                IdentityBinding.method == method, IdentityBinding.subject_hash == subject_hash
            )
        ).first()
        if found is not None:
            if found.professional_id == professional.id:
                return
            raise Conflict("this login subject is bound to another professional")
        session.add(
            IdentityBinding(
                professional_id=professional.id, method=method, subject_hash=subject_hash
            )
        )
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="identity.bind",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"method": method},
        )


# -- administrators ---------------------------------------------------------------------------


def _grant_scope(session: Session, role: str, ura: str | None) -> str | None:
    if role not in ADMIN_ROLES:
        raise InvalidIdentifier("role", "must be registry_admin or org_admin")
    if role == "registry_admin":
        if ura is not None:
            raise InvariantViolation("registry_admin is not tied to an organisation")
        return None
    if ura is None:
        raise InvariantViolation("org_admin needs an organisation")
    return organisation_by_ura(session, Ura(ura).value).id


def _active_grant(
    session: Session, professional_id: str, role: str, organisation_id: str | None
) -> AdminGrant | None:
    return session.exec(
        select(AdminGrant).where(
            AdminGrant.professional_id == professional_id,
            AdminGrant.role == role,
            col(AdminGrant.organisation_id).is_(None)
            if organisation_id is None
            else AdminGrant.organisation_id == organisation_id,
            col(AdminGrant.revoked_at).is_(None),
        )
    ).first()


def grant_admin(
    engine: Engine,
    dezi_nummer: str,
    role: str,
    ura: str | None = None,
    *,
    actor: str,
    source: str | None = None,
) -> None:
    """Give a professional ``registry_admin`` rights, or ``org_admin`` rights for ``ura``.
    Granting what is already held is a no-op."""
    number = DeziNummer(dezi_nummer).value
    with transaction(engine) as session:
        organisation_id = _grant_scope(session, role, ura)
        professional = professional_by_dezi(session, number)
        if _active_grant(session, professional.id, role, organisation_id) is not None:
            return
        session.add(
            AdminGrant(
                professional_id=professional.id,
                role=role,
                organisation_id=organisation_id,
                granted_by=actor,
            )
        )
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="admin.grant",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"role": role, "ura": ura},
        )


def revoke_admin(
    engine: Engine,
    dezi_nummer: str,
    role: str,
    ura: str | None = None,
    *,
    actor: str,
    source: str | None = None,
) -> None:
    """End an admin grant (kept as history). Revoking what is not held is a no-op."""
    number = DeziNummer(dezi_nummer).value
    with transaction(engine) as session:
        organisation_id = _grant_scope(session, role, ura)
        professional = professional_by_dezi(session, number)
        grant = _active_grant(session, professional.id, role, organisation_id)
        if grant is None:
            return
        grant.revoked_by, grant.revoked_at = actor, utcnow()
        session.add(grant)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="admin.revoke",
            object_type="professional",
            object_id=number,
            outcome="success",
            detail={"role": role, "ura": ura},
        )
