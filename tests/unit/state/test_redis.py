"""What only the Redis store promises: a TTL on every key, hashed and co-located code keys, a
health check that reports instead of raising."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from idp.protocol.models import CodeRedemption
from idp.protocol.ports import StateStore
from idp.state import RedisStateStore
from tests.unit.state import records
from tests.unit.state.conftest import REDIS_URL, connect_test_redis

CODE = "raw-code-value"


def write_everything(store: StateStore) -> None:
    store.put_transaction(records.transaction("tx-kept"), ttl=60)
    store.put_transaction(records.transaction("tx-taken"), ttl=60)
    store.take_transaction("tx-taken")
    store.store_code(CODE, records.code_record(), ttl=60, reuse_window=120)
    store.redeem_code(CODE)
    store.store_code("other-code", records.code_record("grant-2"), ttl=60, reuse_window=60)
    store.first_use("jti", "abc", ttl=60)
    store.first_use("jti", "abc", ttl=60)
    store.put_grant(records.grant(), ttl=60)
    store.put_session(records.session(), ttl=60)
    store.put_challenge("login:tx-kept", "challenge", ttl=60)


@pytest.mark.redis
def test_every_key_has_a_ttl(redis_client: redis.Redis) -> None:
    write_everything(RedisStateStore(redis_client))
    keys = list(redis_client.scan_iter(match="*"))
    # tx-kept, the redeemed code's marker, other-code + marker, jti, grant, session, and the
    # session's person index, the WebAuthn challenge
    assert len(keys) == 9
    for key in keys:
        assert key.startswith(b"zorg:")
        assert redis_client.ttl(key) > 0, key


@pytest.mark.redis
def test_code_keys_are_hashed_and_share_a_slot(redis_client: redis.Redis) -> None:
    RedisStateStore(redis_client).store_code(CODE, records.code_record(), ttl=60, reuse_window=60)
    keys = sorted(redis_client.scan_iter(match="*"))
    assert all(CODE.encode() not in key for key in keys)
    assert [key.split(b"{")[0] for key in keys] == [b"zorg:code:", b"zorg:codeused:"]
    assert key_slot(keys[0]) == key_slot(keys[1])


@pytest.mark.redis
def test_redeem_survives_script_flush(redis_client: redis.Redis) -> None:
    """After a Redis restart the script cache is empty; the store reloads its script."""
    store = RedisStateStore(redis_client)
    store.store_code(CODE, records.code_record(), ttl=60, reuse_window=60)
    redis_client.script_flush()
    assert store.redeem_code(CODE).record == records.code_record()


@pytest.mark.redis
def test_works_with_decoded_responses(redis_client: redis.Redis) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = RedisStateStore(client)
    try:
        store.store_code(CODE, records.code_record("grant-7"), ttl=60, reuse_window=60)
        assert store.redeem_code(CODE) == CodeRedemption(record=records.code_record("grant-7"))
        assert store.redeem_code(CODE) == CodeRedemption(reused_grant_id="grant-7")
        store.put_session(records.session(), ttl=60)
        assert store.get_session("sid-1") == records.session()
    finally:
        store.close()


@pytest.mark.redis
def test_close_disconnects_the_pool() -> None:
    store = RedisStateStore(connect_test_redis())
    assert store.ping()
    store.close()


def test_ping_is_false_when_unreachable() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once. No retries, so the
    # test does not wait out redis-py's default backoff.
    client = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    store = RedisStateStore(client)
    try:
        assert store.ping() is False
    finally:
        store.close()


def test_satisfies_the_port() -> None:
    client = redis.Redis(host="127.0.0.1", port=1)
    store: StateStore = RedisStateStore(client)
    store.close()


class RoundTrips:
    """Counts what one store call sends to Redis: single commands and executed pipelines."""

    def __init__(self, client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = client.execute_command
        execute = redis.client.Pipeline.execute

        def counted_command(*args: Any, **options: Any) -> Any:
            self.count += 1
            return send(*args, **options)

        def counted_execute(pipe: redis.client.Pipeline, raise_on_error: bool = True) -> Any:
            self.count += 1
            return execute(pipe, raise_on_error)

        monkeypatch.setattr(client, "execute_command", counted_command)
        monkeypatch.setattr(redis.client.Pipeline, "execute", counted_execute)

    def of(self, call: Callable[[], object]) -> int:
        before = self.count
        call()
        return self.count - before


@pytest.mark.redis
def test_hot_path_operations_take_one_round_trip(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ARCHITECTURE.md "The hot path": one state-store round trip per HTTP step at most."""
    store = RedisStateStore(redis_client)
    store.put_transaction(records.transaction(), ttl=60)
    store.put_grant(records.grant(), ttl=60)
    store.put_session(records.session("sid-old"), ttl=60)
    trips = RoundTrips(redis_client, monkeypatch)
    marks = ["decl:decl-1", "prof:900000009", "org:90000001"]
    assert trips.of(lambda: store.mark_revoked(marks, ttl=60)) == 1
    assert trips.of(lambda: store.any_revoked(marks)) == 1

    def login() -> None:
        store.save_login(
            records.session(),
            60,
            code=CODE,
            code_record=records.code_record(),
            code_ttl=60,
            reuse_window=60,
            end_session="sid-old",
        )

    assert trips.of(login) == 1
    # Empty sequences need no round trip at all.
    assert trips.of(lambda: store.any_revoked([])) == 0
    assert trips.of(lambda: store.mark_revoked([], ttl=60)) == 0


@pytest.mark.redis
def test_hot_path_writes_set_a_ttl_on_every_key(redis_client: redis.Redis) -> None:
    store = RedisStateStore(redis_client)
    store.mark_revoked(["decl:decl-1", "org:90000001"], ttl=60)
    store.save_login(
        records.session(),
        60,
        code=CODE,
        code_record=records.code_record(),
        code_ttl=60,
        reuse_window=60,
    )
    keys = list(redis_client.scan_iter(match="*"))
    # two marks, code + marker, session + person index
    assert len(keys) == 6
    for key in keys:
        assert redis_client.ttl(key) > 0, key
