"""A software WebAuthn authenticator for the tests: real P-256 keys, real CBOR, real signatures.

It answers the options JSON the OP sends (``PublicKeyCredentialCreationOptionsJSON`` /
``...RequestOptionsJSON``) with the JSON a browser would post back (WebAuthn L3
``RegistrationResponseJSON`` / ``AuthenticationResponseJSON``), built byte for byte as W3C
WebAuthn L2 §6.1 (authenticator data), §6.5 (attestation object, ``none`` format) and §5.8.1
(client data) describe. Every field can be bent to make a bad response.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.encode_cbor import encode_cbor

FLAG_UP, FLAG_UV, FLAG_BE, FLAG_BS, FLAG_AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("0123456789abcdef0123456789abcdef")


def client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()


def cose_es256(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return encode_cbor(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


@dataclass
class SoftCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """One authenticator holding discoverable credentials for any RP ID."""

    origin: str
    rp_id: str
    backup_eligible: bool = False
    counter_step: int = 1  # 0: an authenticator without a signature counter
    credentials: list[SoftCredential] = field(default_factory=list)

    def _auth_data(self, flags: int, count: int, rp_id: str | None, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        if self.backup_eligible:
            flags |= FLAG_BE
        return rp_hash + bytes([flags]) + struct.pack(">I", count) + attested

    def register(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        challenge: str | None = None,
        kind: str = "webauthn.create",
    ) -> str:
        options = json.loads(options_json)
        key = ec.generate_private_key(ec.SECP256R1())
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            key=key,
            user_handle=base64url_to_bytes(options["user"]["id"]),
        )
        attested = (
            AAGUID
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cose_es256(key)
        )
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(flags, 0, rp_id, attested)
        data = client_data(kind, challenge or options["challenge"], origin or self.origin)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(credential)
        raw_id = bytes_to_base64url(credential.credential_id)
        return json.dumps(
            {
                "id": raw_id,
                "rawId": raw_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def assertion(
        self,
        options_json: str,
        *,
        credential: SoftCredential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        challenge: str | None = None,
    ) -> str:
        options = json.loads(options_json)
        used = credential or self.credentials[-1]
        if sign_count is None:
            used.sign_count += self.counter_step
            sign_count = used.sign_count
        flags = FLAG_UP | (FLAG_UV if user_verified else 0)
        auth_data = self._auth_data(flags, sign_count, rp_id)
        data = client_data("webauthn.get", challenge or options["challenge"], origin or self.origin)
        signature = used.key.sign(
            auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256())
        )
        raw_id = bytes_to_base64url(used.credential_id)
        return json.dumps(
            {
                "id": raw_id,
                "rawId": raw_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                    "userHandle": bytes_to_base64url(user_handle or used.user_handle),
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )


class _OptionsParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.options: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "data-passkey-options" and value:
                self.options = value


def options_in(html: str) -> str:
    """The options JSON a passkey page carries in its ``data-passkey-options`` attribute."""
    parser = _OptionsParser()
    parser.feed(html)
    assert parser.options is not None, "no passkey options on this page"
    return parser.options


def options_dict(html: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(options_in(html))
    return found
