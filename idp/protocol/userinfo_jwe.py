"""UserInfo as the Dezi JWE: Dezi v0.7 §2.5 (dezi-interface.md §2.5), a nested JWT.

When the client's JWKS holds an RSA key with ``"use": "enc"`` (INTERFACES.md, ``client add``),
the userinfo response is ``application/jwt``: a JWE (RFC 7516) encrypted to that key, around an
envelope signed with the OP's ID-token key ("ondertekend met dezelfde sleutel als het id_token",
v0.7 §2.5; RFC 7519 §5.2 ``cty: JWT``). The envelope carries exactly ``jti iat exp iss aud
loa_authn json_schema verklaring_id verklaring``; the verklaring (``verklaring.py``) is a separate
JWS signed with the eSeal key.

Algorithms (``jose.JWE_KEY_ALGS`` / ``JWE_ENC_ALGS``):

- key management: the key's own ``alg`` member when it names ``RSA-OAEP`` or ``RSA-OAEP-256``
  (RFC 7517 §4.4), else ``RSA-OAEP`` (Dezi's header, v0.7 §2.5); a key naming anything else is
  refused at registration (``check_encryption_keys``) and never used;
- content: by the client's profile. ``dezi`` gets ``A256CBC-HS512``, the value of Dezi's JWE
  header, so an EPD built against v0.7 sees what it was built for; ``nlgov`` gets ``A256GCM``,
  which the NL GOV profile makes mandatory to support.
- envelope signature: the client's ``userinfo_signed_response_alg`` if it registered one, else
  its ``id_token_signed_response_alg`` (same key as the ID token).

The envelope lives as long as an ID token (``ProviderConfig.id_token_ttl``, DECISIONS.md #8):
v0.7 gives no lifetime, and the long-lived object is the verklaring inside it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from idp.protocol.client_auth import ClientKeyCache
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.jose import JWE_KEY_ALGS, JoseRejected, encrypt_to, import_keyset
from idp.protocol.models import Grant
from idp.protocol.ports import ClientView, DeclarationView, Signer
from idp.protocol.verklaring import USERINFO_SCHEMA, VerklaringIssuer

DEFAULT_KEY_ALG = "RSA-OAEP"
PROFILE_CONTENT_ENC: dict[str, str] = {"dezi": "A256CBC-HS512", "nlgov": "A256GCM"}
DEFAULT_CONTENT_ENC = "A256GCM"


def encryption_keys(jwks: dict[str, Any]) -> list[dict[str, Any]]:
    """The JWK entries meant for encryption (RFC 7517 §4.2 ``use: enc``)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return []
    return [k for k in keys if isinstance(k, dict) and k.get("use") == "enc"]


def check_encryption_keys(jwks: dict[str, Any]) -> None:
    """Registration check: every ``enc`` key is RSA with an allowed ``alg`` (or none)."""
    for entry in encryption_keys(jwks):
        if entry.get("kty") != "RSA":
            raise ValueError("an encryption key (use: enc) must be an RSA key")
        alg = entry.get("alg")
        if alg is not None and alg not in JWE_KEY_ALGS:
            raise ValueError(f"an encryption key's alg must be one of {', '.join(JWE_KEY_ALGS)}")


def pick_encryption_key(keys: KeySet) -> RSAKey | None:
    """The first RSA key with ``use: enc`` whose ``alg`` we may use, if any."""
    for key in keys.keys:
        if not isinstance(key, RSAKey) or key.get("use") != "enc":
            continue
        if key.get("alg") in (None, *JWE_KEY_ALGS):
            return key
    return None


def jwe_algorithms(key: RSAKey, profile: str) -> tuple[str, str]:
    """(``alg``, ``enc``) for this key and client profile (see the module docstring)."""
    alg = key.get("alg") or DEFAULT_KEY_ALG
    return str(alg), PROFILE_CONTENT_ENC.get(profile, DEFAULT_CONTENT_ENC)


@dataclass(frozen=True, slots=True)
class DeziUserinfo:
    """Builds the encrypted userinfo response for clients that registered an encryption key."""

    config: ProviderConfig
    signer: Signer
    verklaring: VerklaringIssuer
    client_keys: ClientKeyCache | None = None

    def has_encryption_key(self, client: ClientView) -> bool:
        """Whether the client receives the Dezi JWE (and so is asked for consent)."""
        if client.jwks is not None and not encryption_keys(client.jwks):
            return False  # the common case, answered without parsing any key
        return self.encryption_key(client) is not None

    def encryption_key(self, client: ClientView) -> RSAKey | None:
        """The client's encryption key: from its inline JWKS, or its ``jwks_uri`` (cached)."""
        if client.jwks is not None:
            if not encryption_keys(client.jwks):
                return None
            try:
                keys = (
                    self.client_keys.keys_for(client)
                    if self.client_keys is not None
                    else import_keyset(client.jwks)
                )
                return pick_encryption_key(keys)
            except JoseRejected:
                return None
        if client.jwks_uri and self.client_keys is not None:
            try:
                return pick_encryption_key(self.client_keys.keys_for(client))
            except Exception:  # the fetch is the adapter's (httpx); any failure is the same here
                raise OAuthError(
                    "temporarily_unavailable",
                    "The client's keys cannot be fetched",
                    log_detail=f"jwks_uri of {client.client_id} unavailable",
                    status_code=503,
                ) from None
        return None

    def envelope(
        self, grant: Grant, verklaring_id: str, verklaring: str, now: int
    ) -> dict[str, Any]:
        """The envelope claims of v0.7 §2.5, exactly."""
        return {
            "jti": secrets.token_urlsafe(32),
            "iat": now,
            "exp": now + self.config.id_token_ttl,
            "iss": self.config.issuer,
            "aud": grant.client_id,
            "loa_authn": grant.acr,
            "json_schema": self.verklaring.schema_url(USERINFO_SCHEMA),
            "verklaring_id": verklaring_id,
            "verklaring": verklaring,
        }

    def respond(
        self,
        grant: Grant,
        client: ClientView,
        declaration: DeclarationView,
        key: RSAKey,
        now: int,
    ) -> str:
        """The compact JWE: encrypt(sign(envelope(verklaring)))."""
        token, claims = self.verklaring.issue(declaration, now)
        envelope = self.envelope(grant, claims["verklaring_id"], token, now)
        sign_alg = client.userinfo_signed_response_alg or client.id_token_signed_response_alg
        signed = self.signer.sign(envelope, sign_alg)
        alg, enc = jwe_algorithms(key, client.profile)
        return encrypt_to(signed, key, alg, enc)
