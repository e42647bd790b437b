"""The component schemas of the REST API's OpenAPI document (``registry.api.openapi``).

Request bodies refuse unknown members (``additionalProperties: false``), as the API does. Code
lists (organisation categories, declarable role codes) come from the files the service layer
checks against, so the enums cannot drift from what the register accepts.
"""

from __future__ import annotations

from typing import Any

from registry import codes
from registry.models import DECLARATION_STATUSES, ORGANISATION_STATUSES

__all__ = ["JSON", "PROBLEM", "digits", "ref", "schemas"]

JSON = "application/json"
PROBLEM = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_length: int, *, nullable: bool = False, min_length: int = 1) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "minLength": min_length,
        "maxLength": max_length,
    }
    return schema


def digits(count: int, *, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "pattern": f"^[0-9]{{{count}}}$"}


TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time"}
_BLANK = "Empty or blank means none."
OPTIONAL_TIMESTAMP: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
NAME = {**_text(128), "pattern": r"\S"}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _listing(item: str) -> dict[str, Any]:
    return _object(
        {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        },
        ["items", "next_cursor"],
    )


def schemas() -> dict[str, Any]:
    categories = sorted(codes.organisation_types())
    roles = sorted(code for code, role in codes.roles().items() if role.declarable)
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
                        "required": ["field", "detail"],
                    },
                },
            },
            "required": ["type", "title", "status"],
        },
        "Organisation": _object(
            {
                "ura": digits(8),
                "naam": {"type": "string"},
                "agb_code": digits(8, nullable=True),
                "categorie": {"type": "string"},
                "status": {"type": "string", "enum": list(ORGANISATION_STATUSES)},
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            },
            ["ura", "naam", "agb_code", "categorie", "status", "created_at", "updated_at"],
        ),
        "NewOrganisation": _object(
            {
                "ura": digits(8),
                "naam": NAME,
                "categorie": {"type": "string", "enum": categories},
                "agb_code": digits(8, nullable=True),
                "status": {"type": "string", "enum": ["pending", "active"], "default": "pending"},
            },
            ["ura", "naam", "categorie"],
        ),
        "OrganisationStatus": _object(
            {
                "status": {"type": "string", "enum": list(ORGANISATION_STATUSES)},
                "reason": {**_text(512, nullable=True, min_length=0), "description": _BLANK},
            },
            ["status"],
        ),
        "OrganisationList": _listing("Organisation"),
        "Professional": _object(
            {
                "dezi_nummer": digits(9),
                "voorletters": {"type": "string"},
                "voorvoegsel": {"type": ["string", "null"]},
                "achternaam": {"type": "string"},
                "big_nummer": digits(11, nullable=True),
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            },
            [
                "dezi_nummer",
                "voorletters",
                "voorvoegsel",
                "achternaam",
                "big_nummer",
                "created_at",
                "updated_at",
            ],
        ),
        "NewProfessional": _object(
            {
                "voorletters": NAME,
                "voorvoegsel": {**_text(128, nullable=True, min_length=0), "description": _BLANK},
                "achternaam": NAME,
                "big_nummer": digits(11, nullable=True),
                "dezi_nummer": {
                    **digits(9, nullable=True),
                    "description": "Registry administrators only; otherwise one is issued.",
                },
            },
            ["voorletters", "achternaam"],
        ),
        "ProfessionalList": _listing("Professional"),
        "Declaration": _object(
            {
                "id": {"type": "string", "format": "uuid"},
                "dezi_nummer": digits(9),
                "ura": digits(8),
                "rol_code": {"type": "string"},
                "rol_naam": {"type": ["string", "null"]},
                "valid_from": TIMESTAMP,
                "valid_until": OPTIONAL_TIMESTAMP,
                "status": {"type": "string", "enum": list(DECLARATION_STATUSES)},
                "status_reason": {"type": ["string", "null"]},
                "personeelsnummer": {"type": ["string", "null"]},
                "issued_by": {"type": "string"},
                "revoked_by": {"type": ["string", "null"]},
                "revoked_at": OPTIONAL_TIMESTAMP,
                "created_at": TIMESTAMP,
            },
            [
                "id",
                "dezi_nummer",
                "ura",
                "rol_code",
                "rol_naam",
                "valid_from",
                "valid_until",
                "status",
                "status_reason",
                "personeelsnummer",
                "issued_by",
                "revoked_by",
                "revoked_at",
                "created_at",
            ],
        ),
        "NewDeclaration": _object(
            {
                "dezi_nummer": digits(9),
                "ura": digits(8),
                "rol_code": {"type": "string", "enum": roles},
                "valid_from": TIMESTAMP,
                "valid_until": OPTIONAL_TIMESTAMP,
                "personeelsnummer": _text(64, nullable=True),
            },
            ["dezi_nummer", "ura", "rol_code", "valid_from"],
        ),
        "Reason": _object({"reason": {**_text(512), "pattern": r"\S"}}, ["reason"]),
        "DeclarationList": _listing("Declaration"),
        "RelyingParty": _object(
            {
                "client_id": {"type": "string"},
                "name": {"type": "string"},
                "auth_method": {"type": "string"},
                "profile": {"type": "string"},
                "redirect_uris": {"type": "array", "items": {"type": "string"}},
                "post_logout_redirect_uris": {"type": "array", "items": {"type": "string"}},
                "backchannel_logout_uri": {"type": ["string", "null"]},
                "jwks_uri": {"type": ["string", "null"]},
                "has_jwks": {"type": "boolean"},
                "organisations": {"type": "array", "items": digits(8)},
                "grant_types": {"type": "array", "items": {"type": "string"}},
                "scopes": {"type": "array", "items": {"type": "string"}},
                "active": {"type": "boolean"},
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            },
            [
                "client_id",
                "name",
                "auth_method",
                "profile",
                "redirect_uris",
                "post_logout_redirect_uris",
                "backchannel_logout_uri",
                "jwks_uri",
                "has_jwks",
                "organisations",
                "grant_types",
                "scopes",
                "active",
                "created_at",
                "updated_at",
            ],
        ),
        "RelyingPartyList": _listing("RelyingParty"),
    }
