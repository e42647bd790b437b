"""The ``digid`` login method: DigiD over SAML 2.0 Web Browser SSO (SAML Profiles §4.1).

1. ``begin``: a signed ``<AuthnRequest>`` to the IdP over the HTTP-Redirect binding
   (``idp.authn.saml``), asking for at least the configured level and with ``RelayState`` = the
   login transaction id (Bindings §3.4.3: at most 80 bytes; ours are 43). The request ID is kept
   in the state store under the transaction (``put_saml_request``).
2. The IdP answers with the HTTP-POST binding to the fixed ACS URL ``/authn/digid/acs``. That
   POST is cross-site, so the browser-binding cookie (SameSite=Lax) is not sent with it: the web
   adapter (``idp.web.postback``) keeps the form under a one-time ticket and sends the browser
   on, with a same-site GET that carries the cookie, to ``/login/{tx}/digid/return``.
3. ``complete``: the request ID is taken once (``take_saml_request``), the response verified
   (``ServiceProvider.verify_response``: signature, issuer, audience, destination, InResponseTo,
   validity window), the assertion ID used once (``first_use``, Profiles §4.1.4.5), and the level
   read from the ``AuthnContextClassRef``: the login gets exactly that level, and is refused
   below the configured one.
4. The BSN, from the NameID ``s00000000:<bsn>`` (DigiD's BSN sector) or a configured attribute,
   is checked with the elfproef and at once replaced by its keyed hash
   (``registry.Bsn.keyed_hash`` under ``bsn_hash_secret``; DECISIONS.md #12). Only the hash is
   looked up (an identity binding ``method="digid"``), logged (its first 12 characters) or
   stored. No binding: ``BindingRequired`` (``idp.authn.binding``).

DigiD's levels as ``AuthnContextClassRef`` (Logius, DigiD SAML interface): Basis =
PasswordProtectedTransport, Midden = MobileTwoFactorContract (seen in MAX's tests,
``dezi-interface.md`` §6), Substantieel = Smartcard, Hoog = SmartcardPKI. Midden and
Substantieel count as eIDAS substantial, Hoog as high, Basis as low. eIDAS level URIs, which
brokers and eIDAS nodes send, are taken as they are. Anything else is refused, never guessed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol, runtime_checkable

from sqlalchemy.engine import Engine

from idp.audit import get_logger
from idp.authn.base import LoginContext, LoginOutcome, LoginStep, RedirectStep
from idp.authn.binding import BindingRequired, LinkConflict
from idp.authn.saml import (
    CLOCK_SKEW,
    SamlConfigurationError,
    SamlRejected,
    ServiceProvider,
    SpConfig,
)
from idp.errors import ConfigurationError, LoginFailed
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL, loa_rank
from idp.protocol.ports import ProfessionalView
from idp.settings import Settings
from registry import Bsn, Conflict, InvalidIdentifier, bind_identity

log = get_logger("idp.authn.digid")

DIGID_BASIS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
DIGID_MIDDEN = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
DIGID_SUBSTANTIEEL = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard"
DIGID_HOOG = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
LEVEL_OF_CLASS: Mapping[str, str] = {
    DIGID_BASIS: LOA_LOW,
    DIGID_MIDDEN: LOA_SUBSTANTIAL,
    DIGID_SUBSTANTIEEL: LOA_SUBSTANTIAL,
    DIGID_HOOG: LOA_HIGH,
    LOA_LOW: LOA_LOW,
    LOA_SUBSTANTIAL: LOA_SUBSTANTIAL,
    LOA_HIGH: LOA_HIGH,
}
# RequestedAuthnContext, comparison "minimum" (SAML Core §3.3.2.2.1): the weakest class that
# reaches the level; the IdP may authenticate more strongly.
REQUESTED_CLASS = {LOA_LOW: DIGID_BASIS, LOA_SUBSTANTIAL: DIGID_MIDDEN, LOA_HIGH: DIGID_HOOG}
BSN_SECTOR = "s00000000:"
REPLAY_NAMESPACE = "saml-assertion"
ACS_PATH = "/authn/{name}/acs"

FAILED = "The answer from DigiD could not be accepted. Go back to the application and log in again."
EXPIRED = (
    "This DigiD login took too long or was already used. Go back to the application and log in "
    "again."
)
CANCELLED = "The DigiD login was cancelled or did not succeed. Go back to the application."
LEVEL_TOO_LOW = (
    "DigiD confirmed your identity at a lower level than this service needs. Log in with the "
    "DigiD app with an identity check, or with another method."
)
NOT_LINKED = (
    "Your DigiD cannot be used here yet: it first has to be linked to your registration. To link "
    "it, log in with your UZI-pas in this browser, then within 15 minutes log in with DigiD "
    "again; you will be asked to confirm the link. Without a UZI-pas, ask the administrator of "
    "your organisation."
)
TEXT_FOR = {
    "no_request": EXPIRED,
    "replayed": EXPIRED,
    "expired": EXPIRED,
    "conditions": EXPIRED,
    "status": CANCELLED,
    "level_too_low": LEVEL_TOO_LOW,
}


class DigidState(Protocol):
    """The state-store operations this method uses (of ``idp.protocol.ports.LoginMethodState``
    and ``ReplayCache``)."""

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None: ...

    def take_saml_request(self, tx_id: str) -> str | None: ...

    def first_use(self, namespace: str, key: str, ttl: int) -> bool: ...


@runtime_checkable
class BindingLookup(Protocol):
    """The register's identity bindings (``registry.repository.SqlRegister``)."""

    def professional_for_binding(
        self, method: str, subject_hash: str
    ) -> ProfessionalView | None: ...


