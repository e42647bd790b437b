"""Checking a Dezi verklaring the way a relying party (EPD) does: Dezi v0.7 §2.5–§2.8, §6.

For EPD builders: this module works without the server. It needs joserfc (through
``idp.protocol.jose``, the one place that calls it) and httpx, nothing else of ours. Steps, as
dezi-interface.md §2.8 and the Nuts "DeziUserCredential" rules describe them:

1. decrypt the userinfo JWE with the relying party's private key (RFC 7516 §5.2, v0.7 §2.5);
2. verify the envelope's signature against the OP's JWKS and its ``iss``, ``aud``, ``iat`` and
   ``exp`` (RFC 7519 §7.2);
3. verify the verklaring through its ``jku`` header, accepted only when it is on the allow-list,
   with the JWKS fetched once and cached (an unknown ``kid`` triggers one rate-limited refetch,
   for key rotation), and check ``nbf``/``exp`` and the claims (v0.7 §2.6);
4. check revocation (v0.7 §6): against the signed list (itself verified through an allow-listed
   ``jku``, kept until its ``ververs_tijdstip`` and never used past its ``exp``), or online at
   the verklaring's ``status_uri`` (``revocatie_controle_uri`` is read too: v0.7 uses both names),
   which must be on the origin of the verklaring's ``jku``.

Every rejection is a ``VerklaringRejected`` with a stable ``code`` and a plain ``description``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import KeySet

from idp.protocol.jose import (
    SIGNING_ALGS,
    JoseRejected,
    decrypt_jwe,
    import_keyset,
    unverified_header,
    verify_jwt,
)
from idp.protocol.verklaring import VERKLARING_CLAIMS, canonical_uuid

VERKLARING_ALGS: tuple[str, ...] = ("RS256", "PS256")
MAX_JWKS_BYTES = 64 * 1024
MAX_LIST_BYTES = 4 * 1024 * 1024
STATUS_CLAIMS: tuple[str, ...] = ("status_uri", "revocatie_controle_uri")


class VerklaringRejected(Exception):
    """A check failed. ``code`` is stable (for programs), ``description`` is for people."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


def _numeric_date(claims: dict[str, Any], name: str, *, strings: bool = False) -> int:
    """RFC 7519 §2 NumericDate; v0.7's list example writes them as strings (``strings``)."""
    value = claims.get(name)
    if strings and isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VerklaringRejected("claims", f"'{name}' must be a NumericDate")
    return int(value)


def _check_window(
    claims: dict[str, Any], now: float, leeway: int, *, what: str, strings: bool = False
) -> None:
    if _numeric_date(claims, "nbf", strings=strings) > now + leeway:
        raise VerklaringRejected("not_yet_valid", f"the {what} is not valid yet (nbf)")
    if _numeric_date(claims, "exp", strings=strings) <= now - leeway:
        raise VerklaringRejected("expired", f"the {what} has expired (exp)")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


def _safe_url(url: str) -> bool:
    """https, or http on a loopback host (a test deployment)."""
    scheme, host, _ = _origin(url)
    return scheme == "https" or (scheme == "http" and host in ("127.0.0.1", "::1", "localhost"))


