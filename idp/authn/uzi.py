"""The ``uzi`` login method: a UZI-pas in a card reader, over TLS client authentication.

Level high (the UZI PoC sets ``http://eidas.europa.eu/LoA/high`` for the card,
``uzi-certificates.md`` §7). The journey:

1. ``begin``: a page asks the user to put the card in the reader and continue. Its form posts to
   the mTLS origin (``uzi_mtls_url``): the issuer's host on another port, where the TLS proxy
   (Debian nginx, ``deploy/nginx-uzi.conf.template``) asks for an optional client certificate
   against the UZI CA bundle and forwards what it saw in headers (§7 "For this project's stack").
2. ``complete``: the web adapter has put that certificate in ``LoginContext.client_certificate``
   only if the request came from a trusted proxy address (``idp.web.proxy``). The method then
   checks it again itself (``certs.verify``: chain to the configured bundle, validity,
   digitalSignature, CRL), reads the ``2.5.5.5`` name (``certs.uzi``, §4), accepts only
   care-provider cards (``Z``; ``N``/``M``/``S`` carry role ``00.000``), and maps the UZI number
   to a professional: an identity binding ``method="uzi"`` if one exists, else the professional
   whose Dezi number is the UZI number (in Dezi the UZI number is the Dezi number).
3. The login is limited to the card's (URA, role) (``LoginOutcome.restrict_to``): the card's
   role and URA must agree with a declaration in the register (issue 5, item 3). The PoC ignores
   them (§7, "Role and URA from the card are not used"); this product does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, Protocol, runtime_checkable

from certs import (
    CardType,
    CertificateRejected,
    CertificateVerifier,
    RejectReason,
    TrustConfigurationError,
    UziIdentity,
    UziNameError,
    load_certificate,
    uzi_identity,
)
from idp.audit import get_logger
from idp.authn.base import ClientCertificate, FormStep, LoginContext, LoginOutcome, LoginStep
from idp.errors import ConfigurationError, LoginFailed
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH
from idp.protocol.ports import ProfessionalView, Register
from idp.settings import Settings
from registry.identifiers import keyed_subject_hash

log = get_logger("idp.authn.uzi")

PROXY_SUCCESS = "SUCCESS"  # nginx $ssl_client_verify
PROXY_NONE = "NONE"

NO_CARD = (
    "No UZI-pas was presented. Put your card in the reader, press Continue, and choose the "
    "card's certificate when your browser asks."
)
REJECTED: dict[RejectReason, str] = {
    RejectReason.UNREADABLE: "The certificate from your card could not be read. Try again.",
    RejectReason.NOT_YET_VALID: "The certificate on this UZI-pas is not valid yet.",
    RejectReason.EXPIRED: (
        "The certificate on this UZI-pas has expired. Ask the UZI register (CIBG) for a new card."
    ),
    RejectReason.UNTRUSTED: (
        "This certificate was not issued by the UZI register. Log in with your UZI-pas."
    ),
    RejectReason.KEY_USAGE: (
        "This is not the card's authentication certificate. Choose the UZI-pas authentication "
        "certificate when your browser asks."
    ),
    RejectReason.REVOKED: (
        "This UZI-pas has been revoked. Contact the UZI register (CIBG) or log in another way."
    ),
    RejectReason.REVOCATION_UNKNOWN: (
        "Whether this UZI-pas is still valid cannot be checked right now. Try again later or "
        "log in another way."
    ),
}
NOT_VERIFIED = "The certificate on this card could not be verified. Log in with your UZI-pas."
NO_UZI_NAME = "This certificate carries no valid UZI-pas identity. Log in with your UZI-pas."
NOT_REGISTERED = (
    "This UZI-pas is not registered here. Ask the administrator of your organisation to "
    "register you, then try again."
)


def no_role_text(card_type: CardType) -> str:
    return (
        f"This card is a {card_type.dutch_name}, which carries no care-provider role, so it "
        "cannot be used to log in here. Use your zorgverlenerpas (care-provider card) or "
        "another login method."
    )


@runtime_checkable
class BindingLookup(Protocol):
    """The register's identity bindings (``registry.repository.SqlRegister``)."""

    def professional_for_binding(
        self, method: str, subject_hash: str
    ) -> ProfessionalView | None: ...


