"""Passkeys in the register: audited binding and revocation, the counter's compare and set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry import audit, db
from registry.errors import Conflict, InvalidIdentifier, NotFound
from registry.models import AuditRecord, PasskeyCredential
from registry.passkeys import SqlPasskeys, add_passkey, revoke_passkey

from .factories import audit_actions, count, make_professional

CARER = "900000027"
OTHER = "900000019"
AAGUID = "01234567-89ab-cdef-0123-456789abcdef"
HANDLE = "h" * 43


def values(credential_id: str = "c" * 43, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "credential_id": credential_id,
        "public_key": b"\xa5\x01\x02",
        "sign_count": 0,
        "user_handle": HANDLE,
        "name": "My phone",
        "aaguid": AAGUID,
        "backup_eligible": True,
    }
    base.update(overrides)
    return base


@pytest.fixture
def passkeys(engine: Engine) -> SqlPasskeys:
    make_professional(engine, CARER)
    make_professional(engine, OTHER, achternaam="Bakker")
    return SqlPasskeys(engine, source="test")


def last_audit(engine: Engine) -> AuditRecord:
    with db.read_session(engine) as session:
        return session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc())).first()  # type: ignore[return-value]


def test_add_is_audited_in_the_same_transaction(engine: Engine, passkeys: SqlPasskeys) -> None:
    stored = passkeys.add_passkey(CARER, **values())
    assert stored is not None
    assert (stored.dezi_nummer, stored.name, stored.sign_count) == (CARER, "My phone", 0)
    assert stored.public_key == b"\xa5\x01\x02" and stored.backup_eligible is True
    assert stored.revoked_at is None and stored.last_used_at is None
    record = last_audit(engine)
    assert (record.action, record.actor, record.object_id, record.source) == (
        "passkey.register",
        f"dezi:{CARER}",
        CARER,
        "test",
    )
    assert record.detail == {
        "passkey_id": stored.passkey_id,
        "aaguid": AAGUID,
        "backup_eligible": True,
    }
    assert passkeys.passkey(stored.credential_id) == stored
    with db.read_session(engine) as session:
        assert audit.verify(session) is None


def test_a_credential_id_is_bound_once_for_anyone(engine: Engine, passkeys: SqlPasskeys) -> None:
    assert passkeys.add_passkey(CARER, **values()) is not None
    assert passkeys.add_passkey(CARER, **values()) is None
    assert passkeys.add_passkey(OTHER, **values()) is None
    with pytest.raises(Conflict):
        add_passkey(engine, OTHER, actor="test", **values())
    assert count(engine, PasskeyCredential) == 1
    assert audit_actions(engine).count("passkey.register") == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"credential_id": "short"}, "credential_id"),
        ({"credential_id": "c" * 40 + "+/="}, "credential_id"),
        ({"user_handle": "not base64url!" * 3}, "user_handle"),
        ({"aaguid": "nope"}, "aaguid"),
        ({"public_key": b""}, "public_key"),
        ({"name": "   "}, "name"),
        ({"sign_count": -1}, "sign_count"),
        ({"sign_count": 2**32}, "sign_count"),
    ],
)
def test_add_validates(
    engine: Engine, passkeys: SqlPasskeys, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        add_passkey(engine, CARER, actor="test", **values(**overrides))
    assert caught.value.field == field
    assert count(engine, PasskeyCredential) == 0


def test_add_for_an_unknown_professional(engine: Engine, passkeys: SqlPasskeys) -> None:
    with pytest.raises(NotFound):
        add_passkey(engine, "900000035", actor="test", **values())


def test_list_is_hers_only_oldest_first(passkeys: SqlPasskeys) -> None:
    first = passkeys.add_passkey(CARER, **values("a" * 43))
    second = passkeys.add_passkey(CARER, **values("b" * 43))
    passkeys.add_passkey(OTHER, **values("d" * 43))
    assert [p.passkey_id for p in passkeys.passkeys_of(CARER)] == [
        first.passkey_id if first else None,
        second.passkey_id if second else None,
    ]
    assert passkeys.passkeys_of("900000035") == []
    assert passkeys.passkey("unknown-credential-id") is None
    assert passkeys.passkey("bad id") is None


def test_revoke_is_hers_audited_and_once(engine: Engine, passkeys: SqlPasskeys) -> None:
    stored = passkeys.add_passkey(CARER, **values())
    assert stored is not None
    assert passkeys.revoke_passkey(OTHER, stored.passkey_id) is False  # not hers
    assert passkeys.revoke_passkey(CARER, stored.passkey_id) is True
    assert passkeys.revoke_passkey(CARER, stored.passkey_id) is False
    assert revoke_passkey(engine, CARER, "no-such-id", actor="test") is False
    assert audit_actions(engine).count("passkey.revoke") == 1
    revoked = passkeys.passkey(stored.credential_id)
    assert revoked is not None and revoked.revoked_at is not None
    assert count(engine, PasskeyCredential) == 1  # nothing is deleted


def test_record_use_is_a_compare_and_set(passkeys: SqlPasskeys) -> None:
    stored = passkeys.add_passkey(CARER, **values())
    assert stored is not None
    at = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert passkeys.record_use(stored.credential_id, 1, at) is True
    assert passkeys.record_use(stored.credential_id, 1, at) is False  # not greater
    assert passkeys.record_use(stored.credential_id, 0, at) is False  # went back to 0
    assert passkeys.record_use(stored.credential_id, 7, at) is True
    used = passkeys.passkey(stored.credential_id)
    assert used is not None and used.sign_count == 7 and used.last_used_at == at
    assert passkeys.record_use("unknown-credential-id", 9, at) is False
    passkeys.revoke_passkey(CARER, stored.passkey_id)
    assert passkeys.record_use(stored.credential_id, 8, at) is False


def test_record_use_without_a_counter(passkeys: SqlPasskeys) -> None:
    stored = passkeys.add_passkey(CARER, **values())
    assert stored is not None
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert passkeys.record_use(stored.credential_id, 0, at) is True
    assert passkeys.record_use(stored.credential_id, 0, at) is True


def test_a_counter_regression_is_audited(engine: Engine, passkeys: SqlPasskeys) -> None:
    stored = passkeys.add_passkey(CARER, **values(sign_count=5))
    assert stored is not None
    passkeys.record_sign_count_regression(stored.credential_id, 3)
    record = last_audit(engine)
    assert (record.action, record.outcome, record.object_id) == (
        "passkey.sign_count_regression",
        "refused",
        CARER,
    )
    assert record.detail == {"passkey_id": stored.passkey_id, "stored": 5, "presented": 3}
    before = len(audit_actions(engine))
    passkeys.record_sign_count_regression("unknown-credential-id", 3)
    assert len(audit_actions(engine)) == before