class KeyFetcher:
    """JWK Sets by URL (RFC 7517 §5), cached for ``ttl`` seconds; an unknown ``kid`` refetches
    at most once per ``min_refresh`` seconds, so a rotated key is found and a flood of bogus
    ``kid`` values cannot turn into a flood of requests."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        ttl: float = 300.0,
        min_refresh: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._clock = clock
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def keys(self, url: str, kid: str | None) -> KeySet:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(url)
        if hit is not None:
            fetched_at, keys = hit
            known = kid is None or any(k.kid == kid for k in keys.keys)
            if now - fetched_at < self._ttl and (known or now - fetched_at < self._min_refresh):
                return keys
        keys = self._fetch(url)
        with self._lock:
            self._cache[url] = (now, keys)
        return keys

    def _fetch(self, url: str) -> KeySet:
        try:
            response = self._http.get(
                url, headers={"Accept": "application/json"}, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise VerklaringRejected("keys_unavailable", f"cannot fetch {url}: {exc}") from None
        if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
            raise VerklaringRejected(
                "keys_unavailable", f"{url} answered {response.status_code} or too much"
            )
        try:
            return import_keyset(json.loads(response.content))
        except (ValueError, JoseRejected) as exc:
            raise VerklaringRejected("keys_unavailable", f"{url} is not a JWK Set") from exc


def _verify_through_jku(
    token: str,
    allowed_jku: frozenset[str],
    fetcher: KeyFetcher,
    *,
    what: str,
    max_bytes: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a JWS whose key is named by an allow-listed ``jku`` + ``kid`` (v0.7 §2.6)."""
    limit = {"max_bytes": max_bytes} if max_bytes else {}
    try:
        header = unverified_header(token, **limit)
    except JoseRejected as exc:
        raise VerklaringRejected("malformed", f"the {what} is not a JWS: {exc.reason}") from None
    jku = header.get("jku")
    if not isinstance(jku, str) or jku not in allowed_jku:
        raise VerklaringRejected("jku_not_allowed", f"the {what}'s jku {jku!r} is not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise VerklaringRejected("unknown_kid", f"the {what} names no kid")
    matching = [k for k in fetcher.keys(jku, kid).keys if k.kid == kid]
    if not matching:
        raise VerklaringRejected("unknown_kid", f"kid {kid!r} is not in {jku}")
    try:
        return verify_jwt(
            token,
            KeySet(matching),
            VERKLARING_ALGS,
            allowed_headers=frozenset({"jku"}),
            **limit,
        )
    except JoseRejected as exc:
        code = "algorithm" if exc.reason.startswith("algorithm") else "signature"
        raise VerklaringRejected(code, f"the {what} failed verification: {exc.reason}") from None


@dataclass(frozen=True)
class CheckedVerklaring:
    header: dict[str, Any]
    claims: dict[str, Any]
    revocation: str  # how revocation was checked: "list", "status" or "not checked"


@dataclass(frozen=True)
class CheckedUserinfo:
    encrypted: bool
    envelope: dict[str, Any]
    verklaring: CheckedVerklaring


class RevocationCheck(Protocol):
    def check(self, header: dict[str, Any], claims: dict[str, Any]) -> str: ...


@dataclass
class RevocationList:
    """The signed list of v0.7 §6, fetched from ``url`` and kept until ``ververs_tijdstip``."""

    url: str
    http: httpx.Client
    keys: KeyFetcher
    allowed_jku: frozenset[str]
    clock: Callable[[], float] = time.time
    leeway: int = 60
    _revoked: dict[str, str] = field(default_factory=dict, init=False)
    _refresh_at: float = field(default=0.0, init=False)
    _expires_at: float = field(default=0.0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def check(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        revoked_at = self.revoked().get(str(claims["verklaring_id"]))
        if revoked_at is not None:
            raise VerklaringRejected("revoked", f"the verklaring was revoked at {revoked_at}")
        return "list"

    def revoked(self) -> dict[str, str]:
        """``verklaringId → revocatieTijdstip``, refreshed when due; a list that cannot be
        refreshed is used until its own ``exp``, never after."""
        now = self.clock()
        with self._lock:
            if now < self._refresh_at:
                return self._revoked
            try:
                self._load(now)
            except VerklaringRejected:
                if now >= self._expires_at + self.leeway:
                    raise
            return self._revoked

    def _load(self, now: float) -> None:
        try:
            response = self.http.get(self.url, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise VerklaringRejected("revocation_unavailable", f"{self.url}: {exc}") from None
        if response.status_code != 200 or len(response.content) > MAX_LIST_BYTES:
            raise VerklaringRejected(
                "revocation_unavailable", f"{self.url} answered {response.status_code}"
            )
        _, claims = _verify_through_jku(
            response.text, self.allowed_jku, self.keys, what="list", max_bytes=MAX_LIST_BYTES
        )
        _check_window(claims, now, self.leeway, what="list", strings=True)
        entries = claims.get("revocaties")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise VerklaringRejected("revocation_unavailable", "the list has no revocaties")
        self._revoked = {
            str(e.get("verklaringId", "")).lower(): str(e.get("revocatieTijdstip", ""))
            for e in entries
        }
        self._expires_at = _numeric_date(claims, "exp", strings=True)
        self._refresh_at = min(_refresh_time(claims.get("ververs_tijdstip"), now), self._expires_at)


def _refresh_time(value: Any, now: float) -> float:
    """``ververs_tijdstip``: ISO 8601 with offset (or a NumericDate); 60 s when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return now + 60
        if moment.utcoffset() is not None:
            return moment.timestamp()
    return now + 60


@dataclass(frozen=True)
class StatusCheck:
    """Online check at the verklaring's own status URI (v0.7 §6)."""

    http: httpx.Client

    def check(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        uri = next((claims[c] for c in STATUS_CLAIMS if isinstance(claims.get(c), str)), None)
        if uri is None:
            raise VerklaringRejected("claims", "the verklaring has no status_uri")
        if _origin(uri) != _origin(str(header["jku"])):
            raise VerklaringRejected("claims", "the status_uri is not on the jku's origin")
        try:
            response = self.http.get(
                uri, headers={"Accept": "application/json"}, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise VerklaringRejected("revocation_unavailable", f"{uri}: {exc}") from None
        if response.status_code == 404:
            raise VerklaringRejected("revoked", "the issuer does not know this verklaring")
        try:
            body = response.json() if response.status_code == 200 else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("verklaringId") != claims["verklaring_id"]:
            raise VerklaringRejected("revocation_unavailable", f"{uri} gave no usable status")
        if body.get("status") != "actief":
            raise VerklaringRejected("revoked", f"the verklaring's status is {body.get('status')}")
        return "status"


@dataclass
class VerklaringChecker:
    """Checks a bare verklaring (v0.7 §2.6) through the ``jku`` allow-list."""

    allowed_jku: frozenset[str]
    keys: KeyFetcher
    revocation: RevocationCheck | None = None
    clock: Callable[[], float] = time.time
    leeway: int = 60

    def __post_init__(self) -> None:
        if not self.allowed_jku:
            raise ValueError("the jku allow-list is empty")
        unsafe = sorted(u for u in self.allowed_jku if not _safe_url(u))
        if unsafe:
            raise ValueError(f"jku must be https (http only on loopback): {unsafe}")

    def check(self, token: str) -> CheckedVerklaring:
        header, claims = _verify_through_jku(token, self.allowed_jku, self.keys, what="verklaring")
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise VerklaringRejected("malformed", f"unexpected typ {typ!r}")
        missing = [c for c in VERKLARING_CLAIMS if c not in claims and c not in STATUS_CLAIMS]
        if not any(c in claims for c in STATUS_CLAIMS):
            missing.append("status_uri")
        if missing:
            raise VerklaringRejected("claims", f"missing claims: {', '.join(missing)}")
        if canonical_uuid(str(claims["verklaring_id"])) != claims["verklaring_id"]:
            raise VerklaringRejected("claims", "verklaring_id is not a lower-case UUID")
        _check_window(claims, self.clock(), self.leeway, what="verklaring")
        how = "not checked"
        if self.revocation is not None:
            how = self.revocation.check(header, claims)
        return CheckedVerklaring(header, claims, how)


@dataclass
class UserinfoChecker:
    """Checks the userinfo response of v0.7 §2.5 (the JWE, or a signed envelope)."""

    verklaringen: VerklaringChecker
    issuer: str
    client_id: str
    op_jwks_uri: str
    decryption_keys: KeySet | None = None

    def check(self, body: str) -> CheckedUserinfo:
        body = body.strip()
        encrypted = body.count(".") == 4
        signed = body
        if encrypted:
            if self.decryption_keys is None:
                raise VerklaringRejected("decryption", "a JWE needs the relying party's key")
            try:
                _, plaintext = decrypt_jwe(body, self.decryption_keys)
                signed = plaintext.decode("ascii")
            except (JoseRejected, UnicodeDecodeError) as exc:
                reason = exc.reason if isinstance(exc, JoseRejected) else "not a JWS inside"
                raise VerklaringRejected("decryption", f"cannot decrypt: {reason}") from None
        envelope = self._envelope(signed)
        checked = self.verklaringen.check(str(envelope["verklaring"]))
        if checked.claims["verklaring_id"] != envelope["verklaring_id"]:
            raise VerklaringRejected("envelope", "verklaring_id differs from the verklaring's")
        return CheckedUserinfo(encrypted, envelope, checked)

    def _envelope(self, token: str) -> dict[str, Any]:
        try:
            kid = unverified_header(token).get("kid")
            named = kid if isinstance(kid, str) else None
            keys = self.verklaringen.keys.keys(self.op_jwks_uri, named)
            _, claims = verify_jwt(token, keys, SIGNING_ALGS)
        except JoseRejected as exc:
            raise VerklaringRejected("envelope", f"envelope rejected: {exc.reason}") from None
        if claims.get("iss") != self.issuer:
            raise VerklaringRejected("envelope", f"envelope issuer {claims.get('iss')!r}")
        aud = claims.get("aud")
        if aud != self.client_id and not (isinstance(aud, list) and self.client_id in aud):
            raise VerklaringRejected("envelope", "the envelope is for another client (aud)")
        now, leeway = self.verklaringen.clock(), self.verklaringen.leeway
        if _numeric_date(claims, "exp") <= now - leeway:
            raise VerklaringRejected("expired", "the userinfo envelope has expired")
        if _numeric_date(claims, "iat") > now + leeway:
            raise VerklaringRejected("not_yet_valid", "the userinfo envelope is from the future")
        if not isinstance(claims.get("verklaring"), str) or not isinstance(
            claims.get("verklaring_id"), str
        ):
            raise VerklaringRejected("envelope", "the envelope carries no verklaring")
        return claims
