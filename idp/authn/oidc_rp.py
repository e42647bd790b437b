"""OpenID Connect from the relying party's side: this OP logging a user in at an upstream OP.

Used by ``idp.authn.oidc_upstream``. Framework-free: HTTP goes through an injected
``HttpFetcher`` (``idp.authn.upstream_http`` is the httpx adapter), JOSE through
``idp.protocol.jose`` (algorithm allow-list, no key from the token itself).

- Discovery, OIDC Discovery 1.0 §4: cached; the document's ``issuer`` must equal the configured
  issuer exactly (§4.3), and its endpoints must be https (http only for a loopback test issuer).
- Authorization request, OIDC Core §3.1.2.1 with PKCE S256 (RFC 7636 §4.2), ``state`` and
  ``nonce`` of 256 bits each.
- Authorization response, RFC 6749 §4.1.2/§4.1.2.1, and RFC 9207 §2.4: an ``iss`` parameter must
  equal the issuer; it is required when the metadata says the OP sends it (mix-up defence).
- Token request, OIDC Core §3.1.3.1, authenticated with ``private_key_jwt`` (RFC 7523 §2.2,
  OIDC Core §9): ``aud`` is the upstream issuer as one string (draft-ietf-oauth-rfc7523bis;
  FAPI 2.0 Final 5.3.2.1-8), a fresh ``jti`` per call.
- ID token validation, OIDC Core §3.1.3.7: signature with the upstream JWKS, ``iss``, ``aud``,
  ``azp``, ``exp``, ``iat``, ``nonce``; ``acr`` and the mapping are the caller's.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from joserfc.jwk import KeySet

from idp.protocol.jose import JoseRejected, SigningKey, import_keyset, sign_jwt, verify_jwt
from idp.protocol.redirect import with_query

DISCOVERY_PATH = "/.well-known/openid-configuration"
CLOCK_SKEW = 60  # seconds of leeway on exp, iat, nbf (FAPI 2.0: up to 60 s)
MAX_ID_TOKEN_AGE = 600  # an ID token issued longer ago than this is refused (OIDC Core §3.1.3.7-10)
ASSERTION_LIFETIME = 60
METADATA_TTL = 24 * 3600  # NL GOV: clients cache discovery and JWKS; unknown kid → refetch


class UpstreamError(Exception):
    """The upstream login failed. ``reason`` is a short code for logs and metrics, ``detail``
    a log-only explanation; neither is shown to the user."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class UpstreamUnavailable(UpstreamError):
    """The upstream OP could not be reached or answered something that is not JSON."""

    def __init__(self, detail: str) -> None:
        super().__init__("unavailable", detail)


class HttpFetcher(Protocol):
    """Back-channel HTTP to the upstream OP. Raises ``UpstreamUnavailable`` on any transport
    failure, a body that is not a JSON object, or one that is too large."""

    def get_json(self, url: str) -> dict[str, Any]: ...

    def post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter_supported: bool


def _endpoint(doc: Mapping[str, Any], name: str, allow_http: bool) -> str:
    value = doc.get(name)
    if not isinstance(value, str):
        raise UpstreamError("discovery", f"{name} missing")
    parts = urlsplit(value)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise UpstreamError("discovery", f"{name} is not an https URL")
    if not parts.hostname or parts.fragment:
        raise UpstreamError("discovery", f"{name} is not an absolute URL")
    return value


def _advertises(doc: Mapping[str, Any], name: str, value: str) -> bool:
    """True when the metadata omits ``name`` or lists ``value`` in it."""
    listed = doc.get(name)
    return listed is None or (isinstance(listed, list) and value in listed)


def parse_metadata(doc: Mapping[str, Any], issuer: str) -> ProviderMetadata:
    """OIDC Discovery §4.2/§4.3: the issuer must match exactly; what this RP needs must be
    offered (code flow, PKCE S256, private_key_jwt)."""
    if doc.get("issuer") != issuer:
        raise UpstreamError("discovery", f"issuer {str(doc.get('issuer'))[:200]!r} != {issuer!r}")
    allow_http = issuer.startswith("http://")
    for name, value in (
        ("response_types_supported", "code"),
        ("code_challenge_methods_supported", "S256"),
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
    ):
        if not _advertises(doc, name, value):
            raise UpstreamError("discovery", f"{name} does not offer {value}")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(doc, "authorization_endpoint", allow_http),
        token_endpoint=_endpoint(doc, "token_endpoint", allow_http),
        jwks_uri=_endpoint(doc, "jwks_uri", allow_http),
        iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
    )


class UpstreamDirectory:
    """Discovery document and JWKS of one upstream issuer, cached (thread-safe)."""

    def __init__(
        self,
        issuer: str,
        fetcher: HttpFetcher,
        *,
        ttl: int = METADATA_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._fetcher = fetcher
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def metadata(self) -> ProviderMetadata:
        now = self._clock()
        with self._lock:
            cached = self._metadata
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        doc = self._fetcher.get_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
        metadata = parse_metadata(doc, self.issuer)
        with self._lock:
            self._metadata = (now, metadata)
        return metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The upstream's signing keys; ``refresh`` refetches them (a rotated key, OIDC Core
        §10.1.1). ID tokens come only from the token endpoint's TLS answer, so an unknown
        ``kid`` is the upstream's own doing, once per login at most."""
        now = self._clock()
        with self._lock:
            cached = self._keys
        if cached is not None and not refresh and now - cached[0] < self._ttl:
            return cached[1]
        try:
            keys = import_keyset(self._fetcher.get_json(self.metadata().jwks_uri))
        except JoseRejected as exc:
            raise UpstreamError("jwks", exc.reason) from None
        with self._lock:
            self._keys = (now, keys)
        return keys


