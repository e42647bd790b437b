"""Upstream OIDC login: a recognised means reached through an OpenID Provider (a DigiD broker,
eHerkenning, ZORG-ID, an eIDAS node), with this OP as its relying party.

One method per ``upstream_providers`` entry (``idp.settings_upstream``), named by its ``name``.

1. ``begin``: discovery (cached), then a redirect to the upstream authorization endpoint with
   PKCE S256, ``state`` and ``nonce`` (OIDC Core §3.1.2.1; RFC 7636 §4.2), ``acr_values`` of the
   declared level and, unless turned off, ``prompt=login``. ``state``, ``nonce`` and the PKCE
   verifier are kept in the state store under the ``state`` (``put_upstream_login``), bound to the
   login transaction and this method.
2. The upstream sends the browser to ``{issuer}/upstream/{name}/return``: ONE fixed URI, because
   the upstream compares redirect URIs exactly (RFC 9700 §2.1, §4.1.3) and cannot register one
   per transaction. The transaction id is the part of ``state`` before the dot
   (``transaction_id``); the web adapter then checks the browser-binding cookie as for any step.
3. ``complete``: the ``state`` record is taken once (a replay finds nothing), ``iss`` is checked
   (RFC 9207 §2.4), the code is redeemed with ``private_key_jwt`` and the ID token validated
   (``idp.authn.oidc_rp``, OIDC Core §3.1.3.7). The upstream must prove at least the declared
   level; the login gets min(declared, proved), never more (NL GOV OIDC; DECISIONS.md #7).
4. The configured claim maps the person to a professional: an identity binding under a keyed hash
   (``registry.identifiers.keyed_subject_hash``, DECISIONS.md #12), or a Dezi number carried in
   the claim. No binding yet: ``BindingRequired``, so ``idp.web.linking`` offers the first-time
   link to a browser with a session at level high, and otherwise shows how to get linked (with
   a link code for the administrator), the same for everyone (ASVS 6.3.8).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, runtime_checkable

from sqlalchemy.engine import Engine

from idp.audit import get_logger
from idp.authn.base import LoginContext, LoginOutcome, LoginStep, RedirectStep
from idp.authn.binding import BindingRequired, LinkConflict
from idp.authn.oidc_rp import (
    CLOCK_SKEW,
    HttpFetcher,
    IdTokenRules,
    UpstreamDirectory,
    UpstreamError,
    authorization_url,
    client_assertion,
    code_from_response,
    new_secret,
    redeem_code,
    validate_id_token,
)
from idp.authn.upstream_key import load_client_key
from idp.errors import LoginFailed
from idp.protocol.jose import SigningKey
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL, UpstreamLogin, loa_rank
from idp.protocol.pkce import s256_challenge
from idp.protocol.ports import ProfessionalView, Register
from idp.settings_upstream import UpstreamProvider
from registry import Bsn, Conflict, InvalidIdentifier, bind_identity, keyed_subject_hash

log = get_logger("idp.authn.oidc_upstream")

RETURN_PATH = "/upstream/{name}/return"
EIDAS = {"low": LOA_LOW, "substantial": LOA_SUBSTANTIAL, "high": LOA_HIGH}
LEVEL_NAME = {uri: name for name, uri in EIDAS.items()}
DEZI_RE = re.compile(r"[0-9]{9}", re.ASCII)
SUBJECT_KIND = "oidc"  # keyed-hash domain of issuer-scoped subjects

UNAVAILABLE = (
    "{label} cannot be reached right now. Try again in a few minutes, or log in another way."
)
FAILED = (
    "The login with {label} could not be completed. Go back to the application and start again."
)
EXPIRED = (
    "This login with {label} has expired or was already used. Go back to the application and "
    "start again."
)
CANCELLED = (
    "The login with {label} was cancelled or refused. Go back to the application to try again, "
    "or log in another way."
)
LEVEL_TOO_LOW = (
    "{label} confirmed who you are at a lower level of assurance than this login method needs "
    "({level}). Log in with a means at that level, or choose another login method."
)
NOT_LINKED = (
    "Your {label} login cannot be used here yet: it first has to be linked to your registration "
    "as a care professional. To link it, log in once at level high in this browser (with your "
    "UZI-pas) and then log in with {label} again; you will be asked to confirm the link. "
    "Otherwise ask the administrator of your organisation, with this link code: {code}."
)
NOT_REGISTERED = (
    "The Dezi number that {label} confirmed cannot log in here. Ask the administrator of your "
    "organisation to register you, then try again."
)


class UpstreamLoginStore(Protocol):
    """The two state-store operations this method uses (``ports.LoginMethodState``)."""

    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None: ...

    def take_upstream_login(self, state: str) -> UpstreamLogin | None: ...


@runtime_checkable
class BindingLookup(Protocol):
    """The register's identity bindings (``registry.repository.SqlRegister``)."""

    def professional_for_binding(
        self, method: str, subject_hash: str
    ) -> ProfessionalView | None: ...


