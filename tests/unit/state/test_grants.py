"""The GrantStore contract, against the in-process and the Redis store alike: grants behind
access tokens, revoked for good (RFC 6749 §10.5; RFC 9700 §4.2.4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import GrantStore, StateStore
from tests.unit.state import records

MARKS = ["decl:decl-1", f"prof:{records.DEZI_NUMMER}", "org:90000001"]


# -- round trip and revocation ---------------------------------------------------------------------


def test_grant_round_trip_and_revoke(store: GrantStore) -> None:
    grant = records.grant()
    store.put_grant(grant, ttl=60)
    assert store.get_grant(grant.grant_id) == grant
    store.revoke_grant(grant.grant_id)
    assert store.get_grant(grant.grant_id) is None
    store.revoke_grant(grant.grant_id)  # revoking twice is harmless


def test_revocation_before_put_grant_still_wins(store: GrantStore) -> None:
    """A code-reuse revocation can race ahead of the first redemption's put_grant (D3)."""
    store.revoke_grant("grant-1")
    store.put_grant(records.grant("grant-1"), ttl=60)
    assert store.get_grant("grant-1") is None


def test_grant_expires(store: GrantStore, elapse: Callable[[float], None]) -> None:
    store.put_grant(records.grant(), ttl=1)
    elapse(1.2)
    assert store.get_grant("grant-1") is None


def test_grant_lives_until_its_ttl(store: GrantStore, elapse: Callable[[float], None]) -> None:
    store.put_grant(records.grant(), ttl=60)
    elapse(0.1)
    assert store.get_grant("grant-1") is not None


@pytest.mark.parametrize("ttl", [0, -1])
def test_grant_ttl_must_be_positive(store: GrantStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_grant(records.grant(), ttl=ttl)


# -- get_live_grant: the grant and the revocation marks it rests on, in one round trip ------------


def test_live_grant_without_marks(store: StateStore) -> None:
    store.put_grant(records.grant(), ttl=60)
    assert store.get_live_grant("grant-1", MARKS) == records.grant()
    assert store.get_live_grant("grant-1", []) == records.grant()


def test_live_grant_is_none_when_any_key_is_marked(store: StateStore) -> None:
    store.put_grant(records.grant(), ttl=60)
    for mark in MARKS:
        store.mark_revoked([mark], ttl=60)
        assert store.get_live_grant("grant-1", MARKS) is None, mark
        assert store.get_live_grant("grant-1", [mark]) is None, mark
        store.clear_revoked([mark])
        assert store.get_live_grant("grant-1", MARKS) == records.grant(), mark


def test_marks_of_other_records_do_not_matter(store: StateStore) -> None:
    store.put_grant(records.grant(), ttl=60)
    store.mark_revoked(["decl:decl-2", "org:90000002"], ttl=60)
    assert store.get_live_grant("grant-1", MARKS) == records.grant()
    assert store.get_live_grant("grant-1", []) == records.grant()


def test_live_grant_is_none_when_gone_or_revoked(store: StateStore) -> None:
    assert store.get_live_grant("never-put", MARKS) is None
    assert store.get_live_grant("never-put", []) is None
    store.put_grant(records.grant(), ttl=60)
    store.revoke_grant("grant-1")
    assert store.get_live_grant("grant-1", []) is None
    assert store.get_live_grant("grant-1", MARKS) is None


def test_revocation_before_put_grant_wins_for_live_grant_too(store: StateStore) -> None:
    store.revoke_grant("grant-1")
    store.put_grant(records.grant(), ttl=60)
    assert store.get_live_grant("grant-1", MARKS) is None


def test_live_grant_does_not_change_the_grant(store: StateStore) -> None:
    store.put_grant(records.grant(), ttl=60)
    store.mark_revoked([MARKS[0]], ttl=60)
    assert store.get_live_grant("grant-1", MARKS) is None
    # The grant itself stays: a lifted suspension makes it usable again.
    assert store.get_grant("grant-1") == records.grant()
