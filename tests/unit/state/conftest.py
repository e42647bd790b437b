"""Fixtures for the state-store contract: one ``store`` fixture over both implementations.

The Redis variant talks to the real server on 127.0.0.1:6379, database 13 (ours alone), flushed
before and after each test. It fails, not skips, when Redis is down: CI starts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis

from idp.protocol.ports import StateStore
from idp.state import MemoryStateStore, RedisStateStore

REDIS_URL = "redis://127.0.0.1:6379/13"
REDIS_DB = 13


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def connect_test_redis(db: int = REDIS_DB) -> redis.Redis:
    url = f"redis://127.0.0.1:6379/{db}"
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    # Flushing is only ever safe on our own database.
    assert client.connection_pool.connection_kwargs["db"] == db
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.fail(f"Redis is not reachable at {url} ({exc}); start redis-server first")
    return client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_client(request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    # A test module may name a database of its own (``REDIS_DB = 11``) to run beside this one.
    client = connect_test_redis(getattr(request.module, "REDIS_DB", REDIS_DB))
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()
        client.connection_pool.disconnect()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store(backend: str, clock: FakeClock, request: pytest.FixtureRequest) -> Iterator[StateStore]:
    built: StateStore
    if backend == "memory":
        built = MemoryStateStore(clock=clock)
    else:
        built = RedisStateStore(request.getfixturevalue("redis_client"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def elapse(backend: str, clock: FakeClock) -> Callable[[float], None]:
    """Let ``seconds`` pass for the store: the fake clock for memory, real time for Redis."""
    return clock.advance if backend == "memory" else time.sleep