@dataclass(frozen=True, slots=True)
class RegisterLinker:
    """Writes an identity binding with its audit record in one transaction
    (``registry.bind_identity``), for the first-time link of ``idp.web.linking``."""

    engine: Engine

    def __call__(self, dezi_nummer: str, method: str, subject_hash: str, actor: str) -> None:
        try:
            bind_identity(self.engine, dezi_nummer, method, subject_hash, actor=actor, source="idp")
        except Conflict:
            raise LinkConflict("bound to another professional") from None


@dataclass(frozen=True, slots=True)
class OidcUpstreamLogin:
    provider: UpstreamProvider
    our_issuer: str
    directory: UpstreamDirectory
    fetcher: HttpFetcher
    store: UpstreamLoginStore
    register: Register
    bindings: BindingLookup | None
    linker: Callable[[str, str, str, str], None] | None  # (dezi_nummer, method, hash, actor)
    # The installation's subject-hash key (secrets.json bsn_hash_secret) and our client key.
    subject_key: bytes = field(repr=False)
    key: SigningKey = field(repr=False)
    ttl: int  # seconds a started upstream login may take (the login transaction's TTL)

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def label(self) -> str:
        return self.provider.label

    @property
    def acr(self) -> str:
        return EIDAS[self.provider.acr]

    @property
    def redirect_uri(self) -> str:
        return self.our_issuer + RETURN_PATH.format(name=self.name)

    def transaction_id(self, params: Mapping[str, str]) -> str | None:
        """The login transaction a response belongs to: ``state`` is ``{tx_id}.{random}``."""
        tx_id, dot, rest = params.get("state", "").partition(".")
        return tx_id if dot and rest and 0 < len(tx_id) <= 100 else None

    def begin(self, context: LoginContext) -> LoginStep:
        try:
            metadata = self.directory.metadata()
        except UpstreamError as exc:
            self._refuse(context.tx_id, exc, UNAVAILABLE)
        state = f"{context.tx_id}.{new_secret()}"
        nonce, verifier = new_secret(), new_secret()
        record = UpstreamLogin(
            tx_id=context.tx_id,
            method=self.name,
            nonce=nonce,
            code_verifier=verifier,
            created_at=int(time.time()),
        )
        self.store.put_upstream_login(state, record, self.ttl)
        params = {
            "response_type": "code",
            "client_id": self.provider.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.provider.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": "S256",
        }
        acr_values = self.provider.acr_values
        acr_values = (self.acr,) if acr_values is None else acr_values
        if acr_values:
            params["acr_values"] = " ".join(acr_values)
        if self.provider.reauthenticate:
            params["prompt"] = "login"
        claim = self.provider.claim
        if claim.maps_to == "dezi_nummer" and claim.name != "sub":
            # OIDC Core §5.5: ask for the claim in the ID token itself.
            params["claims"] = json.dumps({"id_token": {claim.name: {"essential": True}}})
        log.info("upstream_login_started", provider=self.name, tx=context.tx_id[:8])
        return RedirectStep(authorization_url(metadata, params))

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        state = form.get("state", "")
        record = self.store.take_upstream_login(state) if 0 < len(state) <= 512 else None
        if record is None or record.tx_id != context.tx_id or record.method != self.name:
            self._refuse(context.tx_id, UpstreamError("state", "unknown, used or foreign"), EXPIRED)
        try:
            claims = self._id_token_claims(form, record)
            acr = self._achieved_level(claims)
        except UpstreamError as exc:
            text = {
                "upstream_error": CANCELLED,
                "unavailable": UNAVAILABLE,
                "acr": LEVEL_TOO_LOW.replace("{level}", self.provider.acr),
            }.get(exc.reason, FAILED)
            self._refuse(context.tx_id, exc, text)
        professional = self._professional(context.tx_id, claims, acr)
        log.info(
            "upstream_login_accepted",
            provider=self.name,
            tx=context.tx_id[:8],
            dezi_nummer=professional.dezi_nummer,
            acr=acr,
            upstream_acr=claims.get("acr"),
        )
        return LoginOutcome(dezi_nummer=professional.dezi_nummer, acr=acr, method=self.name)

    # -- steps ---------------------------------------------------------------------------------

    def _id_token_claims(self, params: Mapping[str, str], record: UpstreamLogin) -> dict[str, Any]:
        metadata = self.directory.metadata()
        code = code_from_response(params, metadata)
        now = int(time.time())
        assertion = client_assertion(
            self.key, self.provider.signing_alg, self.provider.client_id, metadata.issuer, now
        )
        token = redeem_code(
            self.fetcher,
            metadata,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": record.code_verifier,
                "client_id": self.provider.client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )
        rules = IdTokenRules(
            issuer=metadata.issuer,
            client_id=self.provider.client_id,
            algorithms=self.provider.id_token_algs,
        )
        claims = validate_id_token(token, self.directory, rules, record.nonce, now)
        auth_time = claims.get("auth_time")
        if self.provider.reauthenticate and isinstance(auth_time, int):
            # prompt=login was sent: an authentication from before this login is not fresh.
            if auth_time < record.created_at - CLOCK_SKEW:
                raise UpstreamError("auth_time", f"auth_time {record.created_at - auth_time} s old")
        return claims

    def _achieved_level(self, claims: Mapping[str, Any]) -> str:
        """The eIDAS level the upstream proved, at least the declared one; the outcome is the
        lower of the two (never above what the upstream proved, never above what we declare)."""
        value = claims.get("acr")
        if not isinstance(value, str):
            raise UpstreamError("acr", "no acr in the ID token")
        name = self.provider.acr_map.get(value) or LEVEL_NAME.get(value)
        if name is None:
            raise UpstreamError("acr", f"unknown acr {value[:100]!r}")
        proved = EIDAS[name]
        if loa_rank(proved) < loa_rank(self.acr):
            raise UpstreamError("acr", f"acr {value[:100]!r} below {self.provider.acr}")
        return min(proved, self.acr, key=loa_rank)

    def link_identity(self, dezi_nummer: str, subject_hash: str, *, actor: str) -> None:
        """``IdentityLinker``: bind the subject under ``binding_method`` (first-time link)."""
        if self.linker is None:
            raise LinkConflict("this installation cannot write identity bindings")
        self.linker(dezi_nummer, self.provider.binding_method, subject_hash, actor)

    def _professional(self, tx_id: str, claims: Mapping[str, Any], acr: str) -> ProfessionalView:
        claim = self.provider.claim
        value = claims.get(claim.name)
        if not isinstance(value, str) or not 0 < len(value) <= 255:
            self._refuse(tx_id, UpstreamError("claim", f"{claim.name} missing"), FAILED)
        if claim.maps_to == "dezi_nummer":
            found = self.register.find_professional(value) if DEZI_RE.fullmatch(value) else None
            if found is None:
                self._refuse(tx_id, UpstreamError("not_registered"), NOT_REGISTERED)
            return found
        try:
            subject_hash = (
                Bsn(value).keyed_hash(self.subject_key)
                if claim.hash_as == "bsn"
                else keyed_subject_hash(
                    self.subject_key, SUBJECT_KIND, f"{self.provider.issuer} {value}"
                )
            )
        except InvalidIdentifier:
            self._refuse(tx_id, UpstreamError("claim", f"{claim.name} is not a BSN"), FAILED)
        bound = (
            self.bindings.professional_for_binding(self.provider.binding_method, subject_hash)
            if self.bindings is not None
            else None
        )
        if bound is None:
            # Proved but bound to nobody: idp.web.linking offers the first-time link.
            log.info(
                "upstream_login_not_linked",
                provider=self.name,
                tx=tx_id[:8],
                subject=subject_hash[:12],
            )
            raise BindingRequired(
                NOT_LINKED.replace("{label}", self.label).replace("{code}", subject_hash),
                method=self.name,
                subject_hash=subject_hash,
                acr=acr,
                log_detail=f"upstream {self.name} not_linked",
            )
        return bound

    def _refuse(self, tx_id: str, error: UpstreamError, text: str) -> NoReturn:
        """The audit line, then ``LoginFailed`` with a text for the user."""
        log.warning(
            "upstream_login_refused",
            provider=self.name,
            tx=tx_id[:8],
            reason=error.reason,
            detail=error.detail[:300],
        )
        raise LoginFailed(
            text.replace("{label}", self.label),
            log_detail=f"upstream {self.name} {error.reason}: {error.detail[:300]}",
        )


# -- building from settings ------------------------------------------------------------------


def upstream_login(
    provider: UpstreamProvider,
    *,
    our_issuer: str,
    fetcher: HttpFetcher,
    store: UpstreamLoginStore,
    register: Register,
    subject_key: bytes,
    ttl: int,
    engine: Engine | None = None,
) -> OidcUpstreamLogin:
    """Build the method, reading its key now: a bad file stops the start-up. Without
    ``engine`` it cannot write first-time identity bindings (``link_identity``)."""
    return OidcUpstreamLogin(
        provider=provider,
        our_issuer=our_issuer,
        directory=UpstreamDirectory(provider.issuer, fetcher),
        fetcher=fetcher,
        store=store,
        register=register,
        bindings=register if isinstance(register, BindingLookup) else None,
        linker=RegisterLinker(engine) if engine is not None else None,
        subject_key=subject_key,
        key=load_client_key(provider.private_key_file, provider.signing_alg),
        ttl=ttl,
    )


__all__ = [
    "RETURN_PATH",
    "OidcUpstreamLogin",
    "RegisterLinker",
    "upstream_login",
]
