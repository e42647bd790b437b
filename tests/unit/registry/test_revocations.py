"""The register's revocation read side: ``declaration_status`` and ``revocations`` (Dezi v0.7 §6).

Run on SQLite and on the real PostgreSQL, like every register test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from registry import service
from registry.db import transaction
from registry.models import Declaration
from registry.repository import SqlRegister

from .factories import ACTOR, T0, make_organisation, make_professional

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def ids(engine: Engine) -> dict[str, str]:
    for ura in ("90000001", "90000002", "90000003"):
        make_organisation(engine, ura)
    make_professional(engine, "900000027")
    return {
        ura: service.add_declaration(
            engine, "900000027", ura, "86.000", T0, actor=ACTOR
        ).declaration_id
        for ura in ("90000001", "90000002", "90000003")
    }


def now() -> datetime:
    return datetime.now(UTC)


def test_status_of_an_active_declaration(engine: Engine, ids: dict[str, str]) -> None:
    record = SqlRegister(engine).declaration_status(ids["90000001"])
    assert record is not None
    assert (record.declaration_id, record.status, record.organisation_status) == (
        ids["90000001"],
        "active",
        "active",
    )
    assert record.valid_from == T0 and record.valid_until is None


def test_status_after_revocation_and_suspension(engine: Engine, ids: dict[str, str]) -> None:
    service.revoke_declaration(engine, ids["90000001"], "Uit dienst", actor=ACTOR)
    service.set_organisation_status(engine, "90000002", "suspended", actor=ACTOR)
    register = SqlRegister(engine)
    revoked = register.declaration_status(ids["90000001"])
    suspended = register.declaration_status(ids["90000002"])
    assert revoked is not None and revoked.status == "revoked"
    assert suspended is not None
    assert (suspended.status, suspended.organisation_status) == ("active", "suspended")


@pytest.mark.parametrize("value", ["", "not-a-uuid", "0" * 36, "../etc", str(uuid.uuid4())])
def test_unknown_or_malformed_ids_read_as_absent(
    engine: Engine, ids: dict[str, str], value: str
) -> None:
    assert SqlRegister(engine).declaration_status(value) is None


def test_the_uppercase_form_of_an_id_finds_it(engine: Engine, ids: dict[str, str]) -> None:
    record = SqlRegister(engine).declaration_status(ids["90000003"].upper())
    assert record is not None and record.declaration_id == ids["90000003"]


def test_no_revocations_while_everything_is_active(engine: Engine, ids: dict[str, str]) -> None:
    assert SqlRegister(engine).revocations(LONG_AGO, now()) == []


def test_revoked_declaration_is_listed_with_its_time(engine: Engine, ids: dict[str, str]) -> None:
    before = now()
    service.revoke_declaration(engine, ids["90000001"], "Uit dienst", actor=ACTOR)
    after = now()
    found = SqlRegister(engine).revocations(LONG_AGO, now())
    assert [r.declaration_id for r in found] == [ids["90000001"]]
    assert before <= found[0].revoked_at <= after


def test_suspended_or_ended_organisation_lists_its_declarations(
    engine: Engine, ids: dict[str, str]
) -> None:
    service.set_organisation_status(engine, "90000002", "suspended", actor=ACTOR)
    service.set_organisation_status(engine, "90000003", "ended", actor=ACTOR)
    register = SqlRegister(engine)
    assert {r.declaration_id for r in register.revocations(LONG_AGO, now())} == {
        ids["90000002"],
        ids["90000003"],
    }
    # Reinstated: off the list again (the list says what is not usable now).
    service.set_organisation_status(engine, "90000002", "active", actor=ACTOR)
    assert [r.declaration_id for r in register.revocations(LONG_AGO, now())] == [ids["90000003"]]


def test_since_bounds_the_list(engine: Engine, ids: dict[str, str]) -> None:
    service.revoke_declaration(engine, ids["90000001"], "Uit dienst", actor=ACTOR)
    service.set_organisation_status(engine, "90000002", "suspended", actor=ACTOR)
    later = now() + timedelta(seconds=5)
    assert SqlRegister(engine).revocations(later, later) == []


def test_declarations_past_their_validity_leave_the_list(engine: Engine) -> None:
    make_organisation(engine, "90000004")
    make_professional(engine, "900000019")
    start = now() - timedelta(days=10)
    record = service.add_declaration(
        engine,
        "900000019",
        "90000004",
        "86.000",
        start,
        start + timedelta(days=5),
        actor=ACTOR,
    )
    service.revoke_declaration(engine, record.declaration_id, "Fout", actor=ACTOR)
    register = SqlRegister(engine)
    assert register.revocations(LONG_AGO, now()) == []
    assert [r.declaration_id for r in register.revocations(LONG_AGO, start)] == [
        record.declaration_id
    ]


def test_a_non_active_declaration_without_a_time_uses_its_creation(
    engine: Engine, ids: dict[str, str]
) -> None:
    with transaction(engine) as session:
        row = session.get(Declaration, ids["90000003"])
        assert row is not None
        row.status = "suspended"
        session.add(row)
    found = SqlRegister(engine).revocations(now(), now())
    assert [r.declaration_id for r in found] == [ids["90000003"]]
    assert found[0].revoked_at < now()


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="aware"):
        SqlRegister(engine).revocations(datetime(2026, 1, 1), now())
