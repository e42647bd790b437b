"""The verklaring: Dezi v0.7 §2.6 (dezi-interface.md §2.6), a signed JWT per declaration.

One verklaring = one care worker × one organisation (abonnee) × one role. ``verklaring_id`` is
the declaration's id (a UUID), so revoking the declaration revokes every verklaring issued for it
(v0.7 §6, ``revocation.py``), and ``exp`` never passes the declaration's ``valid_until``.

**Key.** The verklaring is signed in the eSeal role, with a key ring of its own
(``<data_dir>/verklaring-keys``, RSA only, next → active → retired like the ID-token keys),
published at its own JWKS (``/dezi/jwks.json``, Dezi's path) and named in the header with ``jku``
and ``kid`` (v0.7 §2.6 header table). Relying parties accept only allow-listed ``jku`` values
(§2.8); the JWKS gives every key ``"alg": "RS256"`` so that verifiers that take the algorithm
from the key set (jwx ``WithVerifyAuto``, as the Nuts node uses) find it.

**Algorithm: RS256**, not the PS256 default that DECISIONS.md #1 names for "the verklaring".
The verklaring is a Dezi artefact, checked offline by EPD code written against v0.7, whose header
is ``"alg": "RS256"``; an EPD that pins that algorithm must work unchanged (issue 6). PS256
would buy nothing such a verifier can use: the key is the same RSA key, and RSASSA-PKCS1-v1_5
(RFC 8017 §8.2) has no known weakness for signature verification. Everything this OP signs for
its own protocol (ID tokens, the userinfo envelope, access tokens) keeps DECISIONS.md #1.

**Lifetime.** ``nbf`` is the moment of issue and ``exp`` at most 92 days later (the span of the
v0.7 examples), cut to the declaration's ``valid_until``. Revocation within that time goes
through the status endpoint and the signed list.

``loa_dezi`` is the level of the registration (§2.6). The register does not record a level per
enrolment yet, so it is ``high`` (every value in the v0.7 examples), a constructor parameter.

This module imports only ``joserfc`` (through ``jose``) and our own plain modules, so the
relying-party checker (``idp.verklaring_check``) can reuse its names without the server.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from idp.protocol.jose import SigningKey, sign_jwt
from idp.protocol.models import LOA_HIGH
from idp.protocol.ports import DeclarationView
from idp.protocol.tokens import IDENTITY_CLAIMS, identity_claims

VERKLARING_ALG = "RS256"
VERKLARING_TTL = 92 * 24 * 3600

# Dezi-compatible paths under the issuer (INTERFACES.md "HTTP"; v0.7 §2.6, §6).
VERKLARING_JWKS_PATH = "/dezi/jwks.json"
STATUS_PATH = "/status/v1/verklaring/"
REVOCATION_LIST_PATH = "/revocatiecontrole/v1"
SCHEMA_PATH = "/json_schemas/v1/"
VERKLARING_SCHEMA = "verklaring.json"
USERINFO_SCHEMA = "userinfo.json"
REVOCATION_LIST_SCHEMA = "revocatielijst.json"
STATUS_SCHEMA = "status.json"
SCHEMAS: tuple[str, ...] = (
    VERKLARING_SCHEMA,
    USERINFO_SCHEMA,
    REVOCATION_LIST_SCHEMA,
    STATUS_SCHEMA,
)

# Every claim of v0.7 §2.6, in its order; no other claim is added. The person, organisation
# and role claims are the same set, in the same order, as userinfo's (tokens.IDENTITY_CLAIMS).
VERKLARING_CLAIMS: tuple[str, ...] = (
    "jti",
    "iss",
    "exp",
    "nbf",
    "json_schema",
    "loa_dezi",
    "verklaring_id",
    *IDENTITY_CLAIMS,
    "status_uri",
)


class StoredKeyView(Protocol):
    @property
    def key(self) -> SigningKey: ...


class EsealKeys(Protocol):
    """The verklaring's key ring (``idp.keys.KeyRing(..., subdir="verklaring-keys")``)."""

    def active(self, family: str) -> StoredKeyView: ...

    def public_jwks(self, now: int | None = None) -> dict[str, Any]: ...


def canonical_uuid(value: str) -> str | None:
    """The lower-case hyphenated form of a UUID (RFC 9562 §4), or ``None`` if it is not one."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class VerklaringIssuer:
    """Builds and signs verklaringen, and signs other eSeal objects (the revocation list)."""

    issuer: str
    keys: EsealKeys
    ttl: int = VERKLARING_TTL
    loa_dezi: str = LOA_HIGH

    @property
    def jku(self) -> str:
        return f"{self.issuer}{VERKLARING_JWKS_PATH}"

    def schema_url(self, name: str) -> str:
        return f"{self.issuer}{SCHEMA_PATH}{name}"

    def status_uri(self, verklaring_id: str) -> str:
        return f"{self.issuer}{STATUS_PATH}{verklaring_id}"

    def claims(self, declaration: DeclarationView, now: int) -> dict[str, Any]:
        """The claims of v0.7 §2.6 for ``declaration`` issued at ``now``."""
        verklaring_id = canonical_uuid(declaration.declaration_id)
        if verklaring_id is None:
            raise ValueError("a declaration id must be a UUID to serve as verklaring_id")
        exp = now + self.ttl
        if declaration.valid_until is not None:
            exp = min(exp, _timestamp(declaration.valid_until))
        if exp <= now:
            raise ValueError("the declaration ends before a verklaring could start")
        return {
            "jti": secrets.token_urlsafe(32),
            "iss": self.issuer,
            "exp": exp,
            "nbf": now,
            "json_schema": self.schema_url(VERKLARING_SCHEMA),
            "loa_dezi": self.loa_dezi,
            "verklaring_id": verklaring_id,
            **identity_claims(declaration),
            "status_uri": self.status_uri(verklaring_id),
        }

    def issue(self, declaration: DeclarationView, now: int) -> tuple[str, dict[str, Any]]:
        """A signed verklaring and its claims."""
        claims = self.claims(declaration, now)
        return self.sign(claims), claims

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        """RS256 with the active eSeal key; header ``alg typ kid jku`` (v0.7 §2.6)."""
        key = self.keys.active("RSA").key
        return sign_jwt(claims, key, VERKLARING_ALG, typ, extra_header={"jku": self.jku})

    def public_jwks(self) -> dict[str, Any]:
        """The eSeal JWKS: RSA keys only, each with ``use: sig`` and ``alg: RS256``."""
        keys = [
            {**entry, "alg": VERKLARING_ALG}
            for entry in self.keys.public_jwks()["keys"]
            if entry.get("kty") == "RSA"
        ]
        return {"keys": keys}


def _timestamp(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError("declaration times must be aware datetimes")
    return int(moment.timestamp())
