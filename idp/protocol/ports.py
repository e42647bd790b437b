"""The ports of the protocol core: what it needs from storage, described as Protocols.

Adapters satisfy them structurally: ``idp.state`` (in-process and Redis) for short-lived protocol
state, ``registry.repository`` for clients, professionals and declarations. Nothing here imports
a web framework, Redis or SQL (ARCHITECTURE.md, "Layers and the direction of imports").

Over 400 lines on purpose: it is the one list of what the core needs, and each Protocol in it is
short (the short-lived state alone is nine ports, one per concern).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from joserfc.jwk import KeySet

from idp.protocol.models import (
    CodeRecord,
    CodeRedemption,
    Grant,
    HitCount,
    LoginTransaction,
    SsoSession,
    UpstreamLogin,
)

# --------------------------------------------------------------------------------------------
# Short-lived protocol state, one small port per concern (ARCHITECTURE.md "idp/state"). Every
# entry has a TTL; single use is atomic. ``StateStore`` is all of them together, as the stores in
# ``idp.state`` implement them; a consumer asks only for the ports it uses.
# --------------------------------------------------------------------------------------------


class TransactionStore(Protocol):
    """Login transactions: an authorization request (RFC 6749 §4.1.1; OIDC Core §3.1.2.1)
    waiting for its login, keyed by transaction id."""

    def put_transaction(self, tx: LoginTransaction, ttl: int) -> None: ...

    def get_transaction(self, tx_id: str) -> LoginTransaction | None: ...

    def take_transaction(self, tx_id: str) -> LoginTransaction | None:
        """Return and delete the transaction atomically (only one browser tab wins)."""
        ...


class CodeStore(Protocol):
    """Authorization codes (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.2.4): short-lived, single use,
    and a second redemption revokes what the first issued."""

    def store_code(self, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
        """Keep the code for ``ttl`` seconds, and remember its grant id for ``reuse_window``
        seconds so that a second redemption can revoke what the first issued."""
        ...

    def redeem_code(self, code: str) -> CodeRedemption:
        """Consume the code atomically: the record the first time; on any later attempt,
        ``reused_grant_id`` (while the reuse window lasts); otherwise both ``None``."""
        ...


class GrantStore(Protocol):
    """Grants behind access tokens (RFC 6749 §1.4, §10.5): what a token or userinfo request
    answers from, and what a revocation ends."""

    def put_grant(self, grant: Grant, ttl: int) -> None: ...

    def get_grant(self, grant_id: str) -> Grant | None: ...

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke for good: a revocation that arrives before ``put_grant`` still wins."""
        ...


class SessionStore(Protocol):
    """The OP's SSO sessions of a browser (the OP session that Back-Channel Logout §2.1 names
    by ``sid``), and the index of one person's sessions."""

    def put_session(self, session: SsoSession, ttl: int) -> None: ...

    def get_session(self, sid: str) -> SsoSession | None: ...

    def delete_session(self, sid: str) -> None: ...

    def sessions_of(self, dezi_nummer: str) -> list[SsoSession]:
        """The live sessions of one person (to end them all, ASVS 7.4.2 and 7.4.5)."""
        ...

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
        """The end of a login in one round trip, with the same result as the separate calls in
        this order: ``delete_session(end_session)`` (a fresh login ends the old session, ASVS
        7.2.4), ``CodeStore.store_code(code, code_record, code_ttl, reuse_window)``,
        ``put_session``. ``code`` and ``code_record`` come together or not at all. Arguments
        are checked before anything is written."""
        ...


class ReplayCache(Protocol):
    """One-time values seen before: client-assertion ``jti`` (RFC 7523 §3 item 7), logout
    tokens (Back-Channel Logout §2.6), SAML assertion ids (SAML Profiles §4.1.4.5)."""

    def first_use(self, namespace: str, key: str, ttl: int) -> bool:
        """True exactly once per (namespace, key) within ``ttl`` seconds (SET NX)."""
        ...


class Counters(Protocol):
    """Fixed-window counters for rate limits and lockouts (``idp.protocol.throttle``; ASVS
    6.3.1)."""

    def count_hit(self, scope: str, key: str, window: int) -> HitCount:
        """Add one hit to (scope, key) atomically and return the count. The window opens with
        the first hit and closes ``window`` seconds later; later hits do not extend it."""
        ...

    def hit_count(self, scope: str, key: str) -> HitCount:
        """The count of (scope, key) without adding a hit (``HitCount()`` when none is open)."""
        ...

    def clear_hits(self, scope: str, key: str) -> None: ...


