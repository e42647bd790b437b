"""Revocation marks in the in-process store (``idp.protocol.ports.RevocationMarks``)."""

from __future__ import annotations

from collections.abc import Sequence

from idp.state import _keys
from idp.state.memory._base import MemoryBase


def any_revoked_locked(store: MemoryBase, keys: Sequence[str], now: float) -> bool:
    """The caller holds the lock."""
    return any(store._live(_keys.revocation_mark_key(key), now) is not None for key in keys)


class MemoryRevocationMarks(MemoryBase):
    def mark_revoked(self, keys: Sequence[str], ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            now = self._clock()
            for key in keys:
                self._set(_keys.revocation_mark_key(key), "1", ttl, now)

    def any_revoked(self, keys: Sequence[str]) -> bool:
        with self._lock:
            return any_revoked_locked(self, keys, self._clock())
