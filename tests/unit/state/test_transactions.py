"""The TransactionStore contract, against the in-process and the Redis store alike: login
transactions (an authorization request waiting for its login), kept and taken once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.ports import TransactionStore
from tests.unit.state import records
from tests.unit.state.concurrency import THREADS, run_together

# -- round trip and single use ---------------------------------------------------------------------


def test_transaction_round_trip(store: TransactionStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    assert store.get_transaction(tx.tx_id) == tx
    assert store.get_transaction(tx.tx_id) == tx  # a plain get does not consume
    assert store.get_transaction("other") is None


def test_take_transaction_once(store: TransactionStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    assert store.take_transaction(tx.tx_id) == tx
    assert store.take_transaction(tx.tx_id) is None
    assert store.get_transaction(tx.tx_id) is None


def test_concurrent_take_transaction_has_one_winner(store: TransactionStore) -> None:
    tx = records.transaction("tx-race")
    store.put_transaction(tx, ttl=60)
    results = run_together(lambda: store.take_transaction("tx-race"))
    assert results.count(tx) == 1
    assert results.count(None) == THREADS - 1


def test_take_transaction_twice_one_wins(store: TransactionStore) -> None:
    tx = records.transaction("tx-two")
    store.put_transaction(tx, ttl=60)
    results = run_together(lambda: store.take_transaction("tx-two"), threads=2)
    assert sorted(results, key=lambda r: r is None) == [tx, None]


def test_transaction_expires(store: TransactionStore, elapse: Callable[[float], None]) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=1)
    elapse(1.2)
    assert store.get_transaction(tx.tx_id) is None
    assert store.take_transaction(tx.tx_id) is None


@pytest.mark.parametrize("ttl", [0, -1])
def test_transaction_ttl_must_be_positive(store: TransactionStore, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put_transaction(records.transaction(), ttl=ttl)
