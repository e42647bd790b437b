"""Consents: a care worker's approval that a relying party receives the verklaring of one
declaration (issue 6 item 5; ASVS 10.7.1-10.7.3). Each grant and withdrawal writes its audit
record in the same transaction (NEN 7513, security-checklist.md §4). Nothing is deleted: a
withdrawal sets ``withdrawn_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from registry import audit
from registry.db import read_only, read_session, transaction
from registry.models import Consent, Declaration, Organisation, Professional, RelyingParty


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    client_id: str
    client_name: str
    declaration_id: str
    abonnee_naam: str
    granted_at: datetime


def _ids(
    session: Session, dezi_nummer: str, client_id: str
) -> tuple[Professional | None, RelyingParty | None]:
    professional = session.exec(
        select(Professional).where(Professional.dezi_nummer == dezi_nummer)
    ).first()
    client = session.exec(select(RelyingParty).where(RelyingParty.client_id == client_id)).first()
    return professional, client


def _active(
    session: Session, professional_id: str, relying_party_id: str, declaration_id: str
) -> Consent | None:
    return session.exec(
        select(Consent).where(
            Consent.professional_id == professional_id,
            Consent.relying_party_id == relying_party_id,
            Consent.declaration_id == declaration_id,
            col(Consent.withdrawn_at).is_(None),
        )
    ).first()


def _consented() -> sa.Select[Any]:
    consent = Consent.__table__  # type: ignore[attr-defined]
    professional = Professional.__table__  # type: ignore[attr-defined]
    relying_party = RelyingParty.__table__  # type: ignore[attr-defined]
    return (
        sa.select(relying_party.c.client_id, consent.c.declaration_id)
        .select_from(
            consent.join(professional, professional.c.id == consent.c.professional_id).join(
                relying_party, relying_party.c.id == consent.c.relying_party_id
            )
        )
        .where(
            professional.c.dezi_nummer == sa.bindparam("number"),
            consent.c.withdrawn_at.is_(None),
        )
    )


# (client id, declaration id) of every consent in force for one person (``number``): what the
# login path carries in the OP session. Built once, plain columns, no ORM objects.
CONSENTED = _consented()


class SqlConsents:
    """Read and write consents; satisfies the IdP's ``ConsentStore`` port."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def has_consent(self, dezi_nummer: str, client_id: str, declaration_id: str) -> bool:
        with read_session(self._engine) as session:
            professional, client = _ids(session, dezi_nummer, client_id)
            if professional is None or client is None:
                return False
            return _active(session, professional.id, client.id, declaration_id) is not None

    def record_consent(self, dezi_nummer: str, client_id: str, declaration_id: str) -> None:
        """Idempotent: approving twice keeps one active consent and one audit record."""
        with transaction(self._engine) as session:
            professional, client = _ids(session, dezi_nummer, client_id)
            declaration = session.get(Declaration, declaration_id)
            if professional is None or client is None or declaration is None:
                raise ValueError("unknown professional, client or declaration")
            if declaration.professional_id != professional.id:
                raise ValueError("the declaration is not this professional's")
            if _active(session, professional.id, client.id, declaration_id) is not None:
                return
            consent = Consent(
                professional_id=professional.id,
                relying_party_id=client.id,
                declaration_id=declaration_id,
            )
            session.add(consent)
            audit.append(
                session,
                actor=dezi_nummer,
                action="consent.grant",
                object_type="consent",
                object_id=consent.id,
                outcome="success",
                detail={"client_id": client_id, "declaration_id": declaration_id},
            )

    def withdraw_consent(self, dezi_nummer: str, consent_id: str) -> str | None:
        """Withdraw one of this person's consents; returns the client id, or None."""
        with transaction(self._engine) as session:
            consent = session.get(Consent, consent_id)
            professional, _ = _ids(session, dezi_nummer, "")
            if (
                consent is None
                or professional is None
                or consent.professional_id != professional.id
                or consent.withdrawn_at is not None
            ):
                return None
            consent.withdrawn_at = datetime.now(UTC)
            client = session.get(RelyingParty, consent.relying_party_id)
            audit.append(
                session,
                actor=dezi_nummer,
                action="consent.withdraw",
                object_type="consent",
                object_id=consent.id,
                outcome="success",
            )
            return client.client_id if client else None

    def consented(self, dezi_nummer: str) -> list[tuple[str, str]]:
        """(client id, declaration id) of every consent in force."""
        with read_only(self._engine).connect() as connection:
            return [
                (row.client_id, row.declaration_id)
                for row in connection.execute(CONSENTED, {"number": dezi_nummer})
            ]

    def consents_of(self, dezi_nummer: str) -> list[ConsentRecord]:
        statement = (
            select(Consent, RelyingParty, Organisation)
            .join(Professional, col(Professional.id) == col(Consent.professional_id))
            .join(RelyingParty, col(RelyingParty.id) == col(Consent.relying_party_id))
            .join(Declaration, col(Declaration.id) == col(Consent.declaration_id))
            .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
            .where(Professional.dezi_nummer == dezi_nummer, col(Consent.withdrawn_at).is_(None))
            .order_by(col(Consent.granted_at))
        )
        with read_session(self._engine) as session:
            return [
                ConsentRecord(
                    consent_id=consent.id,
                    client_id=client.client_id,
                    client_name=client.name,
                    declaration_id=consent.declaration_id,
                    abonnee_naam=organisation.naam,
                    granted_at=consent.granted_at,
                )
                for consent, client, organisation in session.exec(statement)
            ]
