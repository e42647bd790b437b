"""The set-based import (staging table, COPY, batched audit records) against the per-row import
it replaced: the same files, in the same order, into two fresh registers give the same
outcomes, the same register and the same audit records (actions, objects, details), and the
chain verifies (issue 9 item 6; security-checklist.md §3.2, §3.3, §3.5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit, bulk_copy, db, service
from registry.bulk import ImportReport, parse_import_file, run_import
from registry.bulk_file import ORGANISATION_COLUMNS
from registry.models import AuditRecord, Declaration, Organisation, Professional
from registry.staff import AuditContext, suspend_declaration
from tests.unit.registry.bulk_support import (
    ADMIN,
    STAFF_HEADER,
    csv_bytes,
    register_state,
    staff_line,
)
from tests.unit.registry.per_row_import import run_per_row_import

A, B, C = "90000101", "90000102", "90000103"
Runner = Callable[[Engine, bytes, int], ImportReport]


def set_based(engine: Engine, data: bytes, batch: int) -> ImportReport:
    return run_import(engine, parse_import_file(data), ADMIN, batch_size=batch)


def per_row(engine: Engine, data: bytes, batch: int) -> ImportReport:
    return run_per_row_import(engine, parse_import_file(data), ADMIN, batch_size=batch)


ORGANISATIONS = csv_bytes(
    ",".join(ORGANISATION_COLUMNS),
    f"{A},Thuiszorg De Linde,,T2",
    f"{B},Huisartsen 't Spaarne,01234567,H1",
    f"{C},Verpleeghuis,,T2",
    f"{A},Dubbel,,T2",  # duplicate of line 2
    "123,Kapot,,T2",  # field check
)

FIRST = csv_bytes(
    STAFF_HEADER,
    *(staff_line(A, f"HR{n}", f"Verzorger{n}", voorvoegsel="van 't") for n in range(7)),
    staff_line(A, "D1", "Jansen", rol="01.015", big="19022222201"),
    # the same person at B by BIG number: linked, name kept (works at A)
    staff_line(B, "X-9", "Jansen-Smit", voorletters="A.M.", rol="01.015", big="19022222201"),
    staff_line(A, "D2", "Zonder", rol="01.015"),  # BIG role without a BIG number
    staff_line(A, "HR1", "Verzorger1", voorvoegsel="van 't"),  # duplicate of an earlier row
    staff_line(A, "HR2", "Anders", voorvoegsel="van 't", rol="87.000"),  # another name
    staff_line("90000888", "P1", "Niemand"),  # organisation not enrolled
    staff_line(A, "HR3", "Verzorger3", voorvoegsel="van 't", rol="87.000", tot="2026-12-31"),
    # one person with two staff numbers at A (the second linked by BIG number)
    staff_line(C, "T1", "Twee", rol="30.000", big="39022222230"),
    staff_line(C, "T2", "Twee", rol="30.000", big="39022222230"),
    "1,2,3,4,5,6,7,8,9",
)

SECOND = csv_bytes(
    STAFF_HEADER,
    # HR2's revoked declaration is not reinstated (rejected), HR0's new period is a new one
    *(staff_line(A, f"HR{n}", f"Verzorger{n}", voorvoegsel="van 't") for n in range(1, 4)),
    staff_line(A, "HR0", "Verzorger0", voorvoegsel="van 't", vanaf="2026-01-01"),
    staff_line(A, "HR4", "Verzorger4-Bakker", voorvoegsel="van 't"),  # renamed
    staff_line(A, "HR5", "Verzorger5", voorvoegsel="van 't", tot="2025-12-31"),  # period
    staff_line(A, "HR6", "Verzorger6", voorvoegsel="van 't", big="49022222240"),  # adds BIG
    staff_line(A, "D1", "Jansen", rol="01.015", big="19022222201"),
    staff_line(B, "X-9", "Jansen-Smit", voorletters="A.M.", rol="01.015", big="19022222201"),
    # the suspended nurse takes the new period and stays suspended
    staff_line(A, "HR3", "Verzorger3", voorvoegsel="van 't", rol="87.000", tot="2027-06-30"),
    # rows that undo each other through one person's two staff numbers: each applies in turn
    staff_line(C, "T1", "Twee-Een", rol="30.000", tot="2030-01-01"),
    staff_line(C, "T2", "Twee", rol="30.000", big="39022222230"),
    staff_line(A, "N1", "Nieuw", vanaf="2026-03-01"),
)


def declaration_keys(engine: Engine) -> dict[str, tuple[object, ...]]:
    """Declaration ids (random) to a natural key: (Dezi number, URA, role, n-th of that key)."""
    with db.read_session(engine) as session:
        people = {p.id: p.dezi_nummer for p in session.exec(select(Professional))}
        uras = {o.id: o.ura for o in session.exec(select(Organisation))}
        keys: dict[str, tuple[object, ...]] = {}
        seen: dict[tuple[str, str, str], int] = {}
        for d in session.exec(select(Declaration).order_by(col(Declaration.created_at))):
            key = (people[d.professional_id], uras[d.organisation_id], d.rol_code)
            seen[key] = seen.get(key, 0) + 1
            keys[d.id] = (*key, seen[key])
    return keys


def audit_trail(engine: Engine) -> list[tuple[Any, ...]]:
    keys = declaration_keys(engine)
    with db.read_session(engine) as session:
        assert audit.verify(session) is None
        records = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))).all()
    return [
        (
            r.seq,
            r.actor,
            r.on_behalf_of,
            r.source,
            r.action,
            r.object_type,
            keys.get(r.object_id, r.object_id),
            r.outcome,
            r.detail,
        )
        for r in records
    ]


def scenario(engine: Engine, runner: Runner, batch: int) -> list[list[tuple[Any, ...]]]:
    """Both files, with changes between them made through the service layer."""
    outcomes = []
    for data in (ORGANISATIONS, FIRST):
        report = runner(engine, data, batch)
        outcomes.append(
            [(r.line, r.outcome, r.reasons, r.notes, r.dezi_nummer) for r in report.results]
        )
    with db.read_session(engine) as session:
        carers = session.exec(
            select(Declaration.id).where(col(Declaration.personeelsnummer).in_(["HR0", "HR2"]))
        ).all()
        nurse = session.exec(
            select(Declaration).where(
                Declaration.personeelsnummer == "HR3", Declaration.rol_code == "87.000"
            )
        ).one()
    assert len(carers) == 2
    for carer in carers:
        service.revoke_declaration(engine, carer, "Vergissing", actor="test")
    suspend_declaration(engine, nurse.id, "Onderzoek", context=AuditContext("test"))
    for data in (SECOND, SECOND):
        report = runner(engine, data, batch)
        outcomes.append(
            [(r.line, r.outcome, r.reasons, r.notes, r.dezi_nummer) for r in report.results]
        )
    return outcomes


@pytest.mark.parametrize("batch", [3, 5000])
def test_set_based_equals_per_row(
    engine: Engine, tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name == "sqlite":
        reference = db.create_engine(f"sqlite:///{tmp_path / 'per_row.db'}")
        db.upgrade(reference)
    else:  # a second schema on the same server
        reference = engine_like(engine, tmp_path)
    copies: list[str] = []
    real_copy = bulk_copy.copy_tuples

    def spy(connection: Any, table: str, *args: Any) -> None:
        copies.append(table)
        real_copy(connection, table, *args)

    monkeypatch.setattr(bulk_copy, "copy_tuples", spy)
    monkeypatch.setattr("registry.bulk_stage.copy_tuples", spy)
    try:
        expected = scenario(reference, per_row, batch)
        got = scenario(engine, set_based, batch)
        assert got == expected
        assert register_state(engine) == register_state(reference)
        assert audit_trail(engine) == audit_trail(reference)
    finally:
        reference.dispose()
    # On PostgreSQL the rows went through COPY into the staging table.
    assert bool(copies) == (engine.dialect.name == "postgresql")
    last = got[-1]
    assert {outcome for _, outcome, *_ in last} <= {"unchanged", "rejected", "updated"}


def engine_like(engine: Engine, tmp_path: Path) -> Engine:
    """A fresh migrated database beside ``engine``'s (PostgreSQL: a new schema)."""
    import secrets

    from sqlalchemy.engine import make_url

    schema = f"t_{secrets.token_hex(6)}"
    url = make_url(engine.url).update_query_dict({"options": f"-csearch_path={schema}"})
    with engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    other = db.create_engine(url)
    db.upgrade(other)
    del tmp_path
    return other


def test_utc_is_what_the_reference_compares(engine: Engine) -> None:
    """The comparison above means something only if timestamps come back as UTC."""
    set_based(engine, ORGANISATIONS, 10)
    set_based(engine, csv_bytes(STAFF_HEADER, staff_line(A, "P", "Jansen")), 10)
    with db.read_session(engine) as session:
        declaration = session.exec(select(Declaration)).one()
    assert declaration.valid_from.tzinfo is not None
    assert declaration.valid_from.astimezone(UTC).hour == 23  # midnight in Amsterdam
