"""SSO sessions and each person's session index on Redis (``idp.protocol.ports.SessionStore``).

The index is a set of session ids that lives as long as the person's longest session; ids of
ended sessions stay in it until ``sessions_of`` prunes them.
"""

from __future__ import annotations

from redis.client import Pipeline

from idp.protocol.models import CodeRecord, SsoSession
from idp.state import _keys
from idp.state.redis._base import RedisBase, text
from idp.state.redis.codes import queue_code


def queue_session(pipe: Pipeline, session: SsoSession, ttl: int) -> None:
    index = _keys.person_sessions_key(session.dezi_nummer)
    pipe.set(_keys.session_key(session.sid), session.to_json(), ex=ttl)
    pipe.sadd(index, session.sid)
    # The index lives as long as its longest session: NX sets a first expiry, GT extends it.
    pipe.expire(index, ttl, nx=True)
    pipe.expire(index, ttl, gt=True)


class RedisSessions(RedisBase):
    def put_session(self, session: SsoSession, ttl: int) -> None:
        """Session and index in one MULTI/EXEC. The two keys lie in different Cluster slots:
        fine on standalone and Sentinel; on Cluster redis-py refuses a cross-slot MULTI/EXEC
        (``CrossSlotTransactionError``)."""
        _keys.check_ttl(ttl)
        with self._client.pipeline(transaction=True) as pipe:
            queue_session(pipe, session, ttl)
            pipe.execute()

    def get_session(self, sid: str) -> SsoSession | None:
        raw = self._client.get(_keys.session_key(sid))
        return None if raw is None else SsoSession.from_json(raw)

    def delete_session(self, sid: str) -> None:
        self._client.delete(_keys.session_key(sid))

    def sessions_of(self, dezi_nummer: str) -> list[SsoSession]:
        index = _keys.person_sessions_key(dezi_nummer)
        sids = [text(s) for s in self._client.smembers(index)]
        if not sids:
            return []
        raws = self._client.mget([_keys.session_key(sid) for sid in sids])
        found = [SsoSession.from_json(raw) for raw in raws if raw is not None]
        gone = [sid for sid, raw in zip(sids, raws, strict=True) if raw is None]
        if gone:
            self._client.srem(index, *gone)
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
        """``DEL``, the code's two ``SET``s and the session's writes in one MULTI/EXEC: one round
        trip, and no other client sees half a login. The keys lie in different Cluster slots:
        fine on standalone and Sentinel; on Cluster redis-py refuses a cross-slot MULTI/EXEC
        (``CrossSlotTransactionError``), as it does for ``put_session``."""
        _keys.check_login(ttl, code, code_record, code_ttl, reuse_window)
        with self._client.pipeline(transaction=True) as pipe:
            if end_session is not None:
                # Like delete_session, the person index keeps the id; sessions_of prunes it.
                pipe.delete(_keys.session_key(end_session))
            if code is not None and code_record is not None:
                queue_code(pipe, code, code_record, code_ttl, reuse_window)
            queue_session(pipe, session, ttl)
            pipe.execute()
