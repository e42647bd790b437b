"""SSO sessions and each person's session index in the in-process store
(``idp.protocol.ports.SessionStore``)."""

from __future__ import annotations

from idp.protocol.models import CodeRecord, SsoSession
from idp.state import _keys
from idp.state.memory._base import MemoryBase
from idp.state.memory.codes import store_code_locked

# An index is pruned of expired ids when it grows past this many (amortised constant time).
PRUNE_AT = 32


def _put_session_locked(store: MemoryBase, session: SsoSession, ttl: int, now: float) -> None:
    """The session, and its id in the person's index. The caller holds the lock."""
    store._set(_keys.session_key(session.sid), session.to_json(), ttl, now)
    index = store._person_sessions.setdefault(session.dezi_nummer, {})
    index[session.sid] = now + ttl
    if len(index) >= PRUNE_AT and len(index) % PRUNE_AT == 0:
        for sid in [sid for sid, expires in index.items() if expires <= now]:
            del index[sid]


class MemorySessions(MemoryBase):
    def put_session(self, session: SsoSession, ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            _put_session_locked(self, session, ttl, self._clock())

    def get_session(self, sid: str) -> SsoSession | None:
        raw = self._get(_keys.session_key(sid))
        return None if raw is None else SsoSession.from_json(raw)

    def delete_session(self, sid: str) -> None:
        # The person index keeps the id until sessions_of prunes it, as on Redis.
        self._delete(_keys.session_key(sid))

    def sessions_of(self, dezi_nummer: str) -> list[SsoSession]:
        with self._lock:
            now = self._clock()
            index = self._person_sessions.get(dezi_nummer)
            if not index:
                return []
            found = []
            for sid in sorted(index):
                entry = self._live(_keys.session_key(sid), now)
                if entry is None:
                    del index[sid]  # ended or expired: pruned, as Redis does
                else:
                    found.append(SsoSession.from_json(entry[1]))
            if not index:
                del self._person_sessions[dezi_nummer]
        return found

    def save_login(
        self,
        session: SsoSession,
        ttl: int,
        *,
        code: str | None = None,
        code_record: CodeRecord | None = None,
        code_ttl: int = 0,
        reuse_window: int = 0,
        end_session: str | None = None,
    ) -> None:
        """The three writes under one hold of the lock, in the order of the separate calls."""
        _keys.check_login(ttl, code, code_record, code_ttl, reuse_window)
        with self._lock:
            now = self._clock()
            if end_session is not None:
                self._entries.pop(_keys.session_key(end_session), None)
            if code is not None and code_record is not None:
                store_code_locked(self, code, code_record, code_ttl, reuse_window, now)
            _put_session_locked(self, session, ttl, now)