class BindingStore(BindingLookup, Protocol):
    """Identity bindings: read, and written with their audit record."""

    def bind(self, dezi_nummer: str, method: str, subject_hash: str, actor: str) -> None: ...


@dataclass(frozen=True, slots=True)
class DigidLogin:
    sp: ServiceProvider
    state: DigidState
    bindings: BindingStore
    subject_key: bytes = field(repr=False)  # bsn_hash_secret
    acr: str = LOA_SUBSTANTIAL  # the level asked for and the least accepted
    request_ttl: int = 900
    bsn_attribute: str | None = None  # None: the BSN is in the NameID
    name: str = "digid"
    label: str = "DigiD"

    def begin(self, context: LoginContext) -> LoginStep:
        request = self.sp.authn_request(context.tx_id, (REQUESTED_CLASS[self.acr],))
        self.state.put_saml_request(context.tx_id, request.request_id, self.request_ttl)
        log.info("digid_request_sent", tx=context.tx_id[:8], request_id=request.request_id)
        return RedirectStep(request.url)

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        tx = context.tx_id
        saml_response = form.get("SAMLResponse", "")
        if form.get("RelayState") != tx:
            _refuse(tx, "relay_state")
        if not saml_response:
            _refuse(tx, "no_response")
        request_id = self.state.take_saml_request(tx)  # one response per request
        if request_id is None:
            _refuse(tx, "no_request")
        try:
            assertion = self.sp.verify_response(saml_response, request_id)
        except SamlRejected as exc:
            _refuse(tx, exc.reason, exc.detail)
        ttl = max(1, assertion.valid_until + CLOCK_SKEW - int(time.time()))
        replay_key = f"{assertion.issuer} {assertion.assertion_id}"
        if not self.state.first_use(REPLAY_NAMESPACE, replay_key, ttl):
            _refuse(tx, "replayed")  # Profiles §4.1.4.5
        achieved = LEVEL_OF_CLASS.get(assertion.class_ref)
        if achieved is None:
            _refuse(tx, "unknown_class_ref", assertion.class_ref[:120])
        if loa_rank(achieved) < loa_rank(self.acr):
            _refuse(tx, "level_too_low", assertion.class_ref[:120])
        subject_hash = self._subject_hash(tx, assertion.name_id, assertion.attributes)
        professional = self.bindings.professional_for_binding(self.name, subject_hash)
        if professional is None:
            log.info("digid_not_linked", tx=tx[:8], subject=subject_hash[:12], acr=achieved)
            raise BindingRequired(
                NOT_LINKED,
                method=self.name,
                subject_hash=subject_hash,
                acr=achieved,
                log_detail="digid not_linked",
            )
        log.info(
            "digid_login_accepted",
            tx=tx[:8],
            dezi_nummer=professional.dezi_nummer,
            acr=achieved,
            subject=subject_hash[:12],
        )
        return LoginOutcome(dezi_nummer=professional.dezi_nummer, acr=achieved, method=self.name)

    def _subject_hash(
        self, tx: str, name_id: str, attributes: Mapping[str, tuple[str, ...]]
    ) -> str:
        """The keyed hash of the BSN; the BSN itself goes no further than this function."""
        if self.bsn_attribute is None:
            carried = name_id.removeprefix(BSN_SECTOR) if name_id.startswith(BSN_SECTOR) else ""
        else:
            values = attributes.get(self.bsn_attribute, ())
            carried = values[0].removeprefix(BSN_SECTOR) if len(values) == 1 else ""
        try:
            return Bsn(carried).keyed_hash(self.subject_key)
        except InvalidIdentifier as exc:
            # The reason (format or elfproef), never the value (Bsn's errors never echo it).
            _refuse(tx, "bsn", str(exc)[:80])

    def metadata_xml(self) -> str:
        """This SP's metadata, served at ``/authn/digid/metadata`` (``idp.web.postback``)."""
        return self.sp.metadata_xml()

    def link_identity(self, dezi_nummer: str, subject_hash: str, *, actor: str) -> None:
        """``IdentityLinker``: the binding and its audit record, in one transaction."""
        self.bindings.bind(dezi_nummer, self.name, subject_hash, actor)