class LoginMethodState(Protocol):
    """One-time scratch state of login methods (``idp.authn``): issued once, taken once."""

    # WebAuthn ceremony challenges (W3C WebAuthn L2 §13.4.3).
    def put_challenge(self, key: str, challenge: str, ttl: int) -> None:
        """Keep ``challenge`` under ``key`` for ``ttl`` seconds (replacing an older one)."""
        ...

    def take_challenge(self, key: str) -> str | None:
        """Return and delete the challenge atomically: only the first caller gets it."""
        ...

    # Requests sent to an upstream OP (idp.authn.oidc_upstream), keyed by their ``state``
    # (RFC 6749 §10.12; OIDC Core §3.1.2.1).
    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None: ...

    def take_upstream_login(self, state: str) -> UpstreamLogin | None:
        """Return and delete the record atomically: a ``state`` is answered at most once."""
        ...

    # A cross-site form post (a SAML IdP's HTTP-POST binding) relayed to a same-site GET under a
    # random one-time ticket (idp.web.postback); and the SAML request each login is waiting on.
    def stash_postback(self, ticket: str, payload: str, ttl: int) -> None: ...

    def take_postback(self, ticket: str) -> str | None:
        """Return and delete the payload atomically: a ticket is redeemed at most once."""
        ...

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None: ...

    def take_saml_request(self, tx_id: str) -> str | None:
        """Return and delete the request ID atomically: one response per request (SAML
        Profiles §4.1.4.3)."""
        ...


class RevocationMarks(Protocol):
    """Register records that are no longer usable, pushed into the state store synchronously by
    every revoke or suspend, so that token and userinfo requests need not read the database
    (ARCHITECTURE.md "The hot path"; Dezi v0.7 §6). Keys name records: ``decl:<id>``,
    ``prof:<dezi_nummer>``, ``org:<ura>``."""

    def mark_revoked(self, keys: Sequence[str], ttl: int) -> None:
        """Mark every key for ``ttl`` seconds (longer than any token it must stop), in one round
        trip. Marking a marked key starts its ``ttl`` again."""
        ...

    def any_revoked(self, keys: Sequence[str]) -> bool:
        """True if at least one key is marked, in one round trip; False for no keys."""
        ...


class Health(Protocol):
    """Readiness (``/healthz``) and the end of the app's lifespan."""

    def ping(self) -> bool:
        """False, not an exception, when the store cannot be reached."""
        ...

    def close(self) -> None: ...


class StateStore(
    TransactionStore,
    CodeStore,
    GrantStore,
    SessionStore,
    ReplayCache,
    Counters,
    LoginMethodState,
    RevocationMarks,
    Health,
    Protocol,
):
    """All the state ports together: what ``idp.state``'s stores implement and the composition
    root hands out. Consumers should ask for the narrowest port that serves them."""


# --------------------------------------------------------------------------------------------
# The register, as the IdP sees it. Views are read-only Protocols so that the registry's own
# frozen dataclasses satisfy them without the registry importing anything of the IdP.
# --------------------------------------------------------------------------------------------


class ClientView(Protocol):
    """A registered relying party."""

    @property
    def client_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def redirect_uris(self) -> tuple[str, ...]: ...
    @property
    def auth_method(self) -> str: ...  # private_key_jwt | tls_client_auth | none
    @property
    def jwks(self) -> dict[str, Any] | None: ...
    @property
    def jwks_uri(self) -> str | None: ...
    @property
    def profile(self) -> str: ...  # nlgov | dezi
    @property
    def organisations(self) -> tuple[str, ...]: ...  # URAs; empty means no restriction
    @property
    def id_token_signed_response_alg(self) -> str: ...
    @property
    def userinfo_signed_response_alg(self) -> str | None: ...
    @property
    def sector_identifier(self) -> str | None: ...
    @property
    def backchannel_logout_uri(self) -> str | None: ...
    @property
    def post_logout_redirect_uris(self) -> tuple[str, ...]: ...
    @property
    def active(self) -> bool: ...
    @property
    def grant_types(self) -> tuple[str, ...]: ...  # RFC 7591 §2, e.g. client_credentials
    @property
    def scopes(self) -> tuple[str, ...]: ...  # RFC 7591 §2 "scope": what it may be granted


