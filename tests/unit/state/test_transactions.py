"""The TransactionStore contract, against the in-process and the Redis store alike: login
transactions (an authorization request waiting for its login), kept and taken once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.protocol.models import HitCount
from idp.protocol.ports import StateStore, TransactionStore
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


# -- get_transaction_and_count: a login step reads its transaction and counts the attempt -------


def test_get_and_count(store: StateStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    assert store.get_transaction_and_count(tx.tx_id, "login", "k", 60) == (tx, HitCount(1, 60))
    got, hits = store.get_transaction_and_count(tx.tx_id, "login", "k", 60)
    assert got == tx and hits.count == 2 and 59 <= hits.resets_in <= 60
    assert store.get_transaction(tx.tx_id) == tx  # the transaction is not consumed


def test_get_and_count_counts_an_unknown_transaction(store: StateStore) -> None:
    assert store.get_transaction_and_count("unknown", "login", "k", 60) == (None, HitCount(1, 60))
    assert store.get_transaction_and_count("unknown", "login", "k", 60)[1].count == 2


def test_get_and_count_shares_the_counter_with_count_hit(store: StateStore) -> None:
    store.count_hit("login", "k", window=60)
    assert store.get_transaction_and_count("tx-1", "login", "k", 60)[1].count == 2
    assert store.hit_count("login", "k").count == 2
    assert store.count_hit("login", "k", window=60).count == 3
    assert store.get_transaction_and_count("tx-1", "login", "other", 60)[1].count == 1
    assert store.get_transaction_and_count("tx-1", "token", "k", 60)[1].count == 1


@pytest.mark.parametrize("window", [0, -1, True, 1.5])
def test_get_and_count_window_must_be_whole_seconds(store: StateStore, window: object) -> None:
    with pytest.raises(ValueError, match="window"):
        store.get_transaction_and_count("tx-1", "login", "k", window)  # type: ignore[arg-type]
    assert store.hit_count("login", "k") == HitCount()


def test_concurrent_get_and_count_counts_every_hit(store: StateStore) -> None:
    tx = records.transaction()
    store.put_transaction(tx, ttl=60)
    results = run_together(lambda: store.get_transaction_and_count(tx.tx_id, "login", "r", 60))
    assert all(got == tx for got, _ in results)
    assert sorted(hits.count for _, hits in results) == list(range(1, THREADS + 1))