def _refuse(tx: str, reason: str, detail: str = "") -> NoReturn:
    """The audit line (no assertion content: it may carry the BSN), then ``LoginFailed``."""
    log.warning("digid_login_refused", tx=tx[:8], reason=reason, detail=detail)
    raise LoginFailed(TEXT_FOR.get(reason, FAILED), log_detail=f"digid {reason}: {detail}")


@dataclass(frozen=True, slots=True)
class RegisterBindings:
    """``BindingStore`` on the register: reads through ``SqlRegister``, writes through
    ``registry.bind_identity`` (which appends the audit record in the same transaction)."""

    lookup: BindingLookup
    engine: Engine

    def professional_for_binding(self, method: str, subject_hash: str) -> ProfessionalView | None:
        return self.lookup.professional_for_binding(method, subject_hash)

    def bind(self, dezi_nummer: str, method: str, subject_hash: str, actor: str) -> None:
        try:
            bind_identity(self.engine, dezi_nummer, method, subject_hash, actor=actor, source="idp")
        except Conflict:
            raise LinkConflict("bound to another professional") from None


def digid_login_from_settings(
    settings: Settings, register: object, state: DigidState | None, engine: Engine | None
) -> DigidLogin:
    """Build the method, reading the metadata, key and certificate now: bad files stop the
    start-up with a message naming them."""
    digid = settings.digid
    if digid is None:
        raise ConfigurationError("the digid login method needs [digid] settings")
    if state is None or engine is None or not isinstance(register, BindingLookup):
        raise ConfigurationError("the digid login method needs the state store and register")
    acs_url = settings.issuer + ACS_PATH.format(name="digid")
    try:
        sp = ServiceProvider(
            SpConfig(
                entity_id=digid.entity_id or settings.issuer,
                acs_url=acs_url,
                key_file=Path(digid.sp_key),
                cert_file=Path(digid.sp_cert),
                idp_metadata=Path(digid.idp_metadata),
                idp_entity_id=digid.idp_entity_id,
            )
        )
    except SamlConfigurationError as exc:
        raise ConfigurationError(f"digid login: {exc}") from None
    if settings.environment == "prod" and not sp.sso_url.startswith("https://"):
        raise ConfigurationError("digid login: the IdP's SSO URL must be https:// in prod")
    levels = {"low": LOA_LOW, "substantial": LOA_SUBSTANTIAL, "high": LOA_HIGH}
    return DigidLogin(
        sp=sp,
        state=state,
        bindings=RegisterBindings(register, engine),
        subject_key=load_or_create_secrets(settings.data_dir)["bsn_hash_secret"].encode(),
        acr=levels[digid.loa],
        request_ttl=settings.login_transaction_ttl,
        bsn_attribute=digid.bsn_attribute,
        label=digid.label,
    )


__all__ = [
    "ACS_PATH",
    "LEVEL_OF_CLASS",
    "DigidLogin",
    "RegisterBindings",
    "digid_login_from_settings",
]
