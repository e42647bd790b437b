"""Client authentication at the token endpoint.

- ``private_key_jwt``: RFC 7523 §3 and OIDC Core §9, hardened per FAPI 2.0 Final 5.3.2.1-8 and
  draft-ietf-oauth-rfc7523bis: ``aud`` must be the issuer identifier as a single string (arrays,
  the token endpoint URL and the PAR endpoint URL are refused). ``exp`` is required and short,
  ``jti`` is single use (replay cache), algorithms come from an allow-list.
- ``none``: only for clients registered as public (NL GOV OIDC; DECISIONS.md #3). PKCE still binds
  their codes.
- No shared secrets of any kind (``client_secret_basic``/``_post``/``_jwt`` are refused).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from idp.protocol.errors import OAuthError, invalid_client, invalid_request, named
from idp.protocol.jose import CLIENT_ASSERTION_ALGS, JoseRejected, import_keyset, verify_jwt
from idp.protocol.jose import unverified_claims as _unverified_claims
from idp.protocol.ports import ClientStore, ClientView, ReplayCache

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Seconds between now and exp. authlib's client signs one-hour assertions by default; the jti is
# remembered until exp, so a longer lifetime costs replay-cache space, not safety.
MAX_ASSERTION_LIFETIME = 3600
FUTURE_SKEW = 60  # FAPI 2.0: iat/nbf up to 10 s ahead accepted, more than 60 s rejected
EXPIRY_LEEWAY = 5


class ClientKeyCache:
    """Keys of registered clients: inline ``jwks`` or a fetched ``jwks_uri`` (cached)."""

    def __init__(self, fetch: Callable[[str], Mapping[str, Any]], ttl: int = 300) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._cache: dict[str, tuple[float, KeySet]] = {}
        # Inline JWKS parsed once per client record: the client cache hands out the same
        # record (and so the same ``jwks`` object) until the client changes.
        self._inline: dict[str, tuple[object, KeySet]] = {}
        self._lock = threading.Lock()

    def keys_for(self, client: ClientView, *, refresh: bool = False) -> KeySet:
        if client.jwks is not None:
            inline = self._inline.get(client.client_id)
            if inline is not None and inline[0] is client.jwks:
                return inline[1]
            parsed = import_keyset(client.jwks)
            with self._lock:
                self._inline[client.client_id] = (client.jwks, parsed)
            return parsed
        if not client.jwks_uri:
            raise JoseRejected("client has no keys")
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(client.jwks_uri)
        if hit is not None and not refresh and now - hit[0] < self._ttl:
            return hit[1]
        keys = import_keyset(dict(self._fetch(client.jwks_uri)))
        with self._lock:
            self._cache[client.jwks_uri] = (now, keys)
        return keys


@dataclass(frozen=True, slots=True)
class ClientAuthenticator:
    issuer: str
    clients: ClientStore
    state: ReplayCache  # client-assertion jti, once (RFC 7523 §3)
    keys: ClientKeyCache
    clock: Callable[[], float] = time.time

    def authenticate(self, form: Mapping[str, str], authorization_header: str | None) -> ClientView:
        """Return the authenticated client or raise ``invalid_client`` (RFC 6749 §5.2)."""
        if authorization_header is not None:
            raise invalid_client(
                "HTTP authentication header sent; no shared secrets here",
                "HTTP authentication header sent; no shared secrets here",
            )
        if "client_secret" in form:
            raise invalid_client(
                "client_secret sent; no shared secrets here",
                "client_secret sent; no shared secrets here",
            )
        assertion_type = form.get("client_assertion_type")
        assertion = form.get("client_assertion")
        if assertion_type is not None or assertion is not None:
            if assertion_type != JWT_BEARER or not assertion:
                raise invalid_client(
                    "bad client_assertion_type or empty assertion",
                    "bad client_assertion_type or empty assertion",
                )
            return self._private_key_jwt(assertion, form.get("client_id"))
        client_id = form.get("client_id")
        if not client_id:
            raise invalid_client(
                "no client authentication and no client_id",
                "no client authentication and no client_id",
            )
        client = self.clients.get_client(client_id)
        if client is None or not client.active:
            raise invalid_client(f"unknown client {client_id[:64]!r}")
        if client.auth_method != "none":
            raise invalid_client(f"{client_id} must authenticate with {client.auth_method}")
        return client

    def _private_key_jwt(self, assertion: str, form_client_id: str | None) -> ClientView:
        try:
            claims = _unverified_claims(assertion)
        except JoseRejected as exc:
            raise invalid_client(f"assertion unreadable: {exc.reason}") from None
        iss = claims.get("iss")
        if not isinstance(iss, str) or not iss:
            raise invalid_client("assertion without iss", "assertion without iss")
        if form_client_id is not None and form_client_id != iss:
            raise invalid_client(
                "client_id does not match the assertion iss",
                "client_id does not match the assertion iss",
            )
        client = self.clients.get_client(iss)
        if client is None or not client.active:
            raise invalid_client(f"unknown client {iss[:64]!r}")
        if client.auth_method != "private_key_jwt":
            raise invalid_client(f"{iss} is not registered for private_key_jwt")
        claims = self._verify_signature(assertion, client)
        self._check_claims(claims, client.client_id)
        return client

    def _verify_signature(self, assertion: str, client: ClientView) -> dict[str, Any]:
        try:
            _header, claims = verify_jwt(
                assertion, self.keys.keys_for(client), CLIENT_ASSERTION_ALGS
            )
            return claims
        except JoseRejected as exc:
            if exc.reason == "no matching key" and client.jwks_uri:
                # The client may have rotated its keys (checklist E7): refetch once.
                try:
                    keys = self.keys.keys_for(client, refresh=True)
                    return verify_jwt(assertion, keys, CLIENT_ASSERTION_ALGS)[1]
                except JoseRejected as again:
                    raise invalid_client(
                        f"assertion rejected: {again.reason}", again.reason
                    ) from None
            raise invalid_client(f"assertion rejected: {exc.reason}", exc.reason) from None
        except Exception as exc:  # fetching a jwks_uri can fail in many ways
            raise invalid_client(f"client keys unavailable: {type(exc).__name__}") from None

    def _check_claims(self, claims: dict[str, Any], client_id: str) -> None:
        now = int(self.clock())
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise invalid_client(
                "iss and sub must both be the client_id (RFC 7523 §3)",
                "iss and sub must both be the client_id",
            )
        aud = claims.get("aud")
        if not isinstance(aud, str) or aud != self.issuer:
            raise invalid_client(
                "aud must be the issuer identifier as a single string",
                "aud must be the issuer identifier as a single string",
            )
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise invalid_client("exp missing or not an integer", "exp missing or not an integer")
        if exp + EXPIRY_LEEWAY < now:
            raise invalid_client("assertion expired", "assertion expired")
        if exp - now > MAX_ASSERTION_LIFETIME:
            raise invalid_client("assertion lifetime too long", "assertion lifetime too long")
        for name in ("iat", "nbf"):
            value = claims.get(name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise invalid_client(f"{name} is not an integer")
            if value > now + FUTURE_SKEW:
                raise invalid_client(
                    f"{name} too far in the future", f"{name} too far in the future"
                )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise invalid_client("jti missing", "jti missing")
        ttl = max(exp - now, 0) + EXPIRY_LEEWAY + FUTURE_SKEW
        if not self.state.first_use("client-assertion", f"{client_id}\x00{jti}", ttl):
            raise invalid_client(
                "assertion replayed (jti already used)", "assertion replayed (jti already used)"
            )


def single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Form parameters, refusing repeated ones (RFC 6749 §3.1, §3.2)."""
    result: dict[str, str] = {}
    for name, value in pairs:
        if name in result:
            raise invalid_request(f"Parameter {named(name)} is repeated")
        result[name] = value
    return result


__all__ = ["JWT_BEARER", "ClientAuthenticator", "ClientKeyCache", "OAuthError", "single_valued"]
