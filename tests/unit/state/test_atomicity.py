"""Single use under concurrency, against both stores (security checklist D3: 20 parallel
redemptions of one code give exactly one record)."""

from __future__ import annotations

from idp.protocol.models import CodeRedemption
from idp.protocol.ports import StateStore
from tests.unit.state import records
from tests.unit.state.concurrency import THREADS, run_together


def test_concurrent_redemption_has_one_winner(store: StateStore) -> None:
    record = records.code_record(grant_id="grant-race")
    store.store_code("race-code", record, ttl=60, reuse_window=120)
    results = run_together(lambda: store.redeem_code("race-code"))
    assert results.count(CodeRedemption(record=record)) == 1
    assert results.count(CodeRedemption(reused_grant_id="grant-race")) == THREADS - 1


def test_concurrent_take_transaction_has_one_winner(store: StateStore) -> None:
    tx = records.transaction("tx-race")
    store.put_transaction(tx, ttl=60)
    results = run_together(lambda: store.take_transaction("tx-race"))
    assert results.count(tx) == 1
    assert results.count(None) == THREADS - 1


def test_take_transaction_twice_one_wins(store: StateStore) -> None:
    tx = records.transaction("tx-two")
    store.put_transaction(tx, ttl=60)
    results = run_together(lambda: store.take_transaction("tx-two"), threads=2)
    assert sorted(results, key=lambda r: r is None) == [tx, None]


def test_concurrent_first_use_has_one_winner(store: StateStore) -> None:
    results = run_together(lambda: store.first_use("jti", "assertion-1", ttl=60))
    assert results.count(True) == 1
    assert results.count(False) == THREADS - 1
