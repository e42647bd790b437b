"""The ``passkey`` login method: WebAuthn (W3C Web Authentication Level 2) through py_webauthn.

A passkey is bound to a professional only from a session at level high (``/account``,
``idp.authn.passkey_registration``); logging in with it is its own method, at its own level.

Level: **substantial** (``http://eidas.europa.eu/LoA/substantial``), never high
---------------------------------------------------------------------------------
CIR 2015/1502 (``nl-gov-oidc.md`` §7) asks of an electronic identification means at level high:
two factors of different categories (2.2.1), protection against duplication and against
attackers with high attack potential (2.2.1, 2.3.1), and delivery only into the possession of
the person it belongs to (2.2.2). A passkey with user verification meets substantial: a
possession factor (the private key) unlocked by a knowledge or inherence factor (the device PIN
or biometric, the UV flag, L2 §6.1 and §5.8.6), dynamic authentication (a fresh challenge each
time, §13.4.3), bound to the origin and RP ID so it cannot be phished (§7.2), and bound after
proofing at high. It is not high, because this OP cannot show the rest:

- Synced passkeys are copied by design to the user's platform account and other devices (the
  backup flags, L3 §6.1.3): no protection against duplication, and their safety rests on an
  account this OP knows nothing of. A copy can be shared with another person's device.
- Without attestation (``attestation: none``, §5.4.7) the OP cannot tell which authenticator made
  the key, whether it is device-bound, or whether its user verification and key storage are
  certified; the UV and backup flags are the authenticator's own, unverifiable claims.

Declaring high would need attested, device-bound authenticators checked against a trusted list
(FIDO Metadata Service) and refusal of backup-eligible credentials: a later, separate method.
Because registration needs a session at high and a passkey login only reaches substantial, a
passkey can never be used to bind another passkey (no level laundering), and a relying party that
asks for high never sees the passkey offered: an existing passkey session is stepped up.

The ceremony (§7.2): ``begin`` issues a 32-byte random challenge kept in the state store under
the login transaction (``put_challenge``) and renders ``login_passkey.html`` with the options as
JSON; a small script (``static/passkey.js``) calls ``navigator.credentials.get`` and posts the
result. ``complete`` takes the challenge (single use, whatever the outcome), then verifies type,
challenge, origin (the issuer's), RP ID hash (the issuer's host), user presence and REQUIRED user
verification, and the signature, against the credential's stored public key. A signature counter
that did not go up (§6.1.1) is refused, logged and audited; the counter update is a compare and
set in the register.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, Protocol
from urllib.parse import urlsplit

from webauthn import generate_authentication_options, options_to_json
from webauthn import verify_authentication_response as _verify_assertion
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.parse_authentication_credential_json import (
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import UserVerificationRequirement

from idp.audit import get_logger
from idp.authn.base import FormStep, LoginContext, LoginOutcome, LoginStep
from idp.errors import LoginFailed
from idp.protocol.models import LOA_SUBSTANTIAL
from idp.protocol.ports import LoginMethodState

log = get_logger("idp.authn.passkey")

PASSKEY_ACR = LOA_SUBSTANTIAL
CHALLENGE_BYTES = 32  # L2 §13.4.3: at least 16 random bytes
CHALLENGE_TTL = 300  # seconds; the browser's timeout hint below matches (L2 §5.4, §5.5)
TIMEOUT_MS = CHALLENGE_TTL * 1000
RP_NAME = "zorg-idp"
# COSE algorithms accepted for credential public keys (L2 §5.3, §5.4 pubKeyCredParams).
ALGORITHMS: tuple[COSEAlgorithmIdentifier, ...] = (
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
)

NEEDS_JAVASCRIPT = (
    "Logging in with a passkey needs JavaScript. Turn it on, or choose another login method."
)
EXPIRED = "This passkey request has expired or was already used. Try again."
NOT_ACCEPTED = "This passkey cannot log in here. Try again, or choose another login method."
POSSIBLY_CLONED = (
    "This passkey cannot be used: its use counter went backwards, which can mean it was copied. "
    "Choose another login method and tell your administrator."
)


class PasskeyView(Protocol):
    """A passkey as the register keeps it (``registry.passkeys.PasskeyRecord``)."""

    @property
    def passkey_id(self) -> str: ...
    @property
    def credential_id(self) -> str: ...  # base64url of the raw credential ID (L2 §5.1)
    @property
    def dezi_nummer(self) -> str: ...
    @property
    def public_key(self) -> bytes: ...  # COSE_Key (L2 §6.5.1.1 credentialPublicKey)
    @property
    def sign_count(self) -> int: ...
    @property
    def user_handle(self) -> str: ...  # base64url (L2 §14.6.1: random, no personal data)
    @property
    def name(self) -> str: ...
    @property
    def aaguid(self) -> str: ...
    @property
    def backup_eligible(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_used_at(self) -> datetime | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...


class PasskeyStore(Protocol):
    """The register's passkeys (``registry.passkeys.SqlPasskeys``). Writes are audited there."""

    def passkey(self, credential_id: str) -> PasskeyView | None: ...

    def passkeys_of(self, dezi_nummer: str) -> Sequence[PasskeyView]: ...

    def record_use(self, credential_id: str, sign_count: int, at: datetime) -> bool:
        """Compare and set: False unless the counter went up (or stays 0) and not revoked."""
        ...

    def add_passkey(
        self,
        dezi_nummer: str,
        *,
        credential_id: str,
        public_key: bytes,
        sign_count: int,
        user_handle: str,
        name: str,
        aaguid: str,
        backup_eligible: bool,
    ) -> PasskeyView | None:
        """``None`` when this credential ID is registered already (L2 §7.1)."""
        ...

    def revoke_passkey(self, dezi_nummer: str, passkey_id: str) -> bool: ...

    def record_sign_count_regression(self, credential_id: str, presented: int) -> None: ...


