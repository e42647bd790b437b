"""The dict and lock under every part of the in-process store.

One lock guards one dict of ``key -> (expires_at, json)``. Expired entries are invisible at once
and removed lazily: on access, and by a full sweep every ``sweep_every`` writes, so memory stays
bounded by what is alive plus at most ``sweep_every`` writes' worth of expired entries. Methods
ending in ``_locked`` and the helpers below them expect the caller to hold the lock; a store
operation that touches several concerns takes the lock once, so it is atomic like a Redis
MULTI/EXEC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from idp.state import _keys


class MemoryBase:
    """Entries, lock and clock shared by the concern mixins of :class:`MemoryStateStore`.

    ``clock`` returns seconds on a monotonic scale (injected by tests to move time).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, sweep_every: int = 1024
    ) -> None:
        if sweep_every < 1:
            raise ValueError(f"sweep_every must be >= 1, got {sweep_every!r}")
        self._clock = clock
        self._sweep_every = sweep_every
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, str]] = {}
        # Each person's session ids and when each expires (``sessions_of``): a plain dict, so a
        # login adds its id in constant time however many sessions the person has.
        self._person_sessions: dict[str, dict[str, float]] = {}
        self._writes = 0

    # -- callers hold the lock -------------------------------------------------------------------

    def _live(self, key: str, now: float) -> tuple[float, str] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self._entries[key]
            return None
        return entry

    def _set(self, key: str, value: str, ttl: int, now: float) -> None:
        self._entries[key] = (now + ttl, value)
        self._writes += 1
        if self._writes % self._sweep_every == 0:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        expired = [key for key, (expires_at, _) in self._entries.items() if expires_at <= now]
        for key in expired:
            del self._entries[key]
        for person in list(self._person_sessions):
            index = self._person_sessions[person]
            for sid in [sid for sid, expires_at in index.items() if expires_at <= now]:
                del index[sid]
            if not index:
                del self._person_sessions[person]

    # -- single-key operations that take the lock themselves ------------------------------------

    def _put(self, key: str, value: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            self._set(key, value, ttl, self._clock())

    def _get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, self._clock())
        return None if entry is None else entry[1]

    def _take(self, key: str) -> str | None:
        """Get and delete under the lock: of several callers, exactly one gets the value."""
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None:
                del self._entries[key]
        return None if entry is None else entry[1]

    def _delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