@dataclass(frozen=True, slots=True)
class UziLogin:
    register: Register
    verifier: CertificateVerifier
    mtls_origin: str
    # UZI number → the professional an identity binding ``method="uzi"`` names, if any.
    bound_professional: Callable[[str], ProfessionalView | None] | None = None
    acr: str = LOA_HIGH
    name: str = "uzi"
    label: str = "UZI-pas (card reader)"

    def begin(self, context: LoginContext) -> LoginStep:
        action = f"{self.mtls_origin}/login/{context.tx_id}/{self.name}"
        return FormStep(
            "login_uzi.html", {"action": action, "error": None}, form_origins=(self.mtls_origin,)
        )

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        presented = context.client_certificate
        identity = self._card_identity(context.tx_id, presented)
        if identity.card_type is not CardType.ZORGVERLENER:
            _refuse(context.tx_id, "no_role", no_role_text(identity.card_type), identity)
        professional = self._professional(identity.uzi_number)
        if professional is None:
            _refuse(context.tx_id, "not_registered", NOT_REGISTERED, identity)
        log.info(
            "uzi_card_accepted",
            tx=context.tx_id[:8],
            uzi_nummer=identity.uzi_number,
            dezi_nummer=professional.dezi_nummer,
            ura=identity.ura,
            rol_code=identity.role_code,
        )
        return LoginOutcome(
            dezi_nummer=professional.dezi_nummer,
            acr=self.acr,
            method=self.name,
            restrict_to=((identity.ura, identity.role_code),),
        )

    def _card_identity(self, tx_id: str, presented: ClientCertificate | None) -> UziIdentity:
        if presented is None or presented.pem is None or presented.proxy_verdict == PROXY_NONE:
            verdict = presented.proxy_verdict if presented else "no trusted proxy header"
            _refuse(tx_id, "no_certificate", NO_CARD, detail=verdict)
        try:
            certificate = load_certificate(presented.pem)
            self.verifier.verify(certificate, at=datetime.now(UTC))
        except CertificateRejected as exc:
            detail = f"{exc.detail}; proxy: {presented.proxy_verdict[:120]}"
            _refuse(tx_id, exc.reason.value, REJECTED[exc.reason], detail=detail)
        if presented.proxy_verdict != PROXY_SUCCESS:
            # The proxy refused what this check accepts (e.g. its own CRL): its word stands.
            _refuse(tx_id, "proxy_refused", NOT_VERIFIED, detail=presented.proxy_verdict[:200])
        try:
            return uzi_identity(certificate)
        except UziNameError as exc:
            _refuse(tx_id, "uzi_name", NO_UZI_NAME, detail=str(exc))

    def _professional(self, uzi_number: str) -> ProfessionalView | None:
        if self.bound_professional is not None:
            bound = self.bound_professional(uzi_number)
            if bound is not None:
                return bound
        return self.register.find_professional(uzi_number)


def _refuse(
    tx_id: str,
    reason: str,
    text: str,
    identity: UziIdentity | None = None,
    *,
    detail: str | None = None,
) -> NoReturn:
    """Log the audit line and raise ``LoginFailed`` with a text for the user."""
    facts: dict[str, str] = {}
    if identity is not None:
        facts = {
            "uzi_nummer": identity.uzi_number,
            "pastype": identity.card_type.value,
            "ura": identity.ura,
            "rol_code": identity.role_code,
        }
    log.warning("uzi_login_refused", tx=tx_id[:8], reason=reason, detail=detail, **facts)
    raise LoginFailed(text, log_detail=f"uzi {reason}: {detail or ''}".strip())


def uzi_login_from_settings(settings: Settings, register: Register) -> UziLogin:
    """Build the method, reading the CA bundle and CRL now: bad files stop the start-up."""
    if settings.uzi_ca_bundle is None or not settings.extra_origins:
        raise ConfigurationError("the uzi login method needs uzi_ca_bundle and uzi_mtls_url")
    try:
        verifier = CertificateVerifier.from_files(settings.uzi_ca_bundle, settings.uzi_crl_file)
    except TrustConfigurationError as exc:
        raise ConfigurationError(f"uzi login: {exc}") from None
    return UziLogin(
        register=register,
        verifier=verifier,
        mtls_origin=settings.extra_origins[0],
        bound_professional=_binding_lookup(settings, register),
    )


def _binding_lookup(
    settings: Settings, register: Register
) -> Callable[[str], ProfessionalView | None] | None:
    """Identity bindings ``method="uzi"``: the subject is the keyed hash of the UZI number
    (``registry.identifiers.keyed_subject_hash``, kind ``uzi``) under the installation's
    subject-hash key, the same key the BSN bindings use (DECISIONS.md #12)."""
    if not isinstance(register, BindingLookup):
        return None
    bindings = register
    key = load_or_create_secrets(settings.data_dir)["bsn_hash_secret"].encode()

    def lookup(uzi_number: str) -> ProfessionalView | None:
        return bindings.professional_for_binding("uzi", keyed_subject_hash(key, "uzi", uzi_number))

    return lookup


__all__ = ["UziLogin", "uzi_login_from_settings"]
