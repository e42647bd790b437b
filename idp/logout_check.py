"""Relying-party side: validating a back-channel logout token (OIDC Back-Channel Logout 1.0
§2.6), for EPD builders, next to ``idp.verklaring_check``.

Checks: signature against the OP's JWKS with an algorithm allow-list; ``typ: logout+jwt``;
``iss`` the OP; ``aud`` this client; ``iat`` recent and ``exp`` not passed; the ``events`` claim
with the back-channel member; ``sid`` or ``sub``; **no** ``nonce``; and a ``jti`` never seen
before (a replayed token is rejected, §2.6 step 7, using a replay cache kept until ``exp``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt
from idp.protocol.logout import BACKCHANNEL_EVENT

MAX_AGE = 300
CLOCK_SKEW = 60


class LogoutTokenRejected(Exception):
    """The logout token must be refused (answer 400, §2.8)."""


@dataclass(frozen=True, slots=True)
class LogoutNotice:
    sid: str | None
    sub: str | None


class LogoutTokenChecker:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        keys: Callable[[], KeySet],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._client_id = client_id
        self._keys = keys
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, token: str) -> LogoutNotice:
        try:
            header, claims = verify_jwt(token, self._keys(), SIGNING_ALGS)
        except JoseRejected as exc:
            raise LogoutTokenRejected(f"signature: {exc.reason}") from None
        if str(header.get("typ", "")).lower() not in ("logout+jwt", "application/logout+jwt"):
            raise LogoutTokenRejected("not a logout token (typ)")
        self._check_claims(claims)
        self._first_use(str(claims["jti"]), float(claims.get("exp", self._clock() + MAX_AGE)))
        sid, sub = claims.get("sid"), claims.get("sub")
        return LogoutNotice(
            sid if isinstance(sid, str) else None, sub if isinstance(sub, str) else None
        )

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if claims.get("iss") != self._issuer:
            raise LogoutTokenRejected("wrong issuer")
        if self._client_id not in audiences:
            raise LogoutTokenRejected("not for this client")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + CLOCK_SKEW or iat < now - MAX_AGE:
            raise LogoutTokenRejected("iat missing or not recent")
        if exp is not None and (not isinstance(exp, int) or exp + CLOCK_SKEW < now):
            raise LogoutTokenRejected("expired")
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
            raise LogoutTokenRejected("no back-channel logout event")
        if "nonce" in claims:
            raise LogoutTokenRejected("a logout token must not contain a nonce")
        if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
            raise LogoutTokenRejected("neither sid nor sub")
        if not isinstance(claims.get("jti"), str):
            raise LogoutTokenRejected("no jti")

    def _first_use(self, jti: str, until: float) -> None:
        now = self._clock()
        with self._lock:
            for old in [k for k, t in self._seen.items() if t < now]:
                del self._seen[old]
            if jti in self._seen:
                raise LogoutTokenRejected("replayed logout token")
            self._seen[jti] = until + CLOCK_SKEW
