"""The StateStore contract, run against the in-process and the Redis store alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from idp.protocol.models import CodeRedemption
from idp.protocol.ports import StateStore
from tests.unit.state import records

CODE = "SplxlOBeZQQYbYS6WxSbIA"


# -- round trips -------------------------------------------------------------------------------


def test_transaction_round_trip(store: StateStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    assert store.get_transaction(tx.tx_id) == tx
    assert store.get_transaction(tx.tx_id) == tx  # a plain get does not consume
    assert store.get_transaction("other") is None


def test_code_round_trip(store: StateStore) -> None:
    record = records.code_record()
    store.store_code(CODE, record, ttl=60, reuse_window=120)
    assert store.redeem_code(CODE) == CodeRedemption(record=record)


def test_grant_round_trip_and_revoke(store: StateStore) -> None:
    grant = records.grant()
    store.put_grant(grant, ttl=60)
    assert store.get_grant(grant.grant_id) == grant
    store.revoke_grant(grant.grant_id)
    assert store.get_grant(grant.grant_id) is None
    store.revoke_grant(grant.grant_id)  # revoking twice is harmless


def test_session_round_trip_and_delete(store: StateStore) -> None:
    session = records.session()
    store.put_session(session, ttl=60)
    assert store.get_session(session.sid) == session
    store.delete_session(session.sid)
    assert store.get_session(session.sid) is None
    store.delete_session(session.sid)


def test_put_overwrites(store: StateStore) -> None:
    store.put_session(records.session(), ttl=60)
    newer = replace(records.session(), last_seen=1_700_000_999, clients=("epd-c",))
    store.put_session(newer, ttl=60)
    assert store.get_session(newer.sid) == newer


def test_ping(store: StateStore) -> None:
    assert store.ping() is True


# -- single use ----------------------------------------------------------------------------------


def test_take_transaction_once(store: StateStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    assert store.take_transaction(tx.tx_id) == tx
    assert store.take_transaction(tx.tx_id) is None
    assert store.get_transaction(tx.tx_id) is None


def test_revocation_before_put_grant_still_wins(store: StateStore) -> None:
    """A code-reuse revocation can race ahead of the first redemption's put_grant (D3)."""
    store.revoke_grant("grant-1")
    store.put_grant(records.grant("grant-1"), ttl=60)
    assert store.get_grant("grant-1") is None


def test_redeem_once_then_reuse_reports_grant(store: StateStore) -> None:
    record = records.code_record(grant_id="grant-42")
    store.store_code(CODE, record, ttl=60, reuse_window=600)
    assert store.redeem_code(CODE) == CodeRedemption(record=record)
    assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-42")
    assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-42")


def test_unknown_code_is_empty(store: StateStore) -> None:
    assert store.redeem_code("never-issued") == CodeRedemption()


def test_codes_are_independent(store: StateStore) -> None:
    store.store_code("code-a", records.code_record("grant-a"), ttl=60, reuse_window=60)
    store.store_code("code-b", records.code_record("grant-b"), ttl=60, reuse_window=60)
    assert store.redeem_code("code-a").record == records.code_record("grant-a")
    assert store.redeem_code("code-b").record == records.code_record("grant-b")
    assert store.redeem_code("code-a").reused_grant_id == "grant-a"


def test_first_use(store: StateStore) -> None:
    assert store.first_use("jti", "abc", ttl=60) is True
    assert store.first_use("jti", "abc", ttl=60) is False
    assert store.first_use("jti", "other", ttl=60) is True
    assert store.first_use("logout", "abc", ttl=60) is True  # namespaces are separate


def test_challenge_is_taken_once(store: StateStore) -> None:
    store.put_challenge("login:tx-1", "c-1", ttl=60)
    store.put_challenge("login:tx-2", "c-2", ttl=60)
    assert store.take_challenge("login:tx-1") == "c-1"
    assert store.take_challenge("login:tx-1") is None
    assert store.take_challenge("login:tx-2") == "c-2"
    assert store.take_challenge("never-put") is None


