"""The Dezi-compatible public endpoints (INTERFACES.md "HTTP"; Dezi v0.7 §2.6, §6).

- ``GET /dezi/jwks.json``: the verklaring's eSeal keys (the ``jku`` of every verklaring);
- ``GET /json_schemas/v1/{name}``: the JSON schemas the ``json_schema`` claims point to, read
  from ``config/json_schemas/v1/`` (data, versioned with the code);
- ``GET /status/v1/verklaring/{verklaring_id}``: one verklaring's status; an unknown id is 404,
  a malformed one 400, another method 405, an unreachable register 503, each as an RFC 9457
  problem (``application/problem+json``; v0.7 §6 names RFC 7807, which RFC 9457 obsoletes with
  the same format);
- ``GET /revocatiecontrole/v1``: the signed revocation list (``application/jose``), with
  ``Cache-Control`` no longer than the server itself reuses it, an ``ETag`` and ``304``.

All of it is public data, so it is served to any origin (``Access-Control-Allow-Origin: *``):
an EPD running in a browser can check a verklaring itself.
"""

from __future__ import annotations

import functools
import json
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from idp.audit import get_logger
from idp.protocol.revocation import MalformedVerklaringId
from idp.protocol.verklaring import (
    REVOCATION_LIST_PATH,
    SCHEMA_PATH,
    SCHEMAS,
    STATUS_PATH,
    VERKLARING_JWKS_PATH,
)
from idp.web.common import services

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "config" / "json_schemas" / "v1"
PUBLIC = {"Access-Control-Allow-Origin": "*"}
READ_METHODS = ("GET", "HEAD")
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
log = get_logger("idp.dezi")


def problem(status: int, title: str, detail: str, **headers: str) -> JSONResponse:
    """An RFC 9457 §3 problem details response (``type`` defaults to ``about:blank``)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(
        body,
        status_code=status,
        media_type="application/problem+json",
        headers={**PUBLIC, "Cache-Control": "no-store", **headers},
    )


def _method_not_allowed() -> JSONResponse:
    return problem(405, "Method Not Allowed", "Use GET.", Allow=", ".join(READ_METHODS))


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    return data


async def verklaring_jwks_endpoint(request: Request) -> Response:
    return JSONResponse(
        services(request).verklaring.public_jwks(),
        media_type="application/jwk-set+json",
        headers={**PUBLIC, "Cache-Control": "public, max-age=300"},
    )


async def json_schema_endpoint(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in SCHEMAS:
        return problem(404, "Not Found", "No such schema.")
    issuer = services(request).config.issuer
    body = {"$id": f"{issuer}{SCHEMA_PATH}{name}", **_schema(name)}
    return JSONResponse(
        body,
        media_type="application/schema+json",
        headers={**PUBLIC, "Cache-Control": "public, max-age=86400"},
    )


async def verklaring_status_endpoint(request: Request) -> Response:
    """Dezi v0.7 §6: ``{"verklaringId", "status"}``; the status words are in
    ``idp.protocol.revocation``."""
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    svc = services(request)
    raw = request.path_params["verklaring_id"]
    try:
        body = await run_in_threadpool(svc.revocation.status, raw)
    except MalformedVerklaringId as exc:
        return problem(400, "Bad Request", exc.description)
    except Exception:  # the register is unreachable: a problem document, not a traceback
        log.exception("verklaring_status_failed")
        return problem(503, "Service Unavailable", "The register cannot be read; try again.")
    if body is None:
        return problem(404, "Not Found", "No verklaring with this id.")
    return JSONResponse(body, headers={**PUBLIC, "Cache-Control": "no-cache"})


async def revocation_list_endpoint(request: Request) -> Response:
    """Dezi v0.7 §6: the signed list, regenerated within 30 s of a change (DECISIONS.md #11)."""
    if request.method not in READ_METHODS:
        return _method_not_allowed()
    revocation = services(request).revocation
    try:
        signed = await run_in_threadpool(revocation.current)
    except Exception:
        log.exception("revocation_list_failed")
        return problem(503, "Service Unavailable", "The revocation list cannot be made now.")
    headers = {
        **PUBLIC,
        "Cache-Control": f"public, max-age={revocation.max_age(signed)}",
        "ETag": signed.etag,
        "Last-Modified": formatdate(signed.generated_at, usegmt=True),
    }
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if signed.etag in wanted:
        return Response(status_code=304, headers=headers)
    return Response(signed.token, media_type="application/jose", headers=headers)


def routes() -> list[BaseRoute]:
    """The routes above; ``idp.app`` adds them to the application."""
    return [
        Route(VERKLARING_JWKS_PATH, verklaring_jwks_endpoint),
        Route(SCHEMA_PATH + "{name}", json_schema_endpoint),
        # Writing methods reach the endpoints too, which answer 405 as a problem document.
        Route(STATUS_PATH + "{verklaring_id}", verklaring_status_endpoint, methods=ANY_METHOD),
        Route(REVOCATION_LIST_PATH, revocation_list_endpoint, methods=ANY_METHOD),
    ]
