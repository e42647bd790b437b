"""Authorization codes in the in-process store (``idp.protocol.ports.CodeStore``).

The record lives under the code's SHA-256, never the code itself; a reuse marker outlives it so
that a second redemption can revoke what the first issued (RFC 6749 §4.1.2; RFC 9700 §4.2.4).
"""

from __future__ import annotations

from idp.protocol.models import CodeRecord, CodeRedemption
from idp.state import _keys
from idp.state.memory._base import MemoryBase


def store_code_locked(
    store: MemoryBase, code: str, record: CodeRecord, ttl: int, reuse_window: int, now: float
) -> None:
    """The record and its ``pending`` reuse marker; the caller checked the TTLs and holds the
    lock."""
    digest = _keys.code_digest(code)
    store._set(_keys.code_key(digest), record.to_json(), ttl, now)
    marker = _keys.MARKER_PENDING + record.grant_id
    store._set(_keys.code_used_key(digest), marker, reuse_window, now)


class MemoryCodes(MemoryBase):
    def store_code(self, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
        """Keep the record under the code's SHA-256 and a reuse marker for ``reuse_window``."""
        _keys.check_code_ttls(ttl, reuse_window)
        with self._lock:
            store_code_locked(self, code, record, ttl, reuse_window, self._clock())

    def redeem_code(self, code: str) -> CodeRedemption:
        """Single use, atomically under the lock (RFC 6749 §4.1.2: a code MUST NOT be used more
        than once). A later attempt within the reuse window reports the grant id so the caller
        can revoke what the first redemption issued (RFC 6749 §4.1.2; RFC 9700 §4.2.4)."""
        digest = _keys.code_digest(code)
        record_key, used_key = _keys.code_key(digest), _keys.code_used_key(digest)
        with self._lock:
            now = self._clock()
            record = self._live(record_key, now)
            marker = self._live(used_key, now)
            if record is not None:
                del self._entries[record_key]
                if marker is not None:
                    grant_id = marker[1].removeprefix(_keys.MARKER_PENDING)
                    self._entries[used_key] = (marker[0], _keys.MARKER_REDEEMED + grant_id)
        if record is not None:
            return CodeRedemption(record=CodeRecord.from_json(record[1]))
        if marker is not None and marker[1].startswith(_keys.MARKER_REDEEMED):
            return CodeRedemption(reused_grant_id=marker[1].removeprefix(_keys.MARKER_REDEEMED))
        return CodeRedemption()
