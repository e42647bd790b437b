"""Outages answer 503 and heal (INTERFACES.md "Outages"; RFC 6749 §5.2 and §4.1.2.1
``temporarily_unavailable``; RFC 9110 §15.6.4 and §10.2.3 ``Retry-After``).

While the state store or the database cannot be reached, a request that needs it fails fast
(socket and connect timeouts of two seconds, ``idp.state.factory`` and ``registry.db``) with one
of the exceptions below. Instead of a 500, the caller gets the form it expects: OAuth endpoints
and the register API a JSON body, browser pages a page that says to try again. Nothing is cached
about the outage: the next request tries again, so the service recovers by itself as soon as
Redis or the database is back (redis-py reconnects, SQLAlchemy's pool pings its connections).
"""

from __future__ import annotations

import redis.exceptions
import sqlalchemy.exc
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.authorization_code import NO_STORE
from idp.protocol.config import TOKEN_PATH, USERINFO_PATH
from idp.web.common import error_page
from idp.web.responses import JSONResponse

__all__ = ["OUTAGES", "RETRY_AFTER", "outage"]

log = get_logger("idp.outage")

RETRY_AFTER = "5"

# What an unreachable Redis (standalone or Sentinel, during a failover too) or database raises.
OUTAGES: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,  # incl. BusyLoadingError, MasterNotFoundError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica that was the primary a moment ago
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # the connection pool is exhausted
    sqlalchemy.exc.DisconnectionError,
)

_JSON_PATHS = (TOKEN_PATH, USERINFO_PATH, "/revocatiecontrole/", "/status/", "/.well-known/")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path in (TOKEN_PATH, USERINFO_PATH)
        or path.startswith(_JSON_PATHS)
        or path.startswith("/api/")
        or "json" in request.headers.get("accept", "")
    )


async def outage(request: Request, exc: Exception) -> Response:
    """The exception handler for ``OUTAGES``: 503 with ``Retry-After``, never a 500."""
    log.warning("dependency_unavailable", error=type(exc).__name__, path=request.url.path)
    headers = {"Retry-After": RETRY_AFTER, **NO_STORE}
    if request.url.path.startswith("/api/"):
        body = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The register is temporarily unavailable; try again shortly.",
        }
        response: Response = JSONResponse(body, status_code=503, headers=headers)
        response.headers["content-type"] = "application/problem+json"
        return response
    if _wants_json(request):
        body = {
            "error": "temporarily_unavailable",
            "error_description": "The service is temporarily unavailable; try again shortly.",
        }
        return JSONResponse(body, status_code=503, headers=headers)
    page = error_page(
        request,
        "Temporarily unavailable",
        "This service cannot be reached for a moment. Wait a few seconds, then try again.",
        503,
    )
    page.headers["Retry-After"] = RETRY_AFTER
    return page