def test_a_new_challenge_replaces_the_old(store: StateStore) -> None:
    store.put_challenge("register:sid", "old", ttl=60)
    store.put_challenge("register:sid", "new", ttl=60)
    assert store.take_challenge("register:sid") == "new"
    assert store.take_challenge("register:sid") is None


def test_challenge_expires(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.put_challenge("login:tx", "c", ttl=1)
    elapse(1.2)
    assert store.take_challenge("login:tx") is None


def test_challenge_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_challenge("login:tx", "c", ttl=0)
    assert store.take_challenge("login:tx") is None


# -- expiry ----------------------------------------------------------------------------------------
# Few tests, since each costs a real second on Redis.


def test_entries_expire(store: StateStore, elapse: Callable[[float], None]) -> None:
    tx, grant, session = records.transaction(), records.grant(), records.session()
    store.put_transaction(tx, ttl=1)
    store.put_grant(grant, ttl=1)
    store.put_session(session, ttl=1)
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=1)
    assert store.first_use("jti", "abc", ttl=1) is True
    elapse(1.2)
    assert store.get_transaction(tx.tx_id) is None
    assert store.take_transaction(tx.tx_id) is None
    assert store.get_grant(grant.grant_id) is None
    assert store.get_session(session.sid) is None
    assert store.redeem_code(CODE) == CodeRedemption()
    assert store.first_use("jti", "abc", ttl=1) is True


def test_reuse_window_ends(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=1)
    assert store.redeem_code(CODE).record is not None
    elapse(1.2)
    assert store.redeem_code(CODE) == CodeRedemption()


def test_expired_unredeemed_code_is_not_reuse(
    store: StateStore, elapse: Callable[[float], None]
) -> None:
    """A code that simply expired was never redeemed: nothing to revoke, no reuse alarm."""
    store.store_code(CODE, records.code_record(), ttl=1, reuse_window=30)
    elapse(1.2)
    assert store.redeem_code(CODE) == CodeRedemption()


def test_entries_live_until_their_ttl(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.store_code(CODE, records.code_record(), ttl=60, reuse_window=60)
    store.put_grant(records.grant(), ttl=60)
    elapse(0.1)
    assert store.get_grant("grant-1") is not None
    assert store.redeem_code(CODE).record is not None


# -- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1])
def test_ttl_must_be_positive(store: StateStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_transaction(records.transaction(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        store.put_grant(records.grant(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        store.put_session(records.session(), ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        store.first_use("jti", "abc", ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        store.store_code(CODE, records.code_record(), ttl=ttl, reuse_window=60)


def test_reuse_window_must_outlive_code(store: StateStore) -> None:
    with pytest.raises(ValueError, match="reuse_window"):
        store.store_code(CODE, records.code_record(), ttl=60, reuse_window=30)
    with pytest.raises(ValueError, match="reuse_window"):
        store.store_code(CODE, records.code_record(), ttl=60, reuse_window=0)
    assert store.redeem_code(CODE) == CodeRedemption()  # nothing was written


def test_sessions_of_a_person(store: StateStore) -> None:
    base = records.session()
    mine = [replace(base, sid=f"sid-{n}") for n in range(3)]
    other = replace(base, sid="sid-other", dezi_nummer="900000019")
    for session in [*mine, other]:
        store.put_session(session, ttl=60)
    assert sorted(s.sid for s in store.sessions_of(base.dezi_nummer)) == ["sid-0", "sid-1", "sid-2"]
    store.delete_session("sid-1")
    assert sorted(s.sid for s in store.sessions_of(base.dezi_nummer)) == ["sid-0", "sid-2"]
    assert [s.sid for s in store.sessions_of("900000019")] == ["sid-other"]
    assert store.sessions_of("900000051") == []