@dataclass(frozen=True, slots=True)
class RelyingPartyIdentity:
    """RP ID = the issuer's host (L2 §5.1.2 "RP ID"); origin = the issuer's origin (§5.1.1)."""

    rp_id: str
    origin: str

    @classmethod
    def for_issuer(cls, issuer: str) -> RelyingPartyIdentity:
        parts = urlsplit(issuer)
        if not parts.hostname:
            raise ValueError("the issuer has no host name")
        return cls(rp_id=parts.hostname, origin=f"{parts.scheme}://{parts.netloc}")


def issue_challenge(state: LoginMethodState, key: str) -> bytes:
    """A fresh random challenge, kept under ``key`` until taken or expired (L2 §13.4.3)."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    state.put_challenge(key, bytes_to_base64url(challenge), CHALLENGE_TTL)
    return challenge


def take_challenge(state: LoginMethodState, key: str) -> bytes | None:
    """The challenge issued under ``key``, once: a replayed response finds none."""
    stored = state.take_challenge(key)
    return None if stored is None else base64url_to_bytes(stored)


def login_challenge_key(tx_id: str) -> str:
    return f"passkey-login:{tx_id}"


@dataclass(frozen=True, slots=True)
class PasskeyLogin:
    rp: RelyingPartyIdentity
    state: LoginMethodState
    store: PasskeyStore
    acr: str = PASSKEY_ACR
    name: str = "passkey"
    label: str = "Passkey on your phone or computer (needs JavaScript)"

    def begin(self, context: LoginContext) -> LoginStep:
        """Request options with an empty ``allowCredentials``: the authenticator offers its
        discoverable credentials for this RP ID (L2 §5.5, §6.2.2)."""
        challenge = issue_challenge(self.state, login_challenge_key(context.tx_id))
        options = generate_authentication_options(
            rp_id=self.rp.rp_id,
            challenge=challenge,
            timeout=TIMEOUT_MS,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return FormStep(
            "login_passkey.html", {"options": options_to_json(options)}, needs_script=True
        )

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        """L2 §7.2, "Verifying an Authentication Assertion"."""
        tx = context.tx_id
        # Taken first: any answer, good or bad, uses the challenge up (single use).
        expected = take_challenge(self.state, login_challenge_key(tx))
        raw = form.get("credential", "").strip()
        if not raw:
            _refuse(tx, "no_credential", NEEDS_JAVASCRIPT)
        if expected is None:
            _refuse(tx, "challenge_missing", EXPIRED, "expired, replayed or never issued")
        try:
            credential = parse_authentication_credential_json(raw)
        except (WebAuthnException, ValueError, TypeError) as exc:
            _refuse(tx, "malformed", NOT_ACCEPTED, type(exc).__name__)
        credential_id = bytes_to_base64url(credential.raw_id)
        # §7.2 steps 5-7: a credential of this RP, of a known (and not revoked) user.
        stored = self.store.passkey(credential_id)
        if stored is None or stored.revoked_at is not None:
            reason = "unknown_credential" if stored is None else "revoked_credential"
            _refuse(tx, reason, NOT_ACCEPTED)
        handle = credential.response.user_handle
        if handle is not None and bytes_to_base64url(handle) != stored.user_handle:
            _refuse(tx, "user_handle_mismatch", NOT_ACCEPTED, stored.passkey_id)
        try:
            verified = _verify_assertion(
                credential=credential,
                expected_challenge=expected,
                expected_rp_id=self.rp.rp_id,
                expected_origin=self.rp.origin,
                credential_public_key=stored.public_key,
                # The counter is checked below, after the signature, so that only a genuine
                # assertion can raise the clone alarm.
                credential_current_sign_count=0,
                require_user_verification=True,
            )
        except WebAuthnException as exc:
            _refuse(tx, "assertion_invalid", NOT_ACCEPTED, str(exc))
        presented = verified.new_sign_count
        if sign_count_regressed(stored.sign_count, presented):
            self.store.record_sign_count_regression(credential_id, presented)
            log.warning(
                "passkey_sign_count_regression",
                tx=tx[:8],
                passkey_id=stored.passkey_id,
                stored=stored.sign_count,
                presented=presented,
            )
            raise LoginFailed(POSSIBLY_CLONED, log_detail="passkey sign count regression")
        if not self.store.record_use(credential_id, presented, datetime.now(UTC)):
            # Another use with this counter won the race, or it was revoked a moment ago.
            _refuse(tx, "counter_race_or_revoked", NOT_ACCEPTED, stored.passkey_id)
        log.info("passkey_login", tx=tx[:8], passkey_id=stored.passkey_id)
        return LoginOutcome(dezi_nummer=stored.dezi_nummer, acr=self.acr, method=self.name)


def sign_count_regressed(stored: int, presented: int) -> bool:
    """L2 §6.1.1 and §7.2: when either counter is non-zero, the new one must be greater."""
    return (stored != 0 or presented != 0) and presented <= stored


def _refuse(tx: str, reason: str, text: str, detail: str | None = None) -> NoReturn:
    log.info("passkey_login_refused", tx=tx[:8], reason=reason, detail=detail)
    raise LoginFailed(text, log_detail=f"passkey {reason}")


def passkey_login(issuer: str, state: LoginMethodState, store: PasskeyStore) -> PasskeyLogin:
    return PasskeyLogin(rp=RelyingPartyIdentity.for_issuer(issuer), state=state, store=store)
