"""Small builders shared by the register tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from registry import service
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
