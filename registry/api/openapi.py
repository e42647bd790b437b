"""The OpenAPI 3.1 document of the REST API, written by hand as data (contract first).

Served at ``GET /api/v1/openapi.json``. A test compares its paths and methods with the routes
(``tests/web/api/test_openapi.py``), and a schemathesis run checks the responses against it. The
component schemas live in ``openapi_schemas``.
"""

from __future__ import annotations

from typing import Any

from registry import codes
from registry.api.openapi_schemas import JSON, PROBLEM, digits, ref, schemas
from registry.models import DECLARATION_STATUSES, ORGANISATION_STATUSES

__all__ = ["document"]


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": ref("Problem")}}}


PROBLEMS: dict[str, dict[str, Any]] = {
    "400": _problem("The request cannot be read (query, cursor, JSON syntax, header)."),
    "401": {
        **_problem("No valid access token for the registry API (RFC 6750 §3)."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": _problem("Outside what the caller may do."),
    "404": _problem("No such object, or one of another organisation (never told apart)."),
    "409": _problem("Conflicts with the register (e.g. a natural key is taken)."),
    "412": _problem("If-Match does not match the current ETag (RFC 7232 §4.2)."),
    "415": _problem("The body is not application/json."),
    "422": _problem("The body breaks a rule of the register, or reuses an Idempotency-Key."),
    "428": _problem("Updates need If-Match (RFC 6585 §3)."),
    "default": _problem("Any other error, as problem details (RFC 9457)."),
}


def _errors(*codes_: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/Problem{code}"} for code in codes_}


def _ok(schema: str, status: str = "200", *, etag: bool = True, location: bool = False) -> Any:
    headers: dict[str, Any] = {}
    if etag:
        headers["ETag"] = {"required": True, "schema": {"type": "string"}}
    if location:
        headers["Location"] = {"required": True, "schema": {"type": "string"}}
    response: dict[str, Any] = {
        "description": "OK" if status == "200" else "Created",
        "content": {JSON: {"schema": ref(schema)}},
    }
    if headers:
        response["headers"] = headers
    return {status: response}


def _param(name: str, where: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "required": where == "path", **extra}


PAGE = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    _param("cursor", "query", {"type": "string", "minLength": 1, "maxLength": 512}),
]
SEARCH = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^\\x00]*$"}
IDEMPOTENCY_KEY = _param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    description="Same key and request again: the same answer, no second effect.",
)
IF_MATCH = _param("If-Match", "header", {"type": "string", "minLength": 1}, required=True) | {
    "description": "The ETag of the object as last read (RFC 7232 §3.1)."
}


def _read(summary: str, params: list[dict[str, Any]], ok: dict[str, Any], *extra: str) -> Any:
    return {
        "summary": summary,
        "parameters": params,
        "responses": {**ok, **_errors("400", "401", *extra, "404", "default")},
    }


def _write(
    summary: str,
    params: list[dict[str, Any]],
    body: str,
    ok: dict[str, Any],
    *,
    update: bool = False,
) -> Any:
    extra = ("412", "428") if update else ()
    return {
        "summary": summary,
        "parameters": [*params, IDEMPOTENCY_KEY, *([IF_MATCH] if update else [])],
        "requestBody": {"required": True, "content": {JSON: {"schema": ref(body)}}},
        "responses": {
            **ok,
            **_errors("400", "401", "403", "404", "409", *extra, "415", "422", "default"),
        },
    }


def _paths() -> dict[str, Any]:
    ura = _param("ura", "path", digits(8))
    dezi = _param("dezi_nummer", "path", digits(9))
    declaration = _param("declaration_id", "path", {"type": "string", "format": "uuid"})
    client = _param("client_id", "path", {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"})
    created_or_same = {
        **_ok("Organisation", "200"),
        **_ok("Organisation", "201", location=True),
    }
    return {
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/organisations": {
            "get": _read(
                "Organisations the caller administers",
                [
                    _param("status", "query", {"enum": list(ORGANISATION_STATUSES)}),
                    _param("naam", "query", SEARCH, description="Literal part of the name."),
                    _param("categorie", "query", {"enum": sorted(codes.organisation_types())}),
                    *PAGE,
                ],
                _ok("OrganisationList", etag=False),
            ),
            "post": _write(
                "Enrol an organisation (registry administrators)",
                [],
                "NewOrganisation",
                created_or_same,
            ),
        },
        "/organisations/{ura}": {
            "get": _read("One organisation", [ura], _ok("Organisation")),
        },
        "/organisations/{ura}/status": {
            "post": _write(
                "Change an organisation's status (registry administrators)",
                [ura],
                "OrganisationStatus",
                _ok("Organisation"),
                update=True,
            ),
        },
        "/professionals": {
            "get": _read(
                "Professionals at the caller's organisations",
                [
                    _param("achternaam", "query", SEARCH, description="Literal part."),
                    _param("dezi_nummer", "query", digits(9)),
                    _param("big_nummer", "query", digits(11)),
                    _param("ura", "query", digits(8)),
                    *PAGE,
                ],
                _ok("ProfessionalList", etag=False),
            ),
            "post": _write(
                "Enrol a professional; a Dezi number is issued",
                [],
                "NewProfessional",
                {**_ok("Professional", "200"), **_ok("Professional", "201", location=True)},
            ),
        },
        "/professionals/{dezi_nummer}": {
            "get": _read("One professional", [dezi], _ok("Professional")),
        },
        "/declarations": {
            "get": _read(
                "Declarations at the caller's organisations",
                [
                    _param("ura", "query", digits(8)),
                    _param("status", "query", {"enum": list(DECLARATION_STATUSES)}),
                    _param("dezi_nummer", "query", digits(9)),
                    _param("rol_code", "query", {"type": "string", "pattern": r"^\d{2}\.\d{3}$"}),
                    *PAGE,
                ],
                _ok("DeclarationList", etag=False),
            ),
            "post": _write(
                "Issue a declaration",
                [],
                "NewDeclaration",
                _ok("Declaration", "201", location=True),
            ),
        },
        "/declarations/{declaration_id}": {
            "get": _read("One declaration", [declaration], _ok("Declaration")),
        },
        "/declarations/{declaration_id}/revoke": {
            "post": _write(
                "Revoke a declaration", [declaration], "Reason", _ok("Declaration"), update=True
            ),
        },
        "/declarations/{declaration_id}/suspend": {
            "post": _write(
                "Suspend a declaration", [declaration], "Reason", _ok("Declaration"), update=True
            ),
        },
        "/relying-parties": {
            "get": _read(
                "Registered clients (registry administrators)",
                PAGE,
                _ok("RelyingPartyList", etag=False),
                "403",
            ),
        },
        "/relying-parties/{client_id}": {
            "get": _read(
                "One client (registry administrators)", [client], _ok("RelyingParty"), "403"
            ),
        },
    }


def document(base_path: str) -> dict[str, Any]:
    """The document, with ``servers`` pointing at where the API is mounted."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "zorg-idp registry API",
            "version": "1.0.0",
            "description": (
                "Organisations, professionals and declarations of the register. Access tokens "
                "come from this OP: client credentials (private_key_jwt, scope `registry`) for "
                "HR systems, limited to their organisations; the authorization code flow with "
                "scope `registry` for administrators. Errors are RFC 9457 problem details; "
                "updates need If-Match; POSTs accept an Idempotency-Key."
            ),
        },
        "servers": [{"url": base_path}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": schemas(),
            "responses": {f"Problem{code}": response for code, response in PROBLEMS.items()},
        },
    }
