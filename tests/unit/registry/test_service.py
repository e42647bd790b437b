"""Service invariants: each change is one transaction with its audit record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit, db, service
from registry.errors import Conflict, InvalidIdentifier, InvariantViolation, NotFound
from registry.models import (
    Declaration,
    DeziNumberSequence,
    Organisation,
    OrganisationStatusChange,
    Professional,
)
from registry.repository import SqlRegister

from .factories import ACTOR, T0, audit_actions, count, make_organisation, make_professional

# -- organisations ------------------------------------------------------------------------------


def test_enrol_organisation_is_idempotent(engine: Engine) -> None:
    first = make_organisation(engine, "00000010", "Zorggroep Één")
    again = make_organisation(engine, "00000010", "Zorggroep Één")
    assert first == again
    assert first.ura == "00000010" and first.status == "active"
    assert audit_actions(engine) == ["organisation.enrol"]
    assert count(engine, OrganisationStatusChange) == 1


def test_enrol_organisation_with_other_data_conflicts(engine: Engine) -> None:
    make_organisation(engine, "90000001", "Eerste naam")
    with pytest.raises(Conflict):
        make_organisation(engine, "90000001", "Andere naam")
    assert audit_actions(engine) == ["organisation.enrol"]


@pytest.mark.parametrize(
    ("ura", "categorie", "agb", "field"),
    [
        ("9000001", "T2", None, "ura"),
        ("90000001", "ZZ", None, "categorie"),
        ("90000001", "T2", "123", "agb_code"),
    ],
)
def test_enrol_organisation_validates(
    engine: Engine, ura: str, categorie: str, agb: str | None, field: str
) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        service.enrol_organisation(engine, ura, "Naam", categorie, agb, actor=ACTOR)
    assert info.value.field == field
    assert count(engine, Organisation) == 0 and audit_actions(engine) == []


def test_organisation_status_history(engine: Engine) -> None:
    make_organisation(engine, "90000001")
    service.set_organisation_status(engine, "90000001", "suspended", actor=ACTOR, reason="Audit")
    service.set_organisation_status(engine, "90000001", "suspended", actor=ACTOR)  # no-op
    service.set_organisation_status(engine, "90000001", "ended", actor=ACTOR)
    with pytest.raises(InvariantViolation):
        service.set_organisation_status(engine, "90000001", "active", actor=ACTOR)
    with pytest.raises(InvalidIdentifier):
        service.set_organisation_status(engine, "90000001", "closed", actor=ACTOR)
    with db.read_session(engine) as session:
        history = [
            (c.from_status, c.to_status)
            for c in session.exec(
                select(OrganisationStatusChange).order_by(col(OrganisationStatusChange.at))
            ).all()
        ]
    assert history == [(None, "active"), ("active", "suspended"), ("suspended", "ended")]
    assert audit_actions(engine) == [
        "organisation.enrol",
        "organisation.status",
        "organisation.status",
    ]


# -- professionals ------------------------------------------------------------------------------


def test_new_professionals_get_fresh_dezi_numbers(engine: Engine) -> None:
    make_professional(engine, "910000001")  # already held: the counter must skip it
    first = service.enrol_professional(engine, "A.", None, "Visser", actor=ACTOR)
    second = service.enrol_professional(engine, "A.", None, "Visser", actor=ACTOR)
    assert (first.dezi_nummer, second.dezi_nummer) == ("910000000", "910000002")
    with db.read_session(engine) as session:
        assert session.exec(select(DeziNumberSequence)).one().next_value == 910_000_003


def test_enrol_professional_with_a_given_number_is_idempotent(engine: Engine) -> None:
    first = make_professional(engine, "900000019", "19022222201")
    assert make_professional(engine, "900000019", "19022222201") == first
    with pytest.raises(Conflict):
        make_professional(engine, "900000019", None)
    assert audit_actions(engine) == ["professional.enrol"]


def test_a_big_number_belongs_to_one_professional(engine: Engine) -> None:
    make_professional(engine, "900000019", "19022222201")
    with pytest.raises(Conflict):
        make_professional(engine, "900000027", "19022222201")
    assert count(engine, Professional) == 1


def test_empty_voorvoegsel_is_none(engine: Engine) -> None:
    record = service.enrol_professional(engine, "J.", "  ", "Berg", actor=ACTOR)
    assert record.voorvoegsel is None


# -- declarations -------------------------------------------------------------------------------


@pytest.fixture
def people(engine: Engine) -> Engine:
    make_organisation(engine, "90000001", "Huisartsenpraktijk")
    make_professional(engine, "900000019", "19022222201")  # BIG-registered
    make_professional(engine, "900000027")  # not BIG-registered
    return engine


def test_big_role_needs_a_big_number(people: Engine) -> None:
    before = audit_actions(people)
    with pytest.raises(InvariantViolation, match="BIG"):
        service.add_declaration(people, "900000027", "90000001", "30.000", T0, actor=ACTOR)
    assert count(people, Declaration) == 0 and audit_actions(people) == before
    record = service.add_declaration(people, "900000019", "90000001", "01.015", T0, actor=ACTOR)
    assert record.rol_naam == "Huisarts"
    assert record.rol_code_bron == "http://www.dezi.nl/rol_code_bron/big"


@pytest.mark.parametrize("code", ["12.345", "00.000", "1.015"])
def test_unknown_or_non_care_role_is_refused(people: Engine, code: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        service.add_declaration(people, "900000027", "90000001", code, T0, actor=ACTOR)
    assert info.value.field == "rol_code"


def test_duplicate_active_declaration_conflicts(people: Engine) -> None:
    first = service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    before = audit_actions(people)
    with pytest.raises(Conflict):
        service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    assert audit_actions(people) == before
    # Another role at the same organisation is a different declaration.
    service.add_declaration(people, "900000027", "90000001", "99.000", T0, actor=ACTOR)
    # After a revocation the triple may be declared again; the old row stays.
    service.revoke_declaration(people, first.declaration_id, "Uit dienst", actor=ACTOR)
    service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    assert count(people, Declaration) == 3


def test_the_database_enforces_one_active_declaration(people: Engine) -> None:
    """The partial unique index holds even when the service check is bypassed."""
    service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    with pytest.raises(Conflict), db.transaction(people) as session:
        existing = session.exec(select(Declaration)).one()
        session.add(
            Declaration(
                professional_id=existing.professional_id,
                organisation_id=existing.organisation_id,
                rol_code="86.000",
                valid_from=T0,
                issued_by=ACTOR,
            )
        )
        session.flush()


def test_declaration_validity_rules(people: Engine) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        service.add_declaration(
            people, "900000027", "90000001", "86.000", datetime(2025, 1, 1), actor=ACTOR
        )
    assert info.value.field == "valid_from"
    with pytest.raises(InvariantViolation):
        service.add_declaration(people, "900000027", "90000001", "86.000", T0, T0, actor=ACTOR)
    with pytest.raises(NotFound):
        service.add_declaration(people, "900000035", "90000001", "86.000", T0, actor=ACTOR)
    with pytest.raises(NotFound):
        service.add_declaration(people, "900000027", "90000002", "86.000", T0, actor=ACTOR)
    service.set_organisation_status(people, "90000001", "ended", actor=ACTOR)
    with pytest.raises(InvariantViolation):
        service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)


def test_revoke_is_kept_and_idempotent(people: Engine) -> None:
    record = service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    service.revoke_declaration(people, record.declaration_id, "Uit dienst", actor="dezi:900000051")
    service.revoke_declaration(people, record.declaration_id, "Nogmaals", actor=ACTOR)
    with db.read_session(people) as session:
        row = session.get(Declaration, record.declaration_id)
    assert row is not None
    assert (row.status, row.status_reason, row.revoked_by) == (
        "revoked",
        "Uit dienst",
        "dezi:900000051",
    )
    assert row.revoked_at is not None
    assert audit_actions(people).count("declaration.revoke") == 1
    with pytest.raises(NotFound):
        service.revoke_declaration(people, "no-such-id", "x", actor=ACTOR)


def test_a_failing_call_writes_neither_change_nor_audit(
    people: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = audit_actions(people)

    def broken_append(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken_append)
    with pytest.raises(RuntimeError):
        service.add_declaration(people, "900000027", "90000001", "86.000", T0, actor=ACTOR)
    with pytest.raises(RuntimeError):
        service.enrol_professional(people, "B.", None, "Bos", actor=ACTOR)
    monkeypatch.undo()
    assert count(people, Declaration) == 0
    assert count(people, Professional) == 2
    assert audit_actions(people) == before
    with db.read_session(people) as session:
        # The issued number was not consumed either.
        assert session.exec(select(DeziNumberSequence)).one().next_value == 910_000_000


# -- administrators and identity bindings ----------------------------------------------------


def test_admin_grants(people: Engine) -> None:
    register = SqlRegister(people)
    service.grant_admin(people, "900000019", "registry_admin", actor=ACTOR)
    service.grant_admin(people, "900000019", "registry_admin", actor=ACTOR)
    service.grant_admin(people, "900000027", "org_admin", "90000001", actor=ACTOR)
    assert register.is_registry_admin("900000019")
    assert not register.is_registry_admin("900000027")
    assert register.admin_organisations("900000027") == ["90000001"]
    assert register.admin_organisations("900000019") == []
    assert audit_actions(people).count("admin.grant") == 2
    with pytest.raises(InvariantViolation):
        service.grant_admin(people, "900000019", "registry_admin", "90000001", actor=ACTOR)
    with pytest.raises(InvariantViolation):
        service.grant_admin(people, "900000019", "org_admin", actor=ACTOR)
    with pytest.raises(InvalidIdentifier):
        service.grant_admin(people, "900000019", "superuser", actor=ACTOR)
    with pytest.raises(NotFound):
        service.grant_admin(people, "900000019", "org_admin", "90000009", actor=ACTOR)
    service.revoke_admin(people, "900000027", "org_admin", "90000001", actor=ACTOR)
    service.revoke_admin(people, "900000027", "org_admin", "90000001", actor=ACTOR)
    assert register.admin_organisations("900000027") == []
    assert audit_actions(people).count("admin.revoke") == 1


def test_identity_binding(people: Engine) -> None:
    register = SqlRegister(people)
    subject = "a" * 64
    service.bind_identity(people, "900000027", "digid", subject, actor=ACTOR)
    service.bind_identity(people, "900000027", "digid", subject, actor=ACTOR)
    found = register.professional_for_binding("digid", subject)
    assert found is not None and found.dezi_nummer == "900000027"
    with pytest.raises(Conflict):
        service.bind_identity(people, "900000019", "digid", subject, actor=ACTOR)
    with pytest.raises(InvalidIdentifier):
        service.bind_identity(people, "900000019", "digid", "999991772", actor=ACTOR)
    assert audit_actions(people).count("identity.bind") == 1


def test_timestamps_are_aware_utc(people: Engine) -> None:
    record = service.add_declaration(
        people, "900000027", "90000001", "86.000", T0 + timedelta(hours=1), actor=ACTOR
    )
    with db.read_session(people) as session:
        row = session.get(Declaration, record.declaration_id)
    assert row is not None
    assert row.valid_from == T0 + timedelta(hours=1)
    assert row.valid_from.utcoffset() == timedelta(0)
    assert row.created_at.utcoffset() == timedelta(0)
