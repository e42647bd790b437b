"""The login path's read side: which declarations are usable, and what they carry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from registry import db, service
from registry.repository import SqlRegister, display_sort_key

from .factories import ACTOR, T0, make_organisation, make_professional

NOW = datetime.now(UTC)


@pytest.fixture
def register(engine: Engine) -> SqlRegister:
    make_organisation(engine, "90000001", "Zorggroep Zuid")
    make_organisation(engine, "90000002", "Ééndracht Thuiszorg")
    make_organisation(engine, "90000003", "amstelzorg")
    make_professional(engine, "900000027")
    for ura in ("90000001", "90000002", "90000003"):
        service.add_declaration(engine, "900000027", ura, "86.000", T0, actor=ACTOR)
    return SqlRegister(engine)


def _uras(register: SqlRegister, organisations: tuple[str, ...] = ()) -> list[str]:
    return [d.abonnee_nummer for d in register.usable_declarations("900000027", organisations, NOW)]


def test_usable_declarations_are_ordered_by_organisation_name(register: SqlRegister) -> None:
    # amstelzorg, Ééndracht, Zorggroep: case- and accent-insensitive, same on both databases.
    assert _uras(register) == ["90000003", "90000002", "90000001"]


def test_declaration_record_carries_the_verklaring_fields(register: SqlRegister) -> None:
    record = register.usable_declarations("900000027", ["90000002"], NOW)[0]
    assert record.abonnee_naam == "Ééndracht Thuiszorg"
    assert (record.dezi_nummer, record.voorletters, record.voorvoegsel, record.achternaam) == (
        "900000027",
        "J.",
        None,
        "Jansen",
    )
    assert (record.rol_code, record.rol_naam) == ("86.000", "VIG-er")
    assert record.rol_code_bron == "http://www.dezi.nl/rol_code_bron/wet_big_art34"
    assert record.valid_from == T0 and record.valid_until is None
    assert register.usable_declaration(record.declaration_id, NOW) == record


def test_client_restriction_filters_organisations(register: SqlRegister) -> None:
    assert _uras(register, ("90000001",)) == ["90000001"]
    assert _uras(register, ("90000001", "90000009")) == ["90000001"]
    assert _uras(register, ("90000009",)) == []


def test_revoked_declaration_is_not_usable(engine: Engine, register: SqlRegister) -> None:
    record = register.usable_declarations("900000027", ["90000001"], NOW)[0]
    service.revoke_declaration(engine, record.declaration_id, "Uit dienst", actor=ACTOR)
    assert "90000001" not in _uras(register)
    assert register.usable_declaration(record.declaration_id, NOW) is None


def test_suspended_organisation_makes_its_declarations_unusable(
    engine: Engine, register: SqlRegister
) -> None:
    record = register.usable_declarations("900000027", ["90000002"], NOW)[0]
    service.set_organisation_status(engine, "90000002", "suspended", actor=ACTOR)
    assert "90000002" not in _uras(register)
    assert register.usable_declaration(record.declaration_id, NOW) is None
    service.set_organisation_status(engine, "90000002", "active", actor=ACTOR)
    assert register.usable_declaration(record.declaration_id, NOW) == record


def test_validity_window(engine: Engine, register: SqlRegister) -> None:
    make_organisation(engine, "90000004", "Verleden")
    make_organisation(engine, "90000005", "Toekomst")
    past = service.add_declaration(
        engine, "900000027", "90000004", "86.000", T0, NOW - timedelta(days=1), actor=ACTOR
    )
    future = service.add_declaration(
        engine, "900000027", "90000005", "86.000", NOW + timedelta(days=1), actor=ACTOR
    )
    uras = _uras(register)
    assert "90000004" not in uras and "90000005" not in uras
    assert register.usable_declaration(past.declaration_id, NOW) is None
    assert register.usable_declaration(future.declaration_id, NOW) is None
    # valid_from <= at < valid_until
    assert register.usable_declaration(past.declaration_id, T0) == past
    assert register.usable_declaration(past.declaration_id, NOW - timedelta(days=1)) is None
    assert register.usable_declaration(future.declaration_id, NOW + timedelta(days=1)) == future


def test_other_time_zones_compare_correctly(engine: Engine, register: SqlRegister) -> None:
    make_organisation(engine, "90000006", "Tijdzone")
    start = datetime(2030, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))  # 10:00 UTC
    record = service.add_declaration(engine, "900000027", "90000006", "86.000", start, actor=ACTOR)
    assert (
        register.usable_declaration(record.declaration_id, datetime(2030, 6, 1, 9, 59, tzinfo=UTC))
        is None
    )
    assert (
        register.usable_declaration(record.declaration_id, datetime(2030, 6, 1, 10, 0, tzinfo=UTC))
        == record
    )


def test_naive_time_is_a_programming_error(register: SqlRegister) -> None:
    with pytest.raises(ValueError, match="aware"):
        register.usable_declarations("900000027", (), datetime(2030, 1, 1))


def test_lookups_of_malformed_or_unknown_numbers(register: SqlRegister) -> None:
    assert register.find_professional("900000027") is not None
    assert register.find_professional("999999999") is None
    assert register.find_professional("' OR '1'='1") is None
    assert register.usable_declarations("nonsense", (), NOW) == []
    assert register.usable_declaration("nonsense", NOW) is None
    assert not register.is_registry_admin("x")
    assert register.admin_organisations("x") == []
    assert register.get_client("nobody") is None
    found = register.find_organisation("90000001")
    assert found is not None and found.naam == "Zorggroep Zuid"
    assert register.find_organisation("1") is None


def test_ping(engine: Engine) -> None:
    assert SqlRegister(engine).ping()


def test_ping_false_when_the_database_is_unreachable() -> None:
    broken = db.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        assert SqlRegister(broken).ping() is False
    finally:
        broken.dispose()


def test_display_sort_key() -> None:
    assert sorted(["Zorg", "Één", "amstel", "Ede"], key=display_sort_key) == [
        "amstel",
        "Ede",
        "Één",
        "Zorg",
    ]


def test_sqlite_readers_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade(engine)
    register = SqlRegister(engine)
    try:
        with db.session_scope(engine) as session:
            session.connection()  # holds the write lock (BEGIN IMMEDIATE)
            started = time.monotonic()
            assert register.ping()
            assert register.find_professional("900000019") is None
            assert time.monotonic() - started < 5
    finally:
        engine.dispose()
