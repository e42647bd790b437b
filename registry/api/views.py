"""What the REST API returns for each object, and its entity tag.

Names are returned exactly as stored (NFC, as entered): HTML-looking text stays text in a JSON
string, served as ``application/json`` with ``nosniff`` (security-checklist.md K2: escaping is
the renderer's job). A BSN is never stored, so never returned; identity bindings are not exposed.

The entity tag (RFC 7232 §2.3) is strong: a hash over the canonical JSON of the representation,
so it changes exactly when what a GET returns changes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from registry import codes
from registry.errors import InvalidIdentifier
from registry.models import (
    Declaration,
    Organisation,
    Professional,
    RelyingParty,
    RelyingPartyOrganisation,
)

__all__ = [
    "client_view",
    "declaration_view",
    "entity_tag",
    "organisation_view",
    "professional_view",
    "timestamp",
]


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def entity_tag(view: dict[str, Any]) -> str:
    """A strong ETag (RFC 7232 §2.3) of a representation."""
    canonical = json.dumps(view, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32] + '"'


def organisation_view(row: Organisation) -> dict[str, Any]:
    return {
        "ura": row.ura,
        "naam": row.naam,
        "agb_code": row.agb_code,
        "categorie": row.categorie,
        "status": row.status,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def professional_view(row: Professional) -> dict[str, Any]:
    return {
        "dezi_nummer": row.dezi_nummer,
        "voorletters": row.voorletters,
        "voorvoegsel": row.voorvoegsel,
        "achternaam": row.achternaam,
        "big_nummer": row.big_nummer,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def _rol_naam(rol_code: str) -> str | None:
    try:
        return codes.rol_naam(codes.role(rol_code))
    except InvalidIdentifier:  # a code dropped from the list since: still shown
        return None


def declaration_view(row: Declaration, dezi_nummer: str, ura: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "dezi_nummer": dezi_nummer,
        "ura": ura,
        "rol_code": row.rol_code,
        "rol_naam": _rol_naam(row.rol_code),
        "valid_from": timestamp(row.valid_from),
        "valid_until": timestamp(row.valid_until),
        "status": row.status,
        "status_reason": row.status_reason,
        "personeelsnummer": row.personeelsnummer,
        "issued_by": row.issued_by,
        "revoked_by": row.revoked_by,
        "revoked_at": timestamp(row.revoked_at),
        "created_at": timestamp(row.created_at),
    }


def client_view(row: RelyingParty, organisations: list[str]) -> dict[str, Any]:
    """A relying party's registration; its keys are public, but only their location is shown."""
    return {
        "client_id": row.client_id,
        "name": row.name,
        "auth_method": row.auth_method,
        "profile": row.profile,
        "redirect_uris": list(row.redirect_uris),
        "post_logout_redirect_uris": list(row.post_logout_redirect_uris),
        "backchannel_logout_uri": row.backchannel_logout_uri,
        "jwks_uri": row.jwks_uri,
        "has_jwks": row.jwks is not None,
        "organisations": organisations,
        "grant_types": list(row.grant_types),
        "scopes": list(row.scopes),
        "active": row.active,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def client_organisations(session: Session, relying_party_ids: list[str]) -> dict[str, list[str]]:
    """URAs of the current organisation links, per relying party id."""
    if not relying_party_ids:
        return {}
    rows = session.exec(
        select(RelyingPartyOrganisation.relying_party_id, Organisation.ura)
        .join(Organisation, col(Organisation.id) == col(RelyingPartyOrganisation.organisation_id))
        .where(
            col(RelyingPartyOrganisation.relying_party_id).in_(relying_party_ids),
            col(RelyingPartyOrganisation.removed_at).is_(None),
        )
    ).all()
    found: dict[str, list[str]] = {}
    for relying_party_id, ura in rows:
        found.setdefault(relying_party_id, []).append(ura)
    return {key: sorted(value) for key, value in found.items()}
