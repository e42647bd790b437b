"""Value objects that travel between the protocol core, the web adapter and the state store.

Every record that the state store keeps serialises to JSON through ``to_json``/``from_json``, so
the in-process and the Redis store hold exactly the same bytes, and a login that starts on one
worker can finish on another.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, Self

import orjson

ClientProfile = Literal["nlgov", "dezi"]
AuthMethod = Literal["private_key_jwt", "tls_client_auth", "none"]

LOA_LOW = "http://eidas.europa.eu/LoA/low"
LOA_SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"
LOA_HIGH = "http://eidas.europa.eu/LoA/high"
LOA_ORDER: tuple[str, ...] = (LOA_LOW, LOA_SUBSTANTIAL, LOA_HIGH)


def loa_rank(acr: str) -> int:
    """Rank of an eIDAS level URI (low < substantial < high); unknown values rank below low."""
    try:
        return LOA_ORDER.index(acr)
    except ValueError:
        return -1


class _JsonRecord:
    """JSON round trip for the flat dataclasses below (tuples come back as tuples).

    Every field is a string, an integer, ``None`` or a tuple of strings, so a shallow dict is the
    whole record; orjson writes it with sorted keys (deterministic bytes, as before) and reads
    it about ten times faster than the standard library. Bad input raises
    ``orjson.JSONDecodeError``, a ``json.JSONDecodeError`` and so a ``ValueError``.
    """

    __slots__ = ()

    def to_json(self) -> str:
        names = _field_names(type(self))
        return orjson.dumps(
            {name: getattr(self, name) for name in names}, option=orjson.OPT_SORT_KEYS
        ).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Self:
        data: dict[str, Any] = orjson.loads(raw)
        kwargs: dict[str, Any] = {}
        for name in _field_names(cls):
            if name not in data:
                continue
            value = data[name]
            kwargs[name] = tuple(value) if isinstance(value, list) else value
        return cls(**kwargs)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True, slots=True)
class AuthorizationRequest(_JsonRecord):
    """A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1)."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    login_hint: str | None = None
    claims: str | None = None  # the raw ``claims`` parameter (JSON), validated already


@dataclass(frozen=True, slots=True)
class LoginTransaction(_JsonRecord):
    """An authorization request waiting for the browser to finish logging in.

    ``browser_binding`` is the SHA-256 of a random value kept in a cookie, so that only the
    browser that started the transaction can finish it (no login CSRF, no session swap).
    """

    tx_id: str
    request: str  # AuthorizationRequest.to_json()
    browser_binding: str
    created_at: int
    # Filled in once the login method has completed:
    dezi_nummer: str | None = None
    acr: str | None = None
    auth_time: int | None = None
    login_method: str | None = None
    declaration_ids: tuple[str, ...] = ()
    # "URA:rol_code" pairs the login method limited this login to (a UZI card), or empty.
    restrict_to: tuple[str, ...] = ()
    # Set when an existing OP session answered silently (no authentication in this transaction).
    sid: str | None = None
    # The care worker still has to approve sending the verklaring (idp.web.consent).
    consent_pending: bool = False

    def authorization_request(self) -> AuthorizationRequest:
        return AuthorizationRequest.from_json(self.request)


@dataclass(frozen=True, slots=True)
class CodeRecord(_JsonRecord):
    """What an authorization code stands for (RFC 6749 §4.1.2); kept ≤ 60 s, redeemed once."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    dezi_nummer: str
    declaration_id: str
    acr: str
    auth_time: int
    grant_id: str
    issued_at: int
    claims: str | None = None
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class CodeRedemption:
    """Outcome of ``StateStore.redeem_code``: the record the first time, the grant id on reuse."""

    record: CodeRecord | None = None
    reused_grant_id: str | None = None


@dataclass(frozen=True, slots=True)
class HitCount:
    """A fixed-window counter of ``StateStore.count_hit`` (rate limits, ``idp.protocol.throttle``).

    ``count`` is the number of hits in the open window (0: none open); ``resets_in`` the whole
    seconds, rounded up, until that window closes (0 when none is open).
    """

    count: int = 0
    resets_in: int = 0


@dataclass(frozen=True, slots=True)
class Grant(_JsonRecord):
    """The authorisation behind issued access tokens; deleting it revokes them (RFC 6749 §10.5)."""

    grant_id: str
    client_id: str
    sub: str
    dezi_nummer: str
    declaration_id: str
    scope: tuple[str, ...]
    acr: str
    auth_time: int
    issued_at: int
    claims: str | None = None
    sid: str | None = None


@dataclass(frozen=True, slots=True)
class SsoSession(_JsonRecord):
    """The OP session of one browser (one shift): absolute and idle expiry enforced by the core."""

    sid: str
    dezi_nummer: str
    acr: str
    auth_time: int
    login_method: str
    created_at: int
    last_seen: int
    clients: tuple[str, ...] = field(default=())
    grants: tuple[str, ...] = field(default=())
    restrict_to: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class UpstreamLogin(_JsonRecord):
    """An authorization request this OP sent to an upstream OP as a relying party
    (``idp.authn.oidc_upstream``), kept under its ``state`` until the browser comes back.

    Single use (taken atomically): a replayed ``state`` finds nothing (RFC 6749 §10.12,
    OIDC Core §3.1.2.1). ``nonce`` and ``code_verifier`` never leave the server except in the
    requests they belong to (OIDC Core §3.1.3.7 point 11; RFC 7636 §4.5).
    """

    tx_id: str
    method: str
    nonce: str
    code_verifier: str
    created_at: int
