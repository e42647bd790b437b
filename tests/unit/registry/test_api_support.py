"""What the REST API needs from the register: client grant types and scopes (RFC 7591 §2),
transaction hooks (a check before and an answer after a change, in its transaction), and the
records a transaction appended to the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry import audit, db, service
from registry.errors import InvalidIdentifier
from registry.models import AuditRecord, Organisation
from registry.repository import SqlRegister

from .factories import ACTOR, audit_actions, count, make_organisation

JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch", "e": "AQAB"}]}


def _register(engine: Engine, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "client_id": "hr-1",
        "redirect_uris": [],
        "auth_method": "private_key_jwt",
        "jwks": JWKS,
        "grant_types": ["client_credentials"],
        "scopes": ["registry"],
        "actor": ACTOR,
    }
    arguments.update(overrides)
    return service.register_client(engine, **arguments)


def test_client_credentials_client_needs_no_redirect_uri(engine: Engine) -> None:
    record = _register(engine)
    assert record.grant_types == ("client_credentials",) and record.scopes == ("registry",)
    found = SqlRegister(engine).get_client("hr-1")
    assert found is not None and found.grant_types == ("client_credentials",)
    assert found.redirect_uris == ()


def test_defaults_keep_what_clients_could_do(engine: Engine) -> None:
    record = _register(
        engine,
        client_id="epd",
        redirect_uris=["https://epd.example/cb"],
        grant_types=("authorization_code",),
        scopes=("openid",),
    )
    assert record.grant_types == ("authorization_code",) and record.scopes == ("openid",)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"grant_types": ["password"]}, "grant_types"),
        ({"grant_types": []}, "grant_types"),
        ({"grant_types": "client_credentials"}, "grant_types"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"grant_types": ["authorization_code"]}, "redirect_uris"),
    ],
)
def test_refused_metadata(engine: Engine, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        _register(engine, **overrides)
    assert info.value.field == field


def test_changing_grant_types_is_audited(engine: Engine) -> None:
    _register(engine)
    _register(
        engine,
        grant_types=["client_credentials", "authorization_code"],
        redirect_uris=["https://hr.example/cb"],
        scopes=["openid", "registry"],
    )
    assert audit_actions(engine)[-1] == "client.update"
    record = SqlRegister(engine).get_client("hr-1")
    assert record is not None
    assert record.grant_types == ("authorization_code", "client_credentials")


# -- transaction hooks ---------------------------------------------------------------------------


def test_hooks_run_inside_the_next_transaction_only(engine: Engine) -> None:
    seen: list[str] = []

    def after_begin(session: Session) -> None:
        audit.track(session)
        seen.append("begin")

    def before_commit(session: Session) -> None:
        appended = audit.appended(session)
        seen.append(f"commit:{[r.action for r in appended]}")

    hooks = db.TransactionHooks(after_begin=after_begin, before_commit=before_commit)
    with db.transaction_hooks(hooks):
        service.enrol_organisation(engine, "90000001", "Eén", "T2", actor=ACTOR)
        service.enrol_organisation(engine, "90000002", "Twee", "T2", actor=ACTOR)
    assert seen == ["begin", "commit:['organisation.enrol']"]


def test_appended_records_are_tracked_only_on_request(engine: Engine) -> None:
    with db.transaction(engine) as session:
        audit.append(session, actor=ACTOR, action="a", object_type="t", object_id="1", outcome="ok")
        assert audit.appended(session) == []
        audit.track(session)
        audit.append(session, actor=ACTOR, action="b", object_type="t", object_id="2", outcome="ok")
        assert [r.action for r in audit.appended(session)] == ["b"]


def test_a_failing_check_rolls_the_change_back(engine: Engine) -> None:
    make_organisation(engine, "90000001")

    class Refused(Exception):
        pass

    def refuse(session: Session) -> None:
        raise Refused

    before = count(engine, Organisation)
    with pytest.raises(Refused), db.transaction_hooks(db.TransactionHooks(before_commit=refuse)):
        service.enrol_organisation(engine, "90000003", "Drie", "T2", actor=ACTOR)
    assert count(engine, Organisation) == before
    with db.read_session(engine) as session:
        assert (
            session.exec(select(Organisation).where(Organisation.ura == "90000003")).first() is None
        )


def test_on_behalf_of_is_recorded(engine: Engine) -> None:
    service.enrol_organisation(
        engine, "90000004", "Vier", "T2", actor="client:hr", on_behalf_of="90000004"
    )
    with db.read_session(engine) as session:
        record = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()
    assert record is not None
    assert (record.actor, record.on_behalf_of) == ("client:hr", "90000004")