def new_secret() -> str:
    """256 bits, URL-safe: ``state``, ``nonce`` and the PKCE verifier (RFC 7636 §4.1: 43
    characters of the unreserved set)."""
    return secrets.token_urlsafe(32)


def authorization_url(metadata: ProviderMetadata, params: Mapping[str, str]) -> str:
    return with_query(metadata.authorization_endpoint, list(params.items()))


def code_from_response(params: Mapping[str, str], metadata: ProviderMetadata) -> str:
    """The ``code`` of an authorization response, after the RFC 9207 ``iss`` check."""
    iss = params.get("iss")
    if iss is not None and iss != metadata.issuer:
        raise UpstreamError("iss_parameter", f"iss {iss[:200]!r}")
    if iss is None and metadata.iss_parameter_supported:
        raise UpstreamError("iss_parameter", "iss missing but advertised (RFC 9207 §2.4)")
    error = params.get("error")
    if error is not None:
        raise UpstreamError("upstream_error", error[:64])
    code = params.get("code")
    if not code or len(code) > 2048:
        raise UpstreamError("no_code", "no code in the authorization response")
    return code


def client_assertion(key: SigningKey, alg: str, client_id: str, audience: str, now: int) -> str:
    """RFC 7523 §3 / OIDC Core §9: iss = sub = client_id, ``aud`` the issuer string."""
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": new_secret(),
    }
    return sign_jwt(claims, key, alg)


def redeem_code(fetcher: HttpFetcher, metadata: ProviderMetadata, form: Mapping[str, str]) -> str:
    """OIDC Core §3.1.3.3: the ``id_token`` of a successful token response."""
    status, body = fetcher.post_form(metadata.token_endpoint, form)
    if status != 200:
        error = body.get("error")
        raise UpstreamError("token_error", f"HTTP {status} {str(error)[:64] if error else ''}")
    id_token = body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise UpstreamError("token_error", "no id_token in the token response")
    return id_token


@dataclass(frozen=True, slots=True)
class IdTokenRules:
    issuer: str
    client_id: str
    algorithms: tuple[str, ...]


def _int_claim(claims: Mapping[str, Any], name: str, required: bool) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpstreamError(name, f"{name} missing or not an integer")
    return value


def check_claims(claims: Mapping[str, Any], rules: IdTokenRules, nonce: str, now: int) -> None:
    """OIDC Core §3.1.3.7 points 2-5 and 9-11 (the signature is checked before)."""
    if claims.get("iss") != rules.issuer:
        raise UpstreamError("iss", f"iss {str(claims.get('iss'))[:200]!r}")
    aud = claims.get("aud")
    # Point 3: no audiences besides this client, so a list must be exactly [client_id].
    if aud != rules.client_id and aud != [rules.client_id]:
        raise UpstreamError("aud", f"aud {str(aud)[:200]!r}")
    azp = claims.get("azp")
    if azp is not None and azp != rules.client_id:  # points 4-5
        raise UpstreamError("azp", f"azp {str(azp)[:200]!r}")
    exp = _int_claim(claims, "exp", required=True)
    if exp is not None and now >= exp + CLOCK_SKEW:  # point 9
        raise UpstreamError("expired", f"exp {exp} is {now - exp} s ago")
    iat = _int_claim(claims, "iat", required=True)
    if iat is not None and not now - MAX_ID_TOKEN_AGE <= iat <= now + CLOCK_SKEW:  # point 10
        raise UpstreamError("iat", f"iat {iat} is {now - iat} s from now")
    nbf = _int_claim(claims, "nbf", required=False)
    if nbf is not None and nbf > now + CLOCK_SKEW:
        raise UpstreamError("nbf", "not valid yet")
    presented = claims.get("nonce")
    if not isinstance(presented, str) or not hmac.compare_digest(
        presented.encode(), nonce.encode()
    ):  # point 11
        raise UpstreamError("nonce", "nonce missing or different")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:  # OIDC Core §2
        raise UpstreamError("sub", "sub missing or longer than 255 characters")


def validate_id_token(
    token: str, directory: UpstreamDirectory, rules: IdTokenRules, nonce: str, now: int
) -> dict[str, Any]:
    """Verify the signature (point 6: the upstream's JWKS, our allow-list; an unknown ``kid``
    refetches the JWKS once) and the claims; return the claims."""
    try:
        _header, claims = verify_jwt(token, directory.keys(), rules.algorithms)
    except JoseRejected as exc:
        if exc.reason != "no matching key":
            raise UpstreamError("signature", exc.reason) from None
        try:
            _header, claims = verify_jwt(token, directory.keys(refresh=True), rules.algorithms)
        except JoseRejected as again:
            raise UpstreamError("signature", again.reason) from None
    check_claims(claims, rules, nonce, now)
    return claims


__all__ = [
    "HttpFetcher",
    "IdTokenRules",
    "ProviderMetadata",
    "UpstreamDirectory",
    "UpstreamError",
    "UpstreamUnavailable",
    "authorization_url",
    "check_claims",
    "client_assertion",
    "code_from_response",
    "new_secret",
    "parse_metadata",
    "redeem_code",
    "validate_id_token",
]
