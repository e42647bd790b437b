"""Value objects that travel between the protocol core, the web adapter and the state store.

Every record that the state store keeps serialises to JSON through ``to_json``/``from_json``, so
the in-process and the Redis store hold exactly the same bytes, and a login that starts on one
worker can finish on another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

import orjson

ClientProfile = Literal["nlgov", "dezi"]
AuthMethod = Literal["private_key_jwt", "tls_client_auth", "none"]
# Whom a code or grant acts for: a care worker under one declaration, an administrator logging
# in for the register API (no organisation), or a client on its own (client credentials).
ActingAs = Literal["declaration", "administrator", "client"]

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
    """JSON round trip for the dataclasses below (tuples come back as tuples).

    ``_nested`` names the fields that hold another record, or a tuple of them, so that a
    session can carry the declarations it read at login (``DeclarationSnapshot``). orjson writes
    the records (nested ones as dataclasses, in field order) with sorted top-level keys:
    deterministic bytes, about ten times faster than the standard library. Bad input raises
    ``orjson.JSONDecodeError``, a ``json.JSONDecodeError`` and so a ``ValueError``.
    """

    __slots__ = ()
    _nested: ClassVar[dict[str, type[_JsonRecord]]] = {}

    def to_json(self) -> str:
        names = _field_names(type(self))
        return orjson.dumps(
            {name: getattr(self, name) for name in names}, option=orjson.OPT_SORT_KEYS
        ).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Self:
        data: dict[str, Any] = orjson.loads(raw)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        for name in _field_names(cls):
            if name not in data:
                continue
            value = data[name]
            nested = cls._nested.get(name)
            if nested is not None and value is not None:
                if isinstance(value, list):
                    value = tuple(nested.from_dict(item) for item in value)
                else:
                    value = nested.from_dict(value)
            elif isinstance(value, list):
                value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
            kwargs[name] = value
        return cls(**kwargs)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _timestamp(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


@dataclass(frozen=True, slots=True)
class DeclarationSnapshot(_JsonRecord):
    """A usable declaration as the register showed it at login (``DeclarationView``).

    ARCHITECTURE.md "The hot path": the declarations a person may use are read once per login
    and carried in the transaction and the OP session, so a silent login, the token and the
    userinfo response never wait on the database. What can change meanwhile is covered by
    revocation marks in the state store (``revocation_keys``; DECISIONS.md #11) and by the
    validity period, checked at every use (``usable_at``).
    """

    declaration_id: str
    dezi_nummer: str
    voorletters: str
    voorvoegsel: str | None
    achternaam: str
    abonnee_nummer: str
    abonnee_naam: str
    rol_code: str
    rol_naam: str
    rol_code_bron: str
    valid_from_ts: int
    valid_until_ts: int | None = None

    @classmethod
    def of(cls, view: Any) -> DeclarationSnapshot:
        """Copy any ``DeclarationView`` (the registry's records satisfy it)."""
        return cls(
            declaration_id=view.declaration_id,
            dezi_nummer=view.dezi_nummer,
            voorletters=view.voorletters,
            voorvoegsel=view.voorvoegsel,
            achternaam=view.achternaam,
            abonnee_nummer=view.abonnee_nummer,
            abonnee_naam=view.abonnee_naam,
            rol_code=view.rol_code,
            rol_naam=view.rol_naam,
            rol_code_bron=view.rol_code_bron,
            valid_from_ts=int(view.valid_from.timestamp()),
            valid_until_ts=_timestamp(view.valid_until),
        )

    @property
    def valid_from(self) -> datetime:
        return datetime.fromtimestamp(self.valid_from_ts, UTC)

    @property
    def valid_until(self) -> datetime | None:
        until = self.valid_until_ts
        return None if until is None else datetime.fromtimestamp(until, UTC)

    def usable_at(self, now: int) -> bool:
        """Inside its validity period (``valid_from <= now < valid_until``)."""
        until = self.valid_until_ts
        return self.valid_from_ts <= now and (until is None or now < until)

    def revocation_keys(self) -> tuple[str, ...]:
        """The marks that make it stale (``RevocationMarks``): the declaration, its
        organisation, its professional."""
        return (
            f"decl:{self.declaration_id}",
            f"org:{self.abonnee_nummer}",
            f"prof:{self.dezi_nummer}",
        )


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
    # The care worker still has to approve sending the verklaring (idp.journey.consent).
    consent_pending: bool = False
    # Every declaration the person could use when she logged in (any client), read once.
    declarations: tuple[DeclarationSnapshot, ...] = ()
    # "client_id|declaration_id" pairs she approved (consent), read with the declarations.
    consents: tuple[str, ...] = ()

    _nested: ClassVar[dict[str, type[_JsonRecord]]] = {"declarations": DeclarationSnapshot}

    def authorization_request(self) -> AuthorizationRequest:
        return _authorization_request(self.request)


@functools.lru_cache(maxsize=4096)
def _authorization_request(raw: str) -> AuthorizationRequest:
    """Parsed once per transaction and process: every step of a login asks for it several
    times, and the record is immutable."""
    return AuthorizationRequest.from_json(raw)


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
    declaration_id: str | None
    acr: str
    auth_time: int
    grant_id: str
    issued_at: int
    claims: str | None = None
    sid: str | None = None
    # What the code is for: one declaration (a care worker acting for an organisation; its
    # snapshot from login travels along), or an administrator's login for the register API.
    acting_as: ActingAs = "declaration"
    declaration: DeclarationSnapshot | None = None

    _nested: ClassVar[dict[str, type[_JsonRecord]]] = {"declaration": DeclarationSnapshot}


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
    declaration_id: str | None
    scope: tuple[str, ...]
    acr: str
    auth_time: int
    issued_at: int
    claims: str | None = None
    sid: str | None = None
    acting_as: ActingAs = "declaration"
    # The declaration it acts under, as read at login: userinfo answers from it, not from
    # the database (revocations reach it through the state store's marks).
    declaration: DeclarationSnapshot | None = None

    _nested: ClassVar[dict[str, type[_JsonRecord]]] = {"declaration": DeclarationSnapshot}


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
    # Read once at login (ARCHITECTURE.md "The hot path"): what a silent login needs.
    declarations: tuple[DeclarationSnapshot, ...] = field(default=())
    consents: tuple[str, ...] = field(default=())

    _nested: ClassVar[dict[str, type[_JsonRecord]]] = {"declarations": DeclarationSnapshot}


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
