"""What only the in-process store promises: bounded memory through the periodic sweep."""

from __future__ import annotations

import pytest

from idp.protocol.ports import StateStore
from idp.state import MemoryStateStore
from tests.unit.state import records
from tests.unit.state.conftest import FakeClock


def test_satisfies_the_port() -> None:
    store: StateStore = MemoryStateStore()
    assert store.ping()


def test_expired_entries_are_swept_every_n_writes() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock=clock, sweep_every=10)
    for n in range(9):
        store.first_use("jti", f"k{n}", ttl=1)
    clock.advance(2)
    # Nothing read them, so they are still held until the tenth write sweeps.
    assert len(store._entries) == 9
    store.first_use("jti", "k-live", ttl=60)
    assert len(store._entries) == 1


def test_expired_entry_is_dropped_on_read() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock=clock)
    store.put_grant(records.grant(), ttl=1)
    clock.advance(1)  # expiry is inclusive: at exactly ttl seconds the entry is gone
    assert store.get_grant("grant-1") is None
    assert store._entries == {}


def test_raw_code_is_never_a_key() -> None:
    store = MemoryStateStore()
    store.store_code("raw-code-value", records.code_record(), ttl=60, reuse_window=60)
    assert all("raw-code-value" not in key for key in store._entries)


def test_sweep_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="sweep_every"):
        MemoryStateStore(sweep_every=0)


def test_close_keeps_entries_for_a_restarted_lifespan() -> None:
    store = MemoryStateStore()
    store.put_session(records.session(), ttl=60)
    store.close()
    assert store.get_session("sid-1") == records.session()
