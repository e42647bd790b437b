"""Relying-party registration: validation of client metadata and the idempotent upsert.

Clients are registered by registry administrators, not by Dynamic Client Registration
(DECISIONS.md #4); the metadata names follow OpenID Connect Dynamic Client Registration 1.0 §2
so that the IdP can use them as they are. ``register_client`` is re-exported by
``registry.service``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import audit
from registry.db import transaction
from registry.errors import InvalidIdentifier, InvariantViolation, NotFound
from registry.identifiers import Ura, normalise_name
from registry.models import (
    AUTH_METHODS,
    CLIENT_GRANT_TYPES,
    CLIENT_PROFILES,
    CLIENT_SCOPES,
    Organisation,
    RelyingParty,
    RelyingPartyOrganisation,
    utcnow,
)
from registry.records import ClientRecord, client_record

__all__ = ["SIGNING_ALGORITHMS", "check_jwks", "check_uri", "register_client"]

# DECISIONS.md #1: PS256 by default, RS256 and ES256 per client; never "none" or HMAC.
SIGNING_ALGORITHMS = ("PS256", "RS256", "ES256")
# RFC 8252 §7.3 / §8.3: plain http only towards the user's own machine.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Private or secret JWK members: RSA (RFC 7518 §6.3.2), EC and OKP "d" (§6.2.2, RFC 8037 §2),
# symmetric "k" (§6.4.1). A client's JWKS publishes public keys only.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 6749 Appendix A.1: client_id is VSCHAR; spaces are refused as well.
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
_SECTOR = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
_MAX_URI = 2048


def check_uri(field: str, uri: str) -> str:
    """An absolute https URI (or http on loopback) without fragment or user information
    (RFC 6749 §3.1.2; OpenID Connect Core §3.1.2.1)."""
    if not isinstance(uri, str) or not 0 < len(uri) <= _MAX_URI:
        raise InvalidIdentifier(field, f"must be a URI of at most {_MAX_URI} characters")
    if any(c.isspace() or not c.isprintable() for c in uri) or not uri.isascii():
        raise InvalidIdentifier(field, "must be an ASCII URI without spaces")
    parts = urlsplit(uri)
    try:
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise InvalidIdentifier(field, "has an invalid host or port") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidIdentifier(field, "must be an absolute https URI")
    if "#" in uri:
        raise InvalidIdentifier(field, "must not contain a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidIdentifier(field, "must not contain user information")
    if parts.scheme == "http" and host not in _LOOPBACK_HOSTS:
        raise InvalidIdentifier(field, "may use http only on a loopback host")
    return uri


def _uris(field: str, uris: Sequence[str], *, required: bool) -> list[str]:
    if isinstance(uris, str):
        raise InvalidIdentifier(field, "must be a list of URIs")
    checked = list(dict.fromkeys(check_uri(field, uri) for uri in uris))
    if required and not checked:
        raise InvalidIdentifier(field, "must hold at least one URI")
    return checked


def check_jwks(jwks: Any) -> dict[str, Any]:
    """A JWK Set (RFC 7517 §5) of public keys only, as a plain JSON copy."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidIdentifier("jwks", 'must be a JSON object with a non-empty "keys" array')
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
            raise InvalidIdentifier("jwks", 'every key must be an object with "kty"')
        if _PRIVATE_JWK_MEMBERS & key.keys():
            raise InvalidIdentifier("jwks", "must not hold private or secret key material")
    try:
        copy: dict[str, Any] = json.loads(json.dumps(jwks, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidIdentifier("jwks", "must be plain JSON") from exc
    return copy


def _metadata(
    *,
    client_id: str,
    redirect_uris: Sequence[str],
    auth_method: str,
    jwks: dict[str, Any] | None,
    jwks_uri: str | None,
    name: str | None,
    profile: str,
    backchannel_logout_uri: str | None,
    post_logout_redirect_uris: Sequence[str],
    id_token_signed_response_alg: str,
    userinfo_signed_response_alg: str | None,
    sector_identifier: str | None,
    active: bool,
    grant_types: Sequence[str] = ("authorization_code",),
    scopes: Sequence[str] = ("openid",),
) -> dict[str, Any]:
    """The column values for a client, or the first reason they are refused."""
    grants = _choice("grant_types", grant_types, CLIENT_GRANT_TYPES, required=True)
    allowed_scopes = _choice("scopes", scopes, CLIENT_SCOPES, required=False)
    if "client_credentials" in grants:
        # RFC 6749 §4.4: confidential clients only; the grant exists for the registry API.
        if auth_method != "private_key_jwt":
            raise InvariantViolation("client_credentials needs a private_key_jwt client")
        if "registry" not in allowed_scopes:
            raise InvariantViolation("client_credentials needs the registry scope")
    if not isinstance(client_id, str) or _CLIENT_ID.fullmatch(client_id) is None:
        raise InvalidIdentifier("client_id", "must be 1-255 printable ASCII characters")
    if auth_method not in AUTH_METHODS:
        raise InvalidIdentifier("auth_method", "must be private_key_jwt, tls_client_auth or none")
    if profile not in CLIENT_PROFILES:
        raise InvalidIdentifier("profile", "must be nlgov or dezi")
    if id_token_signed_response_alg not in SIGNING_ALGORITHMS:
        raise InvalidIdentifier("id_token_signed_response_alg", "must be PS256, RS256 or ES256")
    if userinfo_signed_response_alg not in (None, *SIGNING_ALGORITHMS):
        raise InvalidIdentifier("userinfo_signed_response_alg", "must be PS256, RS256 or ES256")
    if sector_identifier is not None and _SECTOR.fullmatch(sector_identifier) is None:
        raise InvalidIdentifier("sector_identifier", "must be 1-255 printable ASCII characters")
    if jwks is not None and jwks_uri is not None:
        # OpenID Connect Dynamic Client Registration 1.0 §2: MUST NOT both be present.
        raise InvariantViolation("give jwks or jwks_uri, not both")
    if auth_method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise InvariantViolation("private_key_jwt needs jwks or jwks_uri")
    return {
        "name": normalise_name(name if name is not None else client_id, field="name"),
        "redirect_uris": _uris(
            "redirect_uris", redirect_uris, required="authorization_code" in grants
        ),
        "auth_method": auth_method,
        "jwks": None if jwks is None else check_jwks(jwks),
        "jwks_uri": None if jwks_uri is None else check_uri("jwks_uri", jwks_uri),
        "profile": profile,
        "id_token_signed_response_alg": id_token_signed_response_alg,
        "userinfo_signed_response_alg": userinfo_signed_response_alg,
        "sector_identifier": sector_identifier,
        "backchannel_logout_uri": None
        if backchannel_logout_uri is None
        else check_uri("backchannel_logout_uri", backchannel_logout_uri),
        "post_logout_redirect_uris": _uris(
            "post_logout_redirect_uris", post_logout_redirect_uris, required=False
        ),
        "active": bool(active),
        "grant_types": grants,
        "scopes": allowed_scopes,
    }


def _choice(
    field: str, values: Sequence[str], allowed: tuple[str, ...], *, required: bool
) -> list[str]:
    """A subset of ``allowed``, in its order (so equal sets compare equal)."""
    if isinstance(values, str) or any(not isinstance(v, str) for v in values):
        raise InvalidIdentifier(field, "must be a list of strings")
    unknown = set(values) - set(allowed)
    if unknown:
        raise InvalidIdentifier(field, f"must be among {', '.join(allowed)}")
    chosen = [v for v in allowed if v in values]
    if required and not chosen:
        raise InvalidIdentifier(field, "must not be empty")
    return chosen


def register_client(
    engine: Engine,
    client_id: str,
    redirect_uris: Sequence[str],
    auth_method: str,
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    organisations: Sequence[str] = (),
    name: str | None = None,
    profile: str = "nlgov",
    backchannel_logout_uri: str | None = None,
    post_logout_redirect_uris: Sequence[str] = (),
    id_token_signed_response_alg: str = "PS256",
    userinfo_signed_response_alg: str | None = None,
    *,
    actor: str,
    sector_identifier: str | None = None,
    active: bool = True,
    source: str | None = None,
    grant_types: Sequence[str] = ("authorization_code",),
    scopes: Sequence[str] = ("openid",),
) -> ClientRecord:
    """Create or update the client ``client_id`` to exactly this metadata (idempotent).

    ``auth_method="none"`` registers a public client. ``grant_types`` and ``scopes`` (RFC 7591
    §2) say what it may ask for: ``client_credentials`` (a private_key_jwt client with the
    ``registry`` scope, for the REST API) needs no redirect URI. ``organisations`` (URAs, each
    enrolled, else ``NotFound``) limits the client to those organisations' declarations; empty
    means no limit (at login; for the REST API it means no organisation at all). An audit record
    is written only when something changed.
    """
    wanted = _metadata(
        client_id=client_id,
        redirect_uris=redirect_uris,
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        name=name,
        profile=profile,
        backchannel_logout_uri=backchannel_logout_uri,
        post_logout_redirect_uris=post_logout_redirect_uris,
        id_token_signed_response_alg=id_token_signed_response_alg,
        userinfo_signed_response_alg=userinfo_signed_response_alg,
        sector_identifier=sector_identifier,
        active=active,
        grant_types=grant_types,
        scopes=scopes,
    )
    if isinstance(organisations, str):
        raise InvalidIdentifier("organisations", "must be a list of URAs")
    uras = sorted({Ura(ura).value for ura in organisations})
    with transaction(engine) as session:
        organisation_ids: dict[str, str] = {}
        for ura in uras:
            found = session.exec(select(Organisation).where(Organisation.ura == ura)).first()
            if found is None:
                raise NotFound("organisation", ura)
            organisation_ids[found.id] = ura
        row = session.exec(select(RelyingParty).where(RelyingParty.client_id == client_id)).first()
        created = row is None
        changed: list[str] = []
        if row is None:
            row = RelyingParty(client_id=client_id, **wanted)
            session.add(row)
            session.flush()
        else:
            for field, value in wanted.items():
                if getattr(row, field) != value:
                    setattr(row, field, value)
                    changed.append(field)
        now = utcnow()
        links = session.exec(
            select(RelyingPartyOrganisation).where(
                RelyingPartyOrganisation.relying_party_id == row.id
            )
        ).all()
        linked = {link.organisation_id: link for link in links}
        for link in links:
            wanted_link = link.organisation_id in organisation_ids
            if wanted_link == (link.removed_at is None):
                continue
            link.removed_at = None if wanted_link else now
            session.add(link)
            changed.append("organisations")
        for organisation_id in organisation_ids.keys() - linked.keys():
            session.add(
                RelyingPartyOrganisation(relying_party_id=row.id, organisation_id=organisation_id)
            )
            changed.append("organisations")
        record = client_record(row, tuple(uras))
        if not created and not changed:
            return record
        row.updated_at = now
        session.add(row)
        session.flush()
        audit.append(
            session,
            actor=actor,
            source=source,
            action="client.register" if created else "client.update",
            object_type="client",
            object_id=client_id,
            outcome="success",
            detail={"changed": sorted(set(changed))} if not created else {},
        )
        return record
