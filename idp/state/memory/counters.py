"""Fixed-window counters in the in-process store (``idp.protocol.ports.Counters``)."""

from __future__ import annotations

import math

from idp.protocol.models import HitCount
from idp.state import _keys
from idp.state.memory._base import MemoryBase


def count_hit_locked(store: MemoryBase, full_key: str, window: int, now: float) -> HitCount:
    """INCR with the expiry set by the first hit only (fixed window); the caller holds the
    lock."""
    entry = store._live(full_key, now)
    if entry is None:
        store._set(full_key, "1", window, now)
        return HitCount(1, window)
    count = int(entry[1]) + 1
    store._entries[full_key] = (entry[0], str(count))
    return HitCount(count, math.ceil(entry[0] - now))


class MemoryCounters(MemoryBase):
    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        """Counted under the lock: no hit is lost to a concurrent one."""
        _keys.check_ttl(window, "window")
        with self._lock:
            return count_hit_locked(self, _keys.hits_key(scope, key), window, self._clock())

    def hit_count(self, scope: str, key: str) -> HitCount:
        with self._lock:
            now = self._clock()
            entry = self._live(_keys.hits_key(scope, key), now)
        return HitCount() if entry is None else HitCount(int(entry[1]), math.ceil(entry[0] - now))

    def clear_hits(self, scope: str, key: str) -> None:
        self._delete(_keys.hits_key(scope, key))
