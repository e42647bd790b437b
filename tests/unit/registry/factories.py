"""Small builders shared by the register tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col, select

from registry import service
from registry.db import read_session
from registry.models import AuditRecord
from registry.records import OrganisationRecord, ProfessionalRecord

ACTOR = "test:admin"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_organisation(
    engine: Engine, ura: str, naam: str | None = None, categorie: str = "T2"
) -> OrganisationRecord:
    return service.enrol_organisation(
        engine, ura, naam or f"Organisatie {ura}", categorie, actor=ACTOR
    )


def make_professional(
    engine: Engine, dezi_nummer: str, big_nummer: str | None = None, achternaam: str = "Jansen"
) -> ProfessionalRecord:
    return service.enrol_professional(
        engine, "J.", None, achternaam, big_nummer, dezi_nummer, actor=ACTOR
    )


def count(engine: Engine, model: type[SQLModel]) -> int:
    with read_session(engine) as session:
        return len(session.exec(select(model)).all())


def audit_actions(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        rows = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))).all()
        return [row.action for row in rows]
