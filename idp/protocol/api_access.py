"""Access tokens at the registry API, the OP's own resource server (``{issuer}/api/v1``).

RFC 9068 §4: the resource server checks ``typ: at+jwt``, the signature with the issuer's keys, the
issuer, that ``aud`` *contains* its own identifier (RFC 7519 §4.1.3: a string or an array), and
the expiry. On top of that the grant behind the token must still exist in the state store (revoked
on code reuse, logout or otherwise: RFC 6749 §10.5) and carry the ``registry`` scope (RFC 6750
§3.1 ``insufficient_scope``). Which organisations the caller may act for is decided by the web
adapter from the register, at each request (``idp/web/api_auth.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError, invalid_token
from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt
from idp.protocol.models import Grant
from idp.protocol.ports import GrantStore, Signer

SCOPE_REGISTRY = "registry"
CLOCK_SKEW = 30


def audience_includes(aud: object, expected: str) -> bool:
    """RFC 7519 §4.1.3 / RFC 9068 §4: ``aud`` is ``expected`` or an array of strings holding it."""
    if isinstance(aud, str):
        return aud == expected
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return expected in aud
    return False


def token_audience(config: ProviderConfig, scope: Sequence[str]) -> str | list[str]:
    """``aud`` of a code-flow access token: userinfo, plus the registry API when the
    ``registry`` scope was granted (RFC 9068 §3; a single string when there is one)."""
    if SCOPE_REGISTRY in scope:
        return [config.userinfo_audience, config.api_audience]
    return config.userinfo_audience


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """A validated API token: whose it is. ``dezi_nummer`` is ``None`` for a client's own
    token (client credentials, RFC 6749 §4.4), where no user is involved."""

    grant: Grant
    client_id: str
    dezi_nummer: str | None


def insufficient_scope(log_detail: str) -> OAuthError:
    """RFC 6750 §3.1."""
    return OAuthError(
        "insufficient_scope", "The access token lacks the registry scope", log_detail=log_detail
    )


@dataclass(frozen=True, slots=True)
class ApiTokenValidator:
    config: ProviderConfig
    state: GrantStore
    signer: Signer
    clock: Callable[[], float] = time.time

    def validate(self, token: str) -> ApiAccess:
        """The token's grant and caller, or ``invalid_token`` / ``insufficient_scope``."""
        try:
            header, claims = verify_jwt(token, self.signer.verification_keys(), SIGNING_ALGS)
        except JoseRejected as exc:
            raise invalid_token(f"API token rejected: {exc.reason}") from None
        # RFC 9068 §4 and RFC 8725 §3.11: an ID token or any other JWT is not an access token.
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise invalid_token("not an access token (typ)")
        if claims.get("iss") != self.config.issuer:
            raise invalid_token("wrong issuer")
        if not audience_includes(claims.get("aud"), self.config.api_audience):
            raise invalid_token("audience is not the registry API")
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp + CLOCK_SKEW < self.clock():
            raise invalid_token("expired")
        grant_id = claims.get("gid")
        grant = self.state.get_grant(grant_id) if isinstance(grant_id, str) else None
        if grant is None:
            raise invalid_token("grant revoked or expired")
        if grant.sub != claims.get("sub") or grant.client_id != claims.get("client_id"):
            raise invalid_token("token does not match its grant")
        scope = claims.get("scope")
        granted = scope.split() if isinstance(scope, str) else []
        if SCOPE_REGISTRY not in granted or SCOPE_REGISTRY not in grant.scope:
            raise insufficient_scope(f"scope {scope!r} of {grant.client_id}")
        return ApiAccess(
            grant=grant,
            client_id=grant.client_id,
            dezi_nummer=grant.dezi_nummer or None,
        )
