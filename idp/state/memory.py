"""In-process state store: the embedded default and the reference for the contract tests.

One lock guards one dict of ``key -> (expires_at, json)``. Expired entries are invisible at once
and removed lazily: on access, and by a full sweep every ``sweep_every`` writes, so memory stays
bounded by what is alive plus at most ``sweep_every`` writes' worth of expired entries. Only for
a single process: several workers need :class:`idp.state.RedisStateStore`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence

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

__all__ = ["MemoryStateStore"]


class MemoryStateStore:
    """:class:`idp.protocol.ports.StateStore` in a dict, thread-safe under one lock.

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
        self._writes = 0

    # -- helpers; callers hold the lock ----------------------------------------------------------

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

    def _put(self, key: str, value: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            self._set(key, value, ttl, self._clock())

    def _get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, self._clock())
        return None if entry is None else entry[1]

    def _take(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None:
                del self._entries[key]
        return None if entry is None else entry[1]

    def _delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    # -- login transactions ----------------------------------------------------------------------

    def put_transaction(self, tx: LoginTransaction, ttl: int) -> None:
        self._put(_keys.transaction_key(tx.tx_id), tx.to_json(), ttl)

    def get_transaction(self, tx_id: str) -> LoginTransaction | None:
        raw = self._get(_keys.transaction_key(tx_id))
        return None if raw is None else LoginTransaction.from_json(raw)

    def take_transaction(self, tx_id: str) -> LoginTransaction | None:
        """Get and delete under the lock: of two tabs finishing one login, exactly one wins."""
        key = _keys.transaction_key(tx_id)
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None:
                del self._entries[key]
        return None if entry is None else LoginTransaction.from_json(entry[1])

    def get_transaction_and_count(
        self, tx_id: str, scope: str, key: str, window: int
    ) -> tuple[LoginTransaction | None, HitCount]:
        """Both under one hold of the lock, as Redis does them in one MULTI/EXEC."""
        _keys.check_ttl(window, "window")
        with self._lock:
            now = self._clock()
            entry = self._live(_keys.transaction_key(tx_id), now)
            hits = self._count_hit_locked(_keys.hits_key(scope, key), window, now)
        tx = None if entry is None else LoginTransaction.from_json(entry[1])
        return tx, hits

    # -- authorization codes ---------------------------------------------------------------------

    def store_code(self, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
        """Keep the record under the code's SHA-256 and a reuse marker for ``reuse_window``."""
        _keys.check_code_ttls(ttl, reuse_window)
        with self._lock:
            self._store_code_locked(code, record, ttl, reuse_window, self._clock())

    def _store_code_locked(
        self, code: str, record: CodeRecord, ttl: int, reuse_window: int, now: float
    ) -> None:
        digest = _keys.code_digest(code)
        self._set(_keys.code_key(digest), record.to_json(), ttl, now)
        marker = _keys.MARKER_PENDING + record.grant_id
        self._set(_keys.code_used_key(digest), marker, reuse_window, now)

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

    # -- replay caches ---------------------------------------------------------------------------

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

    # -- WebAuthn challenges ---------------------------------------------------------------------

    def put_challenge(self, key: str, challenge: str, ttl: int) -> None:
        self._put(_keys.challenge_key(key), challenge, ttl)

    def take_challenge(self, key: str) -> str | None:
        """Get and delete under the lock: a challenge is answered at most once."""
        full_key = _keys.challenge_key(key)
        with self._lock:
            entry = self._live(full_key, self._clock())
            if entry is not None:
                del self._entries[full_key]
        return None if entry is None else entry[1]

    # -- upstream logins -------------------------------------------------------------------------

    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None:
        self._put(_keys.upstream_login_key(state), login.to_json(), ttl)

    def take_upstream_login(self, state: str) -> UpstreamLogin | None:
        """Get and delete under the lock: a replayed ``state`` finds nothing."""
        key = _keys.upstream_login_key(state)
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None:
                del self._entries[key]
        return None if entry is None else UpstreamLogin.from_json(entry[1])

    # -- SAML: post-back relay and outstanding requests ----------------------------------------

    def stash_postback(self, ticket: str, payload: str, ttl: int) -> None:
        self._put(_keys.postback_key(ticket), payload, ttl)

    def take_postback(self, ticket: str) -> str | None:
        """Get and delete under the lock: a ticket is redeemed at most once."""
        return self._take(_keys.postback_key(ticket))

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None:
        self._put(_keys.saml_request_key(tx_id), request_id, ttl)

    def take_saml_request(self, tx_id: str) -> str | None:
        """Get and delete under the lock: one response per request (SAML Profiles §4.1.4.3)."""
        return self._take(_keys.saml_request_key(tx_id))

    # -- grants ----------------------------------------------------------------------------------

    def put_grant(self, grant: Grant, ttl: int) -> None:
        self._put(_keys.grant_key(grant.grant_id), grant.to_json(), ttl)

    def get_grant(self, grant_id: str) -> Grant | None:
        with self._lock:
            now = self._clock()
            if self._live(_keys.grant_revoked_key(grant_id), now) is not None:
                return None
            entry = self._live(_keys.grant_key(grant_id), now)
        return None if entry is None else Grant.from_json(entry[1])

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke the grant: tokens issued under it stop working (RFC 6749 §10.5). A marker
        makes the revocation win even if it arrives before ``put_grant`` (RFC 9700 §4.2.4)."""
        with self._lock:
            now = self._clock()
            self._set(_keys.grant_revoked_key(grant_id), "1", _keys.REVOKED_MARKER_TTL, now)
            self._entries.pop(_keys.grant_key(grant_id), None)

    def get_live_grant(self, grant_id: str, revocation_keys: Sequence[str]) -> Grant | None:
        """The grant unless it, or a register record it rests on, has been revoked."""
        with self._lock:
            now = self._clock()
            if self._live(_keys.grant_revoked_key(grant_id), now) is not None:
                return None
            if self._any_revoked_locked(revocation_keys, now):
                return None
            entry = self._live(_keys.grant_key(grant_id), now)
        return None if entry is None else Grant.from_json(entry[1])

    # -- SSO sessions ----------------------------------------------------------------------------

    def put_session(self, session: SsoSession, ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            self._put_session_locked(session, ttl, self._clock())

    def _put_session_locked(self, session: SsoSession, ttl: int, now: float) -> None:
        index = _keys.person_sessions_key(session.dezi_nummer)
        self._set(_keys.session_key(session.sid), session.to_json(), ttl, now)
        current = self._live(index, now)
        sids = set(json.loads(current[1])) if current else set()
        sids.add(session.sid)
        expires = max(now + ttl, current[0] if current else 0.0)
        self._entries[index] = (expires, json.dumps(sorted(sids)))

    def get_session(self, sid: str) -> SsoSession | None:
        raw = self._get(_keys.session_key(sid))
        return None if raw is None else SsoSession.from_json(raw)

    def delete_session(self, sid: str) -> None:
        self._delete(_keys.session_key(sid))

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
                self._store_code_locked(code, code_record, code_ttl, reuse_window, now)
            self._put_session_locked(session, ttl, now)

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

    # -- rate-limit counters ----------------------------------------------------------------------

    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        """INCR with the expiry set by the first hit only, under the lock (fixed window)."""
        _keys.check_ttl(window, "window")
        with self._lock:
            return self._count_hit_locked(_keys.hits_key(scope, key), window, self._clock())

    def _count_hit_locked(self, full_key: str, window: int, now: float) -> HitCount:
        entry = self._live(full_key, now)
        if entry is None:
            self._set(full_key, "1", window, now)
            return HitCount(1, window)
        count = int(entry[1]) + 1
        self._entries[full_key] = (entry[0], str(count))
        return HitCount(count, math.ceil(entry[0] - now))

    def hit_count(self, scope: str, key: str) -> HitCount:
        with self._lock:
            now = self._clock()
            entry = self._live(_keys.hits_key(scope, key), now)
        return HitCount() if entry is None else HitCount(int(entry[1]), math.ceil(entry[0] - now))

    def clear_hits(self, scope: str, key: str) -> None:
        self._delete(_keys.hits_key(scope, key))

    # -- revocation marks ------------------------------------------------------------------------

    def mark_revoked(self, keys: Sequence[str], ttl: int) -> None:
        _keys.check_ttl(ttl)
        with self._lock:
            now = self._clock()
            for key in keys:
                self._set(_keys.revocation_mark_key(key), "1", ttl, now)

    def clear_revoked(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(_keys.revocation_mark_key(key), None)

    def any_revoked(self, keys: Sequence[str]) -> bool:
        with self._lock:
            return self._any_revoked_locked(keys, self._clock())

    def _any_revoked_locked(self, keys: Sequence[str], now: float) -> bool:
        return any(self._live(_keys.revocation_mark_key(key), now) is not None for key in keys)

    # -- health ----------------------------------------------------------------------------------

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release. Entries stay: an app's lifespan can run more than once in one
        process (test clients), and the entries expire on their own."""
