"""ID tokens (OIDC Core §2, §3.1.3.6; NL GOV OIDC) and JWT access tokens (RFC 9068).

The ID token stays minimal (DECISIONS.md #6): identity claims go to userinfo unless the ``claims``
parameter asks for them in the ID token. ``acr`` is what the login achieved, never more; there is
never an ``amr`` (NL GOV OIDC, DECISIONS.md #7).
"""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oidc.core.util import create_half_hash as _authlib_half_hash

from idp.protocol import claims_request
from idp.protocol.api_access import token_audience
from idp.protocol.config import ProviderConfig
from idp.protocol.models import Grant
from idp.protocol.ports import DeclarationView, ProfessionalView, Register, Signer

IDENTITY_CLAIMS: tuple[str, ...] = (
    "dezi_nummer",
    "voorletters",
    "voorvoegsel",
    "achternaam",
    "abonnee_nummer",
    "abonnee_naam",
    "rol_code",
    "rol_naam",
    "rol_code_bron",
)


def new_id() -> str:
    """A 256-bit random identifier (FAPI 2.0 §5.4.1-4: at least 128 bits)."""
    return secrets.token_urlsafe(32)


def at_hash(access_token: str, alg: str) -> str:
    """OIDC Core §3.1.3.6: left half of the hash of the access token, base64url."""
    value: bytes | str = _authlib_half_hash(access_token, alg)
    return value.decode("ascii") if isinstance(value, bytes) else value


def is_administrator(register: Register, dezi_nummer: str) -> bool:
    return register.is_registry_admin(dezi_nummer) or bool(
        register.admin_organisations(dezi_nummer)
    )


def person_claims(professional: ProfessionalView) -> dict[str, Any]:
    return {
        "dezi_nummer": professional.dezi_nummer,
        "voorletters": professional.voorletters,
        "voorvoegsel": professional.voorvoegsel,
        "achternaam": professional.achternaam,
    }


def identity_claims(declaration: DeclarationView) -> dict[str, Any]:
    return {
        "dezi_nummer": declaration.dezi_nummer,
        "voorletters": declaration.voorletters,
        "voorvoegsel": declaration.voorvoegsel,
        "achternaam": declaration.achternaam,
        "abonnee_nummer": declaration.abonnee_nummer,
        "abonnee_naam": declaration.abonnee_naam,
        "rol_code": declaration.rol_code,
        "rol_naam": declaration.rol_naam,
        "rol_code_bron": declaration.rol_code_bron,
    }


def requested_claims(claims_param: str | None, member: str) -> dict[str, Any]:
    """The ``id_token`` or ``userinfo`` member of the ``claims`` parameter (OIDC Core §5.5)."""
    return claims_request.section(claims_param, member)


def access_token(
    config: ProviderConfig, signer: Signer, grant: Grant, now: int
) -> tuple[str, dict[str, Any]]:
    """RFC 9068 §2.2: ``typ: at+jwt``, audience-restricted, short-lived, unique ``jti``.

    The audience is userinfo, plus the registry API when the ``registry`` scope was granted.
    Signed with ``access_token_signing_alg`` (ES256 by default): only this OP verifies it."""
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "sub": grant.sub,
        "aud": token_audience(config, grant.scope),
        "client_id": grant.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + config.access_token_ttl,
        "jti": new_id(),
        "scope": " ".join(grant.scope),
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "gid": grant.grant_id,
    }
    return signer.sign(claims, config.access_token_signing_alg, typ="at+jwt"), claims


def id_token(
    config: ProviderConfig,
    signer: Signer,
    *,
    grant: Grant,
    nonce: str | None,
    alg: str,
    access_token_value: str,
    identity: dict[str, Any],
    now: int,
) -> str:
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "sub": grant.sub,
        "aud": grant.client_id,
        "azp": grant.client_id,
        "exp": now + config.id_token_ttl,
        "iat": now,
        "nbf": now,
        "jti": new_id(),
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "at_hash": at_hash(access_token_value, alg),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if grant.sid is not None:
        claims["sid"] = grant.sid
    wanted = requested_claims(grant.claims, "id_token")
    if wanted:
        for name in wanted:
            if name in identity:
                claims[name] = identity[name]
    return signer.sign(claims, alg)
