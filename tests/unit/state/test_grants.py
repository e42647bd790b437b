"""The GrantStore contract, against the in-process and the Redis store alike: grants behind
access tokens, revoked for good (RFC 6749 §10.5; RFC 9700 §4.2.4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import GrantStore
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
