"""Errors of the REST API as RFC 9457 problem details (``application/problem+json``).

Every error response of ``/api/v1`` is one of these (§3.1 members ``type``, ``title``, ``status``,
``detail``), including 404/405 from routing and the 500 of an unexpected failure. ``type`` is
``about:blank`` where the HTTP status says it all (§4.2.1) and a URN per registry error code
otherwise (§3.1.1). ``detail`` is the registry error's public ``description``; its
``log_detail`` never reaches the client (STYLE.md principle 5). Validation problems carry an
``errors`` extension (§3.2) with one entry per field.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.errors import Conflict, InvalidIdentifier, InvariantViolation, NotFound, RegistryError

__all__ = [
    "NO_STORE",
    "PROBLEM_JSON",
    "ApiProblem",
    "bad_request",
    "forbidden",
    "handle_http_exception",
    "handle_problem",
    "handle_registry_error",
    "handle_unexpected",
    "not_found",
    "problem_for",
    "unprocessable",
]

PROBLEM_JSON = "application/problem+json"
NO_STORE = {"Cache-Control": "no-store"}
TYPE_PREFIX = "urn:zorg-idp:problem:"


class ApiProblem(Exception):
    """An error answered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{TYPE_PREFIX}{self.code}" if self.code else "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> Response:
        return JSONResponse(
            self.body(),
            status_code=self.status,
            headers={**NO_STORE, **self.headers},
            media_type=PROBLEM_JSON,
        )


def bad_request(detail: str, field: str | None = None) -> ApiProblem:
    errors = [{"field": field, "detail": detail}] if field else None
    return ApiProblem(400, detail, code="bad_request", errors=errors)


def unprocessable(detail: str, field: str | None = None, code: str = "invalid_body") -> ApiProblem:
    errors = [{"field": field, "detail": detail}] if field else None
    return ApiProblem(422, detail, code=code, errors=errors)


def forbidden(detail: str = "This is outside what the caller may administer") -> ApiProblem:
    return ApiProblem(403, detail)


def not_found(detail: str = "No such object") -> ApiProblem:
    """Also the answer for another organisation's objects: their existence must not leak
    (security-checklist.md K4)."""
    return ApiProblem(404, detail)


def problem_for(exc: RegistryError) -> ApiProblem:
    """The API status of a service-layer error."""
    if isinstance(exc, InvalidIdentifier):
        return ApiProblem(
            422,
            exc.description,
            code=exc.code,
            errors=[{"field": exc.field, "detail": exc.message}],
        )
    if isinstance(exc, NotFound):
        return ApiProblem(404, exc.description, code=exc.code)
    if isinstance(exc, Conflict):
        return ApiProblem(409, exc.description, code=exc.code)
    if isinstance(exc, InvariantViolation):
        return ApiProblem(422, exc.description, code=exc.code)
    return ApiProblem(400, exc.description, code=exc.code)


async def handle_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiProblem):  # pragma: no cover - registered for it
        raise exc
    return exc.response()


async def handle_registry_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RegistryError):  # pragma: no cover - registered for it
        raise exc
    return problem_for(exc).response()


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) as problems; a 405 keeps its ``Allow`` header."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for it
        raise exc
    headers = dict(exc.headers or {})
    problem = ApiProblem(exc.status_code, HTTPStatus(exc.status_code).phrase, headers=headers)
    return problem.response()


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    """The database (or the IdP's state store) cannot be reached for now: 503 with
    ``Retry-After`` (RFC 9110 §15.6.4), never a 500; the next request tries again."""
    return ApiProblem(
        503,
        "The register is temporarily unavailable; try again shortly",
        code="unavailable",
        headers={"Retry-After": "5"},
    ).response()


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """RFC 9457 for the 500 too; the exception itself goes to the server log, not the body."""
    return ApiProblem(500, "The request could not be completed").response()
