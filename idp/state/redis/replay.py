"""Replay caches on Redis (``idp.protocol.ports.ReplayCache``)."""

from __future__ import annotations

from idp.state import _keys
from idp.state.redis._base import RedisBase


class RedisReplayCache(RedisBase):
    def first_use(self, namespace: str, key: str, ttl: int) -> bool:
        """``SET key 1 NX EX ttl``: true for the first caller only, until ``ttl`` has passed."""
        _keys.check_ttl(ttl)
        return bool(self._client.set(_keys.seen_key(namespace, key), "1", nx=True, ex=ttl))
