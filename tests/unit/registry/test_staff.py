"""Staff numbers (``Employment``), suspension, the 0002 migration and the listings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import db, queries, service
from registry.errors import Conflict, InvalidIdentifier, InvariantViolation, NotFound
from registry.models import AuditRecord, Employment
from registry.repository import SqlRegister
from registry.staff import AuditContext, link_staff_number, suspend_declaration

from .factories import ACTOR, T0, make_organisation, make_professional

CONTEXT = AuditContext(ACTOR, "cli")
AT = datetime(2025, 6, 1, tzinfo=UTC)


def test_a_staff_number_names_one_professional_per_organisation(engine: Engine) -> None:
    make_organisation(engine, "90000101")
    make_organisation(engine, "90000102")
    make_professional(engine, "900000019")
    make_professional(engine, "900000027")
    assert link_staff_number(engine, "900000019", "90000101", "HR-1", context=CONTEXT)
    assert not link_staff_number(engine, "900000019", "90000101", "HR-1", context=CONTEXT)
    assert link_staff_number(engine, "900000019", "90000102", "HR-1", context=CONTEXT)
    with pytest.raises(Conflict, match="another professional"):
        link_staff_number(engine, "900000027", "90000101", "HR-1", context=CONTEXT)
    with pytest.raises(NotFound):
        link_staff_number(engine, "900000027", "90000199", "HR-1", context=CONTEXT)
    with db.read_session(engine) as session:
        assert len(session.exec(select(Employment)).all()) == 2
        actions = [r.action for r in session.exec(select(AuditRecord))]
    assert actions.count("employment.link") == 2


def test_suspension_is_unusable_at_once_and_kept(engine: Engine) -> None:
    make_organisation(engine, "90000101")
    make_professional(engine, "900000027")
    record = service.add_declaration(engine, "900000027", "90000101", "86.000", T0, actor=ACTOR)
    register = SqlRegister(engine)
    assert register.usable_declarations("900000027", [], AT)
    assert suspend_declaration(engine, record.declaration_id, "Onderzoek", context=CONTEXT)
    assert register.usable_declarations("900000027", [], AT) == []
    assert not suspend_declaration(engine, record.declaration_id, "Nog eens", context=CONTEXT)
    status = register.declaration_status(record.declaration_id)
    assert status is not None and status.status == "suspended"
    service.revoke_declaration(engine, record.declaration_id, "Definitief", actor=ACTOR)
    with pytest.raises(InvariantViolation, match="revoked declaration cannot be suspended"):
        suspend_declaration(engine, record.declaration_id, "x", context=CONTEXT)
    with pytest.raises(NotFound):
        suspend_declaration(engine, "no-such-id", "x", context=CONTEXT)


def test_migration_0002_links_existing_staff_numbers(bare_engine: Engine) -> None:
    db.upgrade(bare_engine, "0001")
    make_organisation(bare_engine, "90000101")
    make_professional(bare_engine, "900000019")
    make_professional(bare_engine, "900000027")
    for dezi, number in (("900000019", "HR-1"), ("900000027", "HR-2"), ("900000019", "HR-X")):
        service.add_declaration(
            bare_engine,
            dezi,
            "90000101",
            "86.000" if number != "HR-X" else "87.000",
            T0,
            actor=ACTOR,
            personeelsnummer=number,
        )
    # An ambiguous number (two people) is left for the next import to link.
    service.add_declaration(
        bare_engine, "900000027", "90000101", "87.000", T0, actor=ACTOR, personeelsnummer="HR-1"
    )
    db.upgrade(bare_engine, "0002")
    with bare_engine.connect() as connection:
        rows = (
            connection.execute(
                sa.text("SELECT personeelsnummer FROM employment ORDER BY personeelsnummer")
            )
            .scalars()
            .all()
        )
    assert rows == ["HR-2", "HR-X"]
    db.upgrade(bare_engine)


def test_listings_match_literally_and_are_logged(engine: Engine) -> None:
    make_organisation(engine, "90000101", "Thuiszorg 100% Zorg_Vrij")
    make_organisation(engine, "90000102", "Thuiszorg Anders")
    found = queries.list_organisations(engine, context=CONTEXT, search="100%")
    assert [o.ura for o in found] == ["90000101"]
    assert queries.list_organisations(engine, context=CONTEXT, search="100_") == []
    assert [o.ura for o in queries.list_organisations(engine, context=CONTEXT, search="g_v")] == [
        "90000101"
    ]
    assert queries.list_organisations(engine, context=CONTEXT, search="\\") == []
    assert len(queries.list_organisations(engine, context=CONTEXT, limit=10**9)) == 2
    with pytest.raises(InvalidIdentifier):
        queries.list_organisations(engine, context=CONTEXT, status="gone")
    with db.read_session(engine) as session:
        searches = [r for r in session.exec(select(AuditRecord)) if r.action == "register.search"]
    assert searches[0].detail == {"search": "100%"} and searches[0].source == "cli"
