"""Redis state store, shared by every worker on every host (ARCHITECTURE.md "Scale").

Uses the synchronous redis-py client: the protocol core runs in Starlette's threadpool. Every
key is written with ``EX`` so nothing outlives its purpose, and every single-use operation is one
atomic server-side command (``GETDEL``, ``SET NX``, one Lua script), never "read then delete".
Keys that one script touches share a Redis Cluster hash tag, so the store works on Cluster too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script

from idp.protocol.models import (
    CodeRecord,
    CodeRedemption,
    Grant,
    HitCount,
    LoginTransaction,
    SsoSession,
    UpstreamLogin,
)
from idp.state import _keys

__all__ = ["RedisStateStore"]

# KEYS[1] = zorg:code:{sha}, KEYS[2] = zorg:codeused:{sha} (same slot through the hash tag).
# Reply: {1, record} on first redemption, {2, grant_id} on reuse, {0} otherwise.
_REDEEM_CODE_LUA = """
local record = redis.call('GETDEL', KEYS[1])
local marker = redis.call('GET', KEYS[2])
if record then
  if marker and string.sub(marker, 1, #ARGV[1]) == ARGV[1] then
    redis.call('SET', KEYS[2], ARGV[2] .. string.sub(marker, #ARGV[1] + 1), 'KEEPTTL')
  end
  return {1, record}
end
if marker and string.sub(marker, 1, #ARGV[2]) == ARGV[2] then
  return {2, string.sub(marker, #ARGV[2] + 1)}
end
return {0}
"""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _seconds(pttl: int, fallback: int) -> int:
    """A ``PTTL`` reply in whole seconds, rounded up; ``fallback`` if the key just expired."""
    return -(-int(pttl) // 1000) if pttl > 0 else fallback


def _queue_code(pipe: Pipeline, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
    digest = _keys.code_digest(code)
    pipe.set(_keys.code_key(digest), record.to_json(), ex=ttl)
    pipe.set(_keys.code_used_key(digest), _keys.MARKER_PENDING + record.grant_id, ex=reuse_window)


def _queue_session(pipe: Pipeline, session: SsoSession, ttl: int) -> None:
    index = _keys.person_sessions_key(session.dezi_nummer)
    pipe.set(_keys.session_key(session.sid), session.to_json(), ex=ttl)
    pipe.sadd(index, session.sid)
    # The index lives as long as its longest session: NX sets a first expiry, GT extends it.
    pipe.expire(index, ttl, nx=True)
    pipe.expire(index, ttl, gt=True)


def _queue_hit(pipe: Pipeline, full_key: str, window: int) -> None:
    """Three replies: the count, the EXPIRE result, the PTTL (see :func:`_hit_count`)."""
    pipe.incr(full_key)
    pipe.expire(full_key, window, nx=True)
    pipe.pttl(full_key)


def _hit_count(count: int, pttl: int, window: int) -> HitCount:
    return HitCount(int(count), _seconds(pttl, window))


class RedisStateStore:
    """:class:`idp.protocol.ports.StateStore` on Redis (standalone, Sentinel or Cluster).

    The store owns ``client``: :meth:`close` closes its connection pool. Responses may be bytes
    or str (``decode_responses`` either way).
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._redeem_script: Script = client.register_script(_REDEEM_CODE_LUA)

    # -- login transactions ----------------------------------------------------------------------

    def put_transaction(self, tx: LoginTransaction, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.transaction_key(tx.tx_id), tx.to_json(), ex=ttl)

    def get_transaction(self, tx_id: str) -> LoginTransaction | None:
        raw = self._client.get(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def take_transaction(self, tx_id: str) -> LoginTransaction | None:
        """``GETDEL``: of two tabs finishing one login, exactly one wins."""
        raw = self._client.getdel(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def get_transaction_and_count(
        self, tx_id: str, scope: str, key: str, window: int
    ) -> tuple[LoginTransaction | None, HitCount]:
        """``GET`` and the counter's ``INCR``/``EXPIRE NX``/``PTTL`` in one MULTI/EXEC, so the
        count stays as atomic as ``count_hit``'s. The two keys lie in different Cluster slots:
        fine on standalone and Sentinel; on Cluster redis-py splits the pipeline per slot."""
        _keys.check_ttl(window, "window")
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(_keys.transaction_key(tx_id))
            _queue_hit(pipe, _keys.hits_key(scope, key), window)
            raw, count, _, pttl = pipe.execute()
        tx = None if raw is None else LoginTransaction.from_json(raw)
        return tx, _hit_count(count, pttl, window)

    # -- authorization codes ---------------------------------------------------------------------

    def store_code(self, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
        """Record and reuse marker in one MULTI/EXEC, both with ``EX``, keyed by the SHA-256."""
        _keys.check_code_ttls(ttl, reuse_window)
        with self._client.pipeline(transaction=True) as pipe:
            _queue_code(pipe, code, record, ttl, reuse_window)
            pipe.execute()

    def redeem_code(self, code: str) -> CodeRedemption:
        """Single use in one Lua script, atomic on the server (RFC 6749 §4.1.2: a code MUST NOT
        be used more than once). A later attempt within the reuse window reports the grant id so
        the caller can revoke what the first redemption issued (RFC 6749 §4.1.2; RFC 9700
        §4.2.4)."""
        digest = _keys.code_digest(code)
        reply: Any = self._redeem_script(
            keys=[_keys.code_key(digest), _keys.code_used_key(digest)],
            args=[_keys.MARKER_PENDING, _keys.MARKER_REDEEMED],
        )
        if not isinstance(reply, list) or not reply:
            raise redis.ResponseError(f"unexpected reply from the redeem script: {reply!r}")
        outcome: int = reply[0]
        if outcome == 1:
            return CodeRedemption(record=CodeRecord.from_json(reply[1]))
        if outcome == 2:
            return CodeRedemption(reused_grant_id=_text(reply[1]))
        return CodeRedemption()

    # -- replay caches ---------------------------------------------------------------------------

    def first_use(self, namespace: str, key: str, ttl: int) -> bool:
        """``SET key 1 NX EX ttl``: true for the first caller only, until ``ttl`` has passed."""
        _keys.check_ttl(ttl)
        return bool(self._client.set(_keys.seen_key(namespace, key), "1", nx=True, ex=ttl))

    # -- WebAuthn challenges ---------------------------------------------------------------------

    def put_challenge(self, key: str, challenge: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.challenge_key(key), challenge, ex=ttl)

    def take_challenge(self, key: str) -> str | None:
        """``GETDEL``: a challenge is answered at most once."""
        raw = self._client.getdel(_keys.challenge_key(key))
        return None if raw is None else _text(raw)

    # -- upstream logins -------------------------------------------------------------------------

    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.upstream_login_key(state), login.to_json(), ex=ttl)

    def take_upstream_login(self, state: str) -> UpstreamLogin | None:
        """``GETDEL``: a replayed ``state`` finds nothing."""
        raw = self._client.getdel(_keys.upstream_login_key(state))
        return None if raw is None else UpstreamLogin.from_json(raw)

    # -- SAML: post-back relay and outstanding requests ----------------------------------------

    def stash_postback(self, ticket: str, payload: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.postback_key(ticket), payload, ex=ttl)

    def take_postback(self, ticket: str) -> str | None:
        """``GETDEL``: a ticket is redeemed at most once."""
        raw = self._client.getdel(_keys.postback_key(ticket))
        return None if raw is None else _text(raw)

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.saml_request_key(tx_id), request_id, ex=ttl)

    def take_saml_request(self, tx_id: str) -> str | None:
        """``GETDEL``: one response per request (SAML Profiles §4.1.4.3)."""
        raw = self._client.getdel(_keys.saml_request_key(tx_id))
        return None if raw is None else _text(raw)

    # -- grants ----------------------------------------------------------------------------------

    def put_grant(self, grant: Grant, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.grant_key(grant.grant_id), grant.to_json(), ex=ttl)

    def get_grant(self, grant_id: str) -> Grant | None:
        raw, revoked = self._client.mget(
            [_keys.grant_key(grant_id), _keys.grant_revoked_key(grant_id)]
        )
        return None if raw is None or revoked is not None else Grant.from_json(raw)

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke the grant: tokens issued under it stop working (RFC 6749 §10.5). A marker
        makes the revocation win even if it arrives before ``put_grant`` (RFC 9700 §4.2.4)."""
        pipe = self._client.pipeline(transaction=True)
        pipe.set(_keys.grant_revoked_key(grant_id), "1", ex=_keys.REVOKED_MARKER_TTL)
        pipe.delete(_keys.grant_key(grant_id))
        pipe.execute()

    def get_live_grant(self, grant_id: str, revocation_keys: Sequence[str]) -> Grant | None:
        """``MGET`` of the grant and its marker (one slot) and ``EXISTS`` of the revocation marks
        in one pipeline: one round trip. The marks lie in other Cluster slots: fine on
        standalone and Sentinel; on Cluster redis-py splits the pipeline per slot."""
        with self._client.pipeline(transaction=False) as pipe:
            pipe.mget([_keys.grant_key(grant_id), _keys.grant_revoked_key(grant_id)])
            if revocation_keys:
                pipe.exists(*[_keys.revocation_mark_key(key) for key in revocation_keys])
            replies = pipe.execute()
        raw, revoked = replies[0]
        if raw is None or revoked is not None or (revocation_keys and replies[1]):
            return None
        return Grant.from_json(raw)

    # -- SSO sessions ----------------------------------------------------------------------------

    def put_session(self, session: SsoSession, ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._client.pipeline(transaction=True) as pipe:
            _queue_session(pipe, session, ttl)
            pipe.execute()

    def get_session(self, sid: str) -> SsoSession | None:
        raw = self._client.get(_keys.session_key(sid))
        return None if raw is None else SsoSession.from_json(raw)

    def delete_session(self, sid: str) -> None:
        self._client.delete(_keys.session_key(sid))

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
        fine on standalone and Sentinel; on Cluster redis-py splits the pipeline per slot."""
        _keys.check_login(ttl, code, code_record, code_ttl, reuse_window)
        with self._client.pipeline(transaction=True) as pipe:
            if end_session is not None:
                # Like delete_session, the person index keeps the id; sessions_of prunes it.
                pipe.delete(_keys.session_key(end_session))
            if code is not None and code_record is not None:
                _queue_code(pipe, code, code_record, code_ttl, reuse_window)
            _queue_session(pipe, session, ttl)
            pipe.execute()

    def sessions_of(self, dezi_nummer: str) -> list[SsoSession]:
        index = _keys.person_sessions_key(dezi_nummer)
        sids = [_text(s) for s in self._client.smembers(index)]
        if not sids:
            return []
        raws = self._client.mget([_keys.session_key(sid) for sid in sids])
        found = [SsoSession.from_json(raw) for raw in raws if raw is not None]
        gone = [sid for sid, raw in zip(sids, raws, strict=True) if raw is None]
        if gone:
            self._client.srem(index, *gone)
        return found

    # -- rate-limit counters ----------------------------------------------------------------------

    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        """``INCR``, ``EXPIRE NX`` and ``PTTL`` in one MULTI/EXEC: the first hit opens the window,
        later hits leave its expiry alone, and the key never lives without a TTL."""
        _keys.check_ttl(window, "window")
        with self._client.pipeline(transaction=True) as pipe:
            _queue_hit(pipe, _keys.hits_key(scope, key), window)
            count, _, pttl = pipe.execute()
        return _hit_count(count, pttl, window)

    def hit_count(self, scope: str, key: str) -> HitCount:
        full_key = _keys.hits_key(scope, key)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.get(full_key)
            pipe.pttl(full_key)
            raw, pttl = pipe.execute()
        return HitCount() if raw is None else HitCount(int(raw), _seconds(pttl, 1))

    def clear_hits(self, scope: str, key: str) -> None:
        self._client.delete(_keys.hits_key(scope, key))

    # -- revocation marks ------------------------------------------------------------------------

    def mark_revoked(self, keys: Sequence[str], ttl: int) -> None:
        """One ``SET EX`` per key in one pipeline (one round trip). Not MULTI/EXEC: each mark
        stands on its own, and the marks lie in different Cluster slots."""
        _keys.check_ttl(ttl)
        if not keys:
            return
        with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(_keys.revocation_mark_key(key), "1", ex=ttl)
            pipe.execute()

    def clear_revoked(self, keys: Sequence[str]) -> None:
        if keys:
            self._client.delete(*[_keys.revocation_mark_key(key) for key in keys])

    def any_revoked(self, keys: Sequence[str]) -> bool:
        """``EXISTS k1 k2 …`` counts the marked keys in one command."""
        if not keys:
            return False
        return bool(self._client.exists(*[_keys.revocation_mark_key(key) for key in keys]))

    # -- health ----------------------------------------------------------------------------------

    def ping(self) -> bool:
        """False, not an exception, when Redis cannot be reached (readiness probe)."""
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()
