"""Binding a passkey to a professional: the WebAuthn registration ceremony (W3C WebAuthn L2 §7.1).

Only from a session at level high that authenticated recently (``may_register``): the person was
identified at high moments ago, so the new means is delivered to the person it belongs to
(CIR 2015/1502 2.2.2, ``nl-gov-oidc.md`` §7). Logging in with the passkey later reaches
substantial (``idp.authn.passkey`` explains why), so a passkey cannot bind another passkey.

- Options (§5.4): RP ID = the issuer's host; a random user handle per professional, never her
  Dezi number or name (§14.6.1), the same for all of her passkeys so an authenticator replaces
  its own older one (§6.3.2); ``residentKey: required`` (a discoverable credential, so login
  needs no user name, §5.4.6); ``userVerification: required`` (§5.8.6); ``attestation: none``
  (§5.4.7: the level does not rest on attestation); her active passkeys as
  ``excludeCredentials`` so one authenticator is not registered twice.
- Verification (§7.1): the challenge is taken from the state store first (single use), then
  py_webauthn checks type, challenge, origin, RP ID hash, user presence, REQUIRED user
  verification, the algorithm (``ALGORITHMS``) and the ``none`` attestation. A credential ID that
  the register already holds, for anyone, is refused (§7.1). The register writes the binding and
  its audit record in one transaction (``registry.passkeys.add_passkey``).
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from webauthn import generate_registration_options, options_to_json
from webauthn import verify_registration_response as _verify_attestation
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.audit import get_logger
from idp.authn.passkey import (
    ALGORITHMS,
    CHALLENGE_BYTES,
    CHALLENGE_TTL,
    RP_NAME,
    TIMEOUT_MS,
    PasskeyStore,
    PasskeyView,
    RelyingPartyIdentity,
)
from idp.errors import IdpError
from idp.protocol.models import LOA_HIGH
from idp.protocol.ports import LoginMethodState, ProfessionalView

log = get_logger("idp.authn.passkey")

# A passkey is added only this soon after a login at level high (a re-authentication for a
# sensitive change, ASVS 6.4.x / 7.5.x); older sessions are stepped up first.
REGISTRATION_MAX_AGE = 15 * 60
NAME_MAX_LENGTH = 64
DEFAULT_NAME = "Passkey"

EXPIRED = "This passkey request has expired or was already used. Start again."
NOT_ACCEPTED = "The passkey could not be verified. Start again."
ALREADY_REGISTERED = "This passkey is registered already."


class PasskeyRegistrationFailed(IdpError):
    """The registration could not be completed; ``description`` is safe to show."""


def may_register(acr: str, auth_time: int, now: int) -> bool:
    """Registration needs a session at level high, authenticated at most 15 minutes ago."""
    return acr == LOA_HIGH and 0 <= now - auth_time <= REGISTRATION_MAX_AGE


def registration_challenge_key(sid: str) -> str:
    return f"passkey-register:{sid}"


def clean_name(value: str) -> str:
    """The worker's name for a passkey: NFC, no control or format characters, at most 64."""
    text = "".join(
        c
        for c in unicodedata.normalize("NFC", value)
        if not unicodedata.category(c).startswith("C")
        and unicodedata.category(c) not in ("Zl", "Zp")
    )
    text = " ".join(text.split())[:NAME_MAX_LENGTH].strip()
    return text or DEFAULT_NAME


def display_name(professional: ProfessionalView) -> str:
    parts = (professional.voorletters, professional.voorvoegsel, professional.achternaam)
    return " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class PasskeyEnrolment:
    rp: RelyingPartyIdentity
    state: LoginMethodState
    store: PasskeyStore

    def options(self, professional: ProfessionalView, sid: str) -> str:
        """Creation options as JSON (base64url for binary fields, the shape of L3
        ``PublicKeyCredentialCreationOptionsJSON``), with a fresh challenge bound to the session.
        The state store keeps the challenge with the user handle the options carry."""
        existing = self.store.passkeys_of(professional.dezi_nummer)
        handle = (
            existing[0].user_handle if existing else bytes_to_base64url(secrets.token_bytes(32))
        )
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        self.state.put_challenge(
            registration_challenge_key(sid),
            f"{bytes_to_base64url(challenge)}.{handle}",
            CHALLENGE_TTL,
        )
        options = generate_registration_options(
            rp_id=self.rp.rp_id,
            rp_name=RP_NAME,
            user_id=base64url_to_bytes(handle),
            user_name=professional.dezi_nummer,
            user_display_name=display_name(professional),
            challenge=challenge,
            timeout=TIMEOUT_MS,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                for p in existing
                if p.revoked_at is None
            ],
            supported_pub_key_algs=list(ALGORITHMS),
        )
        return options_to_json(options)

    def complete(
        self, professional: ProfessionalView, sid: str, credential_json: str, name: str
    ) -> PasskeyView:
        """Verify the attestation response and bind the credential (L2 §7.1)."""
        # Taken first: any answer, good or bad, uses the challenge up (single use).
        stored_challenge = self.state.take_challenge(registration_challenge_key(sid))
        if stored_challenge is None or "." not in stored_challenge:
            log.info("passkey_registration_refused", reason="challenge_missing")
            raise PasskeyRegistrationFailed(EXPIRED, log_detail="passkey registration: challenge")
        challenge, handle = stored_challenge.split(".", 1)
        try:
            verified = _verify_attestation(
                credential=credential_json,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin,
                require_user_presence=True,
                require_user_verification=True,
                supported_pub_key_algs=list(ALGORITHMS),
            )
        except (WebAuthnException, ValueError, TypeError) as exc:
            log.info("passkey_registration_refused", reason="invalid", detail=str(exc)[:200])
            raise PasskeyRegistrationFailed(
                NOT_ACCEPTED, log_detail=f"passkey registration: {type(exc).__name__}"
            ) from None
        stored = self.store.add_passkey(
            professional.dezi_nummer,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            user_handle=handle,
            name=clean_name(name),
            aaguid=verified.aaguid,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        )
        if stored is None:
            log.info("passkey_registration_refused", reason="already_registered")
            raise PasskeyRegistrationFailed(ALREADY_REGISTERED)
        log.info("passkey_registered", passkey_id=stored.passkey_id)
        return stored
