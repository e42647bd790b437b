"""Fixed-window counters on Redis (``idp.protocol.ports.Counters``)."""

from __future__ import annotations

from redis.client import Pipeline

from idp.protocol.models import HitCount
from idp.state import _keys
from idp.state.redis._base import RedisBase, seconds


def queue_hit(pipe: Pipeline, full_key: str, window: int) -> None:
    """``INCR``, ``EXPIRE NX`` and ``PTTL``: three replies for :func:`hit_count_of`. Run in a
    MULTI/EXEC: the first hit opens the window, later hits leave its expiry alone, and the key
    never lives without a TTL."""
    pipe.incr(full_key)
    pipe.expire(full_key, window, nx=True)
    pipe.pttl(full_key)


def hit_count_of(count: int, pttl: int, window: int) -> HitCount:
    return HitCount(int(count), seconds(pttl, window))


class RedisCounters(RedisBase):
    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        """``INCR``, ``EXPIRE NX`` and ``PTTL`` in one MULTI/EXEC (:func:`queue_hit`)."""
        _keys.check_ttl(window, "window")
        with self._client.pipeline(transaction=True) as pipe:
            queue_hit(pipe, _keys.hits_key(scope, key), window)
            count, _, pttl = pipe.execute()
        return hit_count_of(count, pttl, window)

    def hit_count(self, scope: str, key: str) -> HitCount:
        full_key = _keys.hits_key(scope, key)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(full_key)
            pipe.pttl(full_key)
            raw, pttl = pipe.execute()
        return HitCount() if raw is None else HitCount(int(raw), seconds(pttl, 1))

    def clear_hits(self, scope: str, key: str) -> None:
        self._client.delete(_keys.hits_key(scope, key))
