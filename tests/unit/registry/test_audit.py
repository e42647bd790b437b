"""The audit chain: NEN 7513 fields, hash-chained, tamper-evident (security-checklist.md §3-4)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit, db, service
from registry.models import AuditRecord

from .factories import ACTOR, T0, make_organisation, make_professional


def _records(engine: Engine) -> list[AuditRecord]:
    with db.read_session(engine) as session:
        return list(session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))).all())


def _tamper(engine: Engine, statement: str) -> None:
    """What a superuser could do: bypass the append-only triggers and change rows."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_record DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE audit_record ENABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_record_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_record_no_delete")
            connection.exec_driver_sql(statement)


@pytest.fixture
def history(engine: Engine) -> Engine:
    make_organisation(engine, "90000001", "Zorggroep Één")
    make_professional(engine, "900000019", "19022222201")
    record = service.add_declaration(
        engine, "900000019", "90000001", "01.015", T0, actor=ACTOR, source="10.0.0.1"
    )
    service.revoke_declaration(engine, record.declaration_id, "Uit dienst", actor=ACTOR)
    return engine


def test_chain_links_and_verifies(history: Engine) -> None:
    records = _records(history)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == audit.GENESIS_HASH
    for previous, current in itertools.pairwise(records):
        assert current.prev_hash == previous.hash
    assert all(r.hash == audit.record_hash(r) for r in records)
    with db.read_session(history) as session:
        assert audit.verify(session) is None
        assert audit.head(session) == (4, records[-1].hash)


def test_records_carry_the_nen_7513_fields(history: Engine) -> None:
    added = _records(history)[2]
    assert added.action == "declaration.add" and added.outcome == "success"
    assert added.actor == ACTOR and added.source == "10.0.0.1"
    assert added.object_type == "declaration"
    assert added.detail == {"dezi_nummer": "900000019", "ura": "90000001", "rol_code": "01.015"}
    assert added.at.utcoffset() is not None


@pytest.mark.parametrize(
    ("statement", "broken"),
    [
        ("UPDATE audit_record SET actor = 'someone else' WHERE seq = 2", 2),
        ("UPDATE audit_record SET outcome = 'failure' WHERE seq = 4", 4),
        ("DELETE FROM audit_record WHERE seq = 3", 4),
        ("UPDATE audit_record SET seq = 30 WHERE seq = 3", 4),
    ],
)
def test_verify_pinpoints_tampering(history: Engine, statement: str, broken: int) -> None:
    _tamper(history, statement)
    with db.read_session(history) as session:
        assert audit.verify(session) == broken


def test_rehashing_one_row_still_breaks_the_next_link(history: Engine) -> None:
    record = _records(history)[1]
    record.actor = "someone else"
    forged = audit.record_hash(record)
    _tamper(
        history, f"UPDATE audit_record SET actor = 'someone else', hash = '{forged}' WHERE seq = 2"
    )
    with db.read_session(history) as session:
        assert audit.verify(session) == 3


def test_secrets_are_redacted_from_detail(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        audit.append(
            session,
            actor="a",
            action="login",
            object_type="p",
            object_id="1",
            outcome="success",
            detail={"bsn": "999991772", "nested": {"Code": "abc", "ok": [1, ("x", 2)]}},
        )
    (record,) = _records(engine)
    assert record.detail == {
        "bsn": "[redacted]",
        "nested": {"Code": "[redacted]", "ok": [1, ["x", 2]]},
    }
    with db.read_session(engine) as session:
        assert audit.verify(session) is None


def test_log_injection_is_one_record(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        audit.append(
            session,
            actor='a\r\n{"forged": true}\u2028\x1b[31m',
            action="x",
            object_type="o",
            object_id="1",
            outcome="success",
        )
    assert len(_records(engine)) == 1
    with db.read_session(engine) as session:
        assert audit.verify(session) is None


def test_appends_and_the_change_share_one_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), db.session_scope(engine) as session:
        audit.append(
            session, actor="a", action="x", object_type="o", object_id="1", outcome="success"
        )
        raise RuntimeError("rolled back")
    assert _records(engine) == []


def test_verify_in_batches(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        for i in range(7):
            audit.append(
                session, actor="a", action="x", object_type="o", object_id=str(i), outcome="success"
            )
    with db.read_session(engine) as session:
        assert audit.verify(session, batch=3) is None
    _tamper(engine, "UPDATE audit_record SET object_id = '99' WHERE seq = 6")
    with db.read_session(engine) as session:
        assert audit.verify(session, batch=3) == 6


def test_nan_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError), db.session_scope(engine) as session:
        audit.append(
            session,
            actor="a",
            action="x",
            object_type="o",
            object_id="1",
            outcome="success",
            detail={"n": float("nan")},
        )
    with db.read_session(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(AuditRecord)).one() == 0


@pytest.mark.parametrize(
    ("actor", "on_behalf_of", "source", "detail"),
    [
        ("cli:tester", None, "cli", {"ura": "90000101", "via": "import"}),
        ("dezi:900000051", "90000101", None, {"changed": ["voorletters", "achternaam"]}),
        ('quote " and \\ and \u00e9\u2019\U0001f600', "x\ny", "t\tab", {"b": 1, "a": [True]}),
        ("a", None, None, {}),
    ],
)
def test_the_bulk_chain_hashes_exactly_as_append(
    actor: str, on_behalf_of: str | None, source: str | None, detail: dict[str, object]
) -> None:
    fields = {
        "seq": 12345,
        "at": datetime(2026, 12, 6, 4, 5, 6, 7, tzinfo=UTC),
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "action": "professional.enrol",
        "object_type": "professional",
        "object_id": "900000019",
        "source": source,
        "outcome": "success",
        "detail": detail,
        "prev_hash": "0" * 64,
    }
    assert audit._spelled_out_hash(fields) == audit._fields_hash(fields)


@pytest.mark.parametrize(
    "detail",
    [
        {"ura": "90000101", "issued": True, "n": 3, "none": None, "changed": ["a", "b"]},
        {"token": "geheim", "ura": "1"},  # redacted: the slow way
        {"pair": ("a", "b")},  # a tuple comes back as a list
        {"nested": {"code": "x"}},
        {},
    ],
)
def test_canonical_detail_is_what_the_json_column_gives_back(detail: dict[str, object]) -> None:
    expected = json.loads(json.dumps(audit._redact(detail), allow_nan=False))
    got = audit._canonical_detail(detail)
    assert got == expected and list(got) == list(expected)
    assert got is not detail
