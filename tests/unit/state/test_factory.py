"""``create_state_store``: one URL from the settings picks and builds the store."""

from __future__ import annotations

import pytest
import redis

from idp.state import MemoryStateStore, RedisStateStore, create_state_store
from tests.unit.state.conftest import REDIS_URL


def test_memory_url() -> None:
    store = create_state_store("memory://")
    assert isinstance(store, MemoryStateStore)
    assert store.ping()


def test_redis_url_builds_a_client_with_timeouts() -> None:
    store = create_state_store("redis://127.0.0.1:6379/13")
    assert isinstance(store, RedisStateStore)
    try:
        kwargs = store._client.connection_pool.connection_kwargs
        assert kwargs["host"] == "127.0.0.1"
        assert kwargs["port"] == 6379
        assert kwargs["db"] == 13
        assert kwargs["socket_timeout"] == 2
        assert kwargs["socket_connect_timeout"] == 2
        assert kwargs["health_check_interval"] == 30
    finally:
        store.close()


@pytest.mark.redis
def test_redis_url_reaches_the_server(redis_client: redis.Redis) -> None:
    store = create_state_store(REDIS_URL)
    try:
        assert store.ping() is True
        assert store.first_use("jti", "factory", ttl=5) is True
    finally:
        store.close()


def test_rediss_url_uses_tls() -> None:
    # Building the client does not connect, so no TLS server is needed here.
    store = create_state_store("rediss://redis.example:6380/0")
    assert isinstance(store, RedisStateStore)
    try:
        pool = store._client.connection_pool
        assert pool.connection_class is redis.SSLConnection
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://db/idp", "unsupported state store URL"),
        ("unix:///run/redis.sock", "unsupported state store URL"),
        ("127.0.0.1:6379", "unsupported state store URL"),
        ("", "without a scheme"),
        ("memory://somewhere", "exactly 'memory://'"),
        ("redis://", "needs a host"),
        ("redis://127.0.0.1:6379/zero", "db number"),
        ("redis://127.0.0.1:port/0", "Port"),
        ("redis://[::1", "not a valid URL"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_state_store(url)


def test_error_does_not_echo_a_password() -> None:
    with pytest.raises(ValueError) as caught:
        create_state_store("sentinel://user:s3cret@host:26379/0")
    assert "s3cret" not in str(caught.value)
