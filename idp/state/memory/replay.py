"""Replay caches in the in-process store (``idp.protocol.ports.ReplayCache``)."""

from __future__ import annotations

from idp.state import _keys
from idp.state.memory._base import MemoryBase


class MemoryReplayCache(MemoryBase):
    def first_use(self, namespace: str, key: str, ttl: int) -> bool:
        """SET NX: true for the first caller only, until ``ttl`` has passed."""
        _keys.check_ttl(ttl)
        full_key = _keys.seen_key(namespace, key)
        with self._lock:
            now = self._clock()
            if self._live(full_key, now) is not None:
                return False
            self._set(full_key, "1", ttl, now)
            return True