class ProfessionalView(Protocol):
    @property
    def dezi_nummer(self) -> str: ...
    @property
    def voorletters(self) -> str: ...
    @property
    def voorvoegsel(self) -> str | None: ...
    @property
    def achternaam(self) -> str: ...
    @property
    def big_nummer(self) -> str | None: ...


class DeclarationView(Protocol):
    """One declaration (verklaring basis): professional × organisation × role."""

    @property
    def declaration_id(self) -> str: ...
    @property
    def dezi_nummer(self) -> str: ...
    @property
    def voorletters(self) -> str: ...
    @property
    def voorvoegsel(self) -> str | None: ...
    @property
    def achternaam(self) -> str: ...
    @property
    def abonnee_nummer(self) -> str: ...  # URA
    @property
    def abonnee_naam(self) -> str: ...
    @property
    def rol_code(self) -> str: ...
    @property
    def rol_naam(self) -> str: ...
    @property
    def rol_code_bron(self) -> str: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime | None: ...


class ClientStore(Protocol):
    def get_client(self, client_id: str) -> ClientView | None: ...


class Register(Protocol):
    """Read side of the register used on the login path.

    ``usable_*`` return only declarations that are active, inside their validity, of an active
    organisation, and (when ``organisations`` is not empty) for one of those URAs. They read the
    database on every call (DECISIONS.md #11: no cache on the login path).
    """

    def find_professional(self, dezi_nummer: str) -> ProfessionalView | None: ...

    def usable_declarations(
        self, dezi_nummer: str, organisations: Sequence[str], at: datetime
    ) -> Sequence[DeclarationView]: ...

    def usable_declaration(self, declaration_id: str, at: datetime) -> DeclarationView | None: ...

    def login_profile(
        self, dezi_nummer: str, at: datetime
    ) -> tuple[Sequence[DeclarationView], Sequence[tuple[str, str]]]:
        """The one read of a login: the usable declarations (any organisation) and the
        (client id, declaration id) pairs of the consents in force."""
        ...

    def is_registry_admin(self, dezi_nummer: str) -> bool: ...

    def admin_organisations(self, dezi_nummer: str) -> list[str]: ...

    def ping(self) -> bool: ...


class DeclarationStatusView(Protocol):
    """Where a declaration stands, for the Dezi status endpoint (v0.7 §6)."""

    @property
    def declaration_id(self) -> str: ...
    @property
    def status(self) -> str: ...  # active | suspended | revoked | expired
    @property
    def organisation_status(self) -> str: ...  # pending | active | suspended | ended
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime | None: ...


class RevocationView(Protocol):
    """A declaration that is no longer usable for a reason other than time, and since when."""

    @property
    def declaration_id(self) -> str: ...
    @property
    def revoked_at(self) -> datetime: ...
    @property
    def dezi_nummer(self) -> str: ...


class RevocationSource(Protocol):
    """Read side of the register for revocation (Dezi v0.7 §6); reads the database each call."""

    def declaration_status(self, declaration_id: str) -> DeclarationStatusView | None: ...

    def revocations(self, since: datetime, at: datetime) -> Sequence[RevocationView]: ...


# --------------------------------------------------------------------------------------------
# Keys.
# --------------------------------------------------------------------------------------------


class Signer(Protocol):
    """The OP's own signing keys (``idp.keys.KeyRing``)."""

    def sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str: ...

    def verification_keys(self) -> KeySet: ...

    def public_jwks(self, now: int | None = None) -> dict[str, Any]: ...

    def public_jwks_json(self) -> bytes:
        """``public_jwks()`` as UTF-8 JSON, serialised once per set of keys."""
        ...


# --------------------------------------------------------------------------------------------
# Consent (issue 6 item 5): durable, in the register, audited.
# --------------------------------------------------------------------------------------------


class ConsentView(Protocol):
    @property
    def consent_id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_name(self) -> str: ...
    @property
    def declaration_id(self) -> str: ...
    @property
    def abonnee_naam(self) -> str: ...


class ConsentStore(Protocol):
    def has_consent(self, dezi_nummer: str, client_id: str, declaration_id: str) -> bool: ...

    def record_consent(self, dezi_nummer: str, client_id: str, declaration_id: str) -> None: ...

    def withdraw_consent(self, dezi_nummer: str, consent_id: str) -> str | None: ...

    def consents_of(self, dezi_nummer: str) -> Sequence[ConsentView]: ...

    def consented(self, dezi_nummer: str) -> Sequence[tuple[str, str]]:
        """(client id, declaration id) of every consent in force (read once per login)."""
        ...
