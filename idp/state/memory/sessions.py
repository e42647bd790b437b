"""SSO sessions and each person's session index in the in-process store
(``idp.protocol.ports.SessionStore``)."""

from __future__ import annotations

import json

from idp.protocol.models import CodeRecord, SsoSession
from idp.state import _keys
from idp.state.memory._base import MemoryBase
from idp.state.memory.codes import store_code_locked


def _put_session_locked(store: MemoryBase, session: SsoSession, ttl: int, now: float) -> None:
    """The session, and its id in the person's index, which lives as long as the longest of
    the person's sessions. The caller holds the lock."""
    index = _keys.person_sessions_key(session.dezi_nummer)
    store._set(_keys.session_key(session.sid), session.to_json(), ttl, now)
    current = store._live(index, now)
    sids = set(json.loads(current[1])) if current else set()
    sids.add(session.sid)
    expires = max(now + ttl, current[0] if current else 0.0)
    store._entries[index] = (expires, json.dumps(sorted(sids)))


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
        index = _keys.person_sessions_key(dezi_nummer)
        with self._lock:
            now = self._clock()
            current = self._live(index, now)
            if current is None:
                return []
            found = []
            for sid in json.loads(current[1]):
                entry = self._live(_keys.session_key(sid), now)
                if entry is not None:
                    found.append(SsoSession.from_json(entry[1]))
            alive = sorted(s.sid for s in found)
            self._entries[index] = (current[0], json.dumps(alive))
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
