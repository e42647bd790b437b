"""The demo data of INTERFACES.md, and that seeding twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit, db, seed
from registry.models import (
    AdminGrant,
    AuditRecord,
    Declaration,
    Organisation,
    Professional,
    RegistryModel,
    RelyingParty,
    RelyingPartyOrganisation,
)
from registry.repository import SqlRegister

from .factories import count

NOW = datetime.now(UTC)
DEMO_CLIENT: dict[str, Any] = {
    "redirect_uris": ["http://127.0.0.1:8000/demo-epd/callback"],
    "auth_method": "none",
    "profile": "dezi",
    "name": "Demo EPD",
}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed.seed_demo(engine, DEMO_CLIENT)
    return engine


def test_physician(seeded: Engine) -> None:
    register = SqlRegister(seeded)
    physician = register.find_professional("900000019")
    assert physician is not None and physician.big_nummer == "19022222201"
    (declaration,) = register.usable_declarations("900000019", (), NOW)
    assert (declaration.abonnee_nummer, declaration.rol_code) == ("90000001", "01.015")
    assert declaration.rol_code_bron == "http://www.dezi.nl/rol_code_bron/big"


def test_home_care_carer_at_fifteen_organisations(seeded: Engine) -> None:
    register = SqlRegister(seeded)
    carer = register.find_professional("900000027")
    assert carer is not None
    assert (carer.voorletters, carer.voorvoegsel, carer.achternaam, carer.big_nummer) == (
        "J.",
        "van der",
        "Berg",
        None,
    )
    declarations = register.usable_declarations("900000027", (), NOW)
    assert sorted(d.abonnee_nummer for d in declarations) == [
        f"900001{n:02d}" for n in range(1, 16)
    ]
    assert {d.rol_code for d in declarations} == {"86.000"}
    names = [d.abonnee_naam for d in declarations]
    assert len(set(names)) == 15
    assert any(not name.isascii() for name in names)
    with db.read_session(seeded) as session:
        categories = session.exec(
            select(Organisation.categorie).where(col(Organisation.ura).startswith("900001"))
        ).all()
    assert set(categories) == {"T2"}


def test_nurse_has_only_a_revoked_declaration(seeded: Engine) -> None:
    register = SqlRegister(seeded)
    nurse = register.find_professional("900000035")
    assert nurse is not None and nurse.big_nummer is not None
    assert register.usable_declarations("900000035", (), NOW) == []
    with db.read_session(seeded) as session:
        rows = session.exec(
            select(Declaration).join(Professional).where(Professional.dezi_nummer == "900000035")
        ).all()
    assert [(row.rol_code, row.status) for row in rows] == [("30.000", "revoked")]


def test_administrators(seeded: Engine) -> None:
    register = SqlRegister(seeded)
    assert register.is_registry_admin("900000043")
    assert register.usable_declarations("900000043", (), NOW) == []
    assert not register.is_registry_admin("900000051")
    assert register.admin_organisations("900000051") == ["90000101"]
    (declaration,) = register.usable_declarations("900000051", (), NOW)
    assert declaration.abonnee_nummer == "90000101"


def test_every_organisation_is_active_and_the_demo_client_sees_them_all(seeded: Engine) -> None:
    with db.read_session(seeded) as session:
        statuses = session.exec(select(Organisation.status)).all()
    assert len(statuses) == 16 and set(statuses) == {"active"}
    client = SqlRegister(seeded).get_client("demo-epd")
    assert client is not None and client.auth_method == "none"
    assert client.organisations == seed.demo_uras()


TABLES: list[type[RegistryModel]] = [
    Organisation,
    Professional,
    Declaration,
    AdminGrant,
    RelyingParty,
    RelyingPartyOrganisation,
    AuditRecord,
]


def test_seeding_twice_changes_nothing(seeded: Engine) -> None:
    before = {table.__name__: count(seeded, table) for table in TABLES}
    seed.seed_demo(seeded, DEMO_CLIENT)
    after = {table.__name__: count(seeded, table) for table in TABLES}
    assert after == before
    assert before["Declaration"] == 1 + 15 + 1 + 1
    with db.read_session(seeded) as session:
        assert audit.verify(session) is None


def test_seed_without_a_client(engine: Engine) -> None:
    seed.seed_demo(engine)
    assert SqlRegister(engine).get_client("demo-epd") is None
    assert count(engine, Professional) == 5
