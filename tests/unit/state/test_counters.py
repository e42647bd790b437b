"""The Counters contract (``count_hit``, ``hit_count``, ``clear_hits``): fixed-window counters
against the in-process store and the real Redis, for ``idp.protocol.throttle`` (checklist J7;
CK4: expiries are the store's TTLs, never computed by the app).

The Redis variant uses database 13 like the other state tests: database 11 belongs to
tests/web/test_throttling.py, and flushing it here broke that module when both ran at once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis

from idp.protocol.models import HitCount
from idp.protocol.ports import Counters
from idp.state import RedisStateStore
from tests.unit.state.concurrency import run_together

REDIS_DB = 13
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def test_count_hit_counts_up_within_one_window(store: Counters) -> None:
    assert store.count_hit("login", "k", window=60) == HitCount(1, 60)
    second = store.count_hit("login", "k", window=60)
    assert second.count == 2 and 59 <= second.resets_in <= 60
    assert store.count_hit("login", "k", window=60).count == 3


def test_hit_count_reads_without_counting(store: Counters) -> None:
    assert store.hit_count("login", "k") == HitCount()
    store.count_hit("login", "k", window=60)
    seen = store.hit_count("login", "k")
    assert seen.count == 1 and 59 <= seen.resets_in <= 60
    assert store.hit_count("login", "k").count == 1


def test_scopes_and_keys_are_independent(store: Counters) -> None:
    store.count_hit("login", "a", window=60)
    store.count_hit("login", "a", window=60)
    assert store.count_hit("login", "b", window=60).count == 1
    assert store.count_hit("token", "a", window=60).count == 1
    assert store.hit_count("login", "a").count == 2


def test_clear_hits(store: Counters) -> None:
    store.count_hit("login", "k", window=60)
    store.count_hit("login", "other", window=60)
    store.clear_hits("login", "k")
    assert store.hit_count("login", "k") == HitCount()
    assert store.hit_count("login", "other").count == 1
    store.clear_hits("login", "k")  # clearing nothing is harmless
    assert store.count_hit("login", "k", window=60).count == 1


def test_window_is_fixed_and_ends(store: Counters, elapse: Callable[[float], None]) -> None:
    """The first hit opens the window; later hits do not extend it; then it starts over."""
    store.count_hit("login", "k", window=2)
    elapse(1.1)
    later = store.count_hit("login", "k", window=2)
    assert later.count == 2 and later.resets_in == 1
    elapse(1.0)
    assert store.hit_count("login", "k") == HitCount()
    assert store.count_hit("login", "k", window=2) == HitCount(1, 2)


@pytest.mark.parametrize("window", [0, -1, True, 1.5])
def test_window_must_be_whole_seconds(store: Counters, window: object) -> None:
    with pytest.raises(ValueError, match="window"):
        store.count_hit("login", "k", window=window)  # type: ignore[arg-type]


def test_concurrent_hits_are_all_counted(store: Counters) -> None:
    """Atomic increments: 20 parallel hits see 20 distinct counts (no lost update)."""
    counts = run_together(lambda: store.count_hit("login", "race", window=60).count)
    assert sorted(counts) == list(range(1, 21))
    assert store.hit_count("login", "race").count == 20


@pytest.mark.redis
def test_redis_hit_keys_are_hashed_and_expire(redis_client: redis.Redis) -> None:
    assert redis_client.connection_pool.connection_kwargs["db"] == REDIS_DB
    store = RedisStateStore(redis_client)
    store.count_hit("login-account:dev", "900000027", window=60)
    store.count_hit("login-address", "192.0.2.7", window=900)
    keys = [key.decode() if isinstance(key, bytes) else key for key in redis_client.keys("*")]
    assert len(keys) == 2
    for key in keys:
        assert key.startswith("zorg:hits:")
        assert "900000027" not in key and "192.0.2.7" not in key
        assert redis_client.ttl(key) > 0, key


@pytest.mark.redis
def test_redis_gives_a_key_without_ttl_one(redis_client: redis.Redis) -> None:
    """EXPIRE NX: even a counter that somehow lost its TTL gets one at the next hit."""
    store = RedisStateStore(redis_client)
    store.count_hit("login", "k", window=60)
    (key,) = redis_client.keys("*")
    redis_client.persist(key)
    assert store.count_hit("login", "k", window=60).count == 2
    assert 0 < redis_client.ttl(key) <= 60


@pytest.mark.redis
def test_redis_counts_with_decoded_responses(redis_client: redis.Redis) -> None:
    decoded = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        store = RedisStateStore(decoded)
        assert store.count_hit("login", "k", window=60) == HitCount(1, 60)
        assert store.hit_count("login", "k").count == 1
    finally:
        decoded.close()
