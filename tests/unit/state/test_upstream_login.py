"""The upstream-login operations of the StateStore contract, against both stores.

``put_upstream_login``/``take_upstream_login`` keep what an upstream OIDC login needs when the
browser comes back (``idp.authn.oidc_upstream``), under the request's ``state``: taken once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.models import UpstreamLogin
from idp.protocol.ports import StateStore
from tests.unit.state.concurrency import THREADS, run_together

STATE = "tx-1.Xk3Vb9pQ2wLmN8rT5yZa1cD4eF7gH0jK6sU"


def login(tx_id: str = "tx-1") -> UpstreamLogin:
    return UpstreamLogin(
        tx_id=tx_id,
        method="broker",
        nonce="n-0S6_WzA2Mj",
        code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        created_at=1_700_000_000,
    )


def test_round_trip_once(store: StateStore) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    assert store.take_upstream_login(STATE) == login()
    assert store.take_upstream_login(STATE) is None  # a replayed state finds nothing


def test_states_are_independent(store: StateStore) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    store.put_upstream_login("other-state", login("tx-2"), ttl=60)
    assert store.take_upstream_login("other-state") == login("tx-2")
    assert store.take_upstream_login(STATE) == login()
    assert store.take_upstream_login("never-issued") is None


def test_long_hostile_state_is_harmless(store: StateStore) -> None:
    assert store.take_upstream_login("x" * 10_000 + "\u202e") is None


def test_expires(store: StateStore, elapse: Callable[[float], None]) -> None:
    store.put_upstream_login(STATE, login(), ttl=1)
    elapse(1.2)
    assert store.take_upstream_login(STATE) is None


@pytest.mark.parametrize("ttl", [0, -1])
def test_ttl_must_be_positive(store: StateStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_upstream_login(STATE, login(), ttl=ttl)


def test_concurrent_take_has_one_winner(store: StateStore) -> None:
    store.put_upstream_login(STATE, login(), ttl=60)
    results = run_together(lambda: store.take_upstream_login(STATE))
    assert results.count(login()) == 1
    assert results.count(None) == THREADS - 1
