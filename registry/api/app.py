"""The REST API as an ASGI application, to be mounted at ``/api/v1`` by the deployment.

``create_api(engine, authenticate)``: the register's own HTTP adapter. Every error is an RFC 9457
problem (``problems``), including routing errors and unexpected failures.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy.exc
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from registry.api import clients, declarations, organisations, professionals
from registry.api.context import ApiContext, api_context, json_response
from registry.api.openapi import document
from registry.api.principal import Authenticate
from registry.api.problems import (
    ApiProblem,
    handle_http_exception,
    handle_problem,
    handle_registry_error,
    handle_unavailable,
    handle_unexpected,
)
from registry.errors import RegistryError

__all__ = ["DEFAULT_BASE_PATH", "create_api", "routes"]

DEFAULT_BASE_PATH = "/api/v1"
Endpoint = Callable[[Request], Awaitable[Response]]


async def openapi_document(request: Request) -> Response:
    return json_response(document(api_context(request).base_path))


def _by_method(**endpoints: Endpoint) -> Endpoint:
    """One endpoint per path, so that a 405 lists every method of the path in ``Allow``."""

    async def endpoint(request: Request) -> Response:
        return await endpoints[request.method.lower()](request)

    return endpoint


def _route(path: str, **endpoints: Endpoint) -> Route:
    methods = [method.upper() for method in endpoints]
    if "get" in endpoints:
        endpoints["head"] = endpoints["get"]
    return Route(path, _by_method(**endpoints), methods=methods)


def routes() -> list[Route]:
    return [
        _route("/openapi.json", get=openapi_document),
        _route("/organisations", get=organisations.list_all, post=organisations.create),
        _route("/organisations/{ura}", get=organisations.get_one),
        _route("/organisations/{ura}/status", post=organisations.change_status),
        _route("/professionals", get=professionals.list_all, post=professionals.create),
        _route("/professionals/{dezi_nummer}", get=professionals.get_one),
        _route("/declarations", get=declarations.list_all, post=declarations.create),
        _route("/declarations/{declaration_id}", get=declarations.get_one),
        _route("/declarations/{declaration_id}/revoke", post=declarations.revoke),
        _route("/declarations/{declaration_id}/suspend", post=declarations.suspend),
        _route("/relying-parties", get=clients.list_all),
        _route("/relying-parties/{client_id}", get=clients.get_one),
    ]


# What an unreachable database raises: answered 503, not 500 (INTERFACES.md "Outages").
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
)


def create_api(
    engine: Engine,
    authenticate: Authenticate,
    *,
    base_path: str = DEFAULT_BASE_PATH,
    outages: tuple[type[Exception], ...] = (),
) -> Starlette:
    """The API on ``engine``; ``authenticate`` turns a request into a ``Principal``.
    ``outages``: further exception classes that mean "a dependency is down for now" (the
    IdP's state store, behind ``authenticate``), answered 503 like the database's."""
    app = Starlette(
        routes=routes(),
        exception_handlers={
            ApiProblem: handle_problem,
            RegistryError: handle_registry_error,
            HTTPException: handle_http_exception,
            **dict.fromkeys((*DATABASE_OUTAGES, *outages), handle_unavailable),
            Exception: handle_unexpected,
        },
    )
    app.state.api = ApiContext(engine=engine, authenticate=authenticate, base_path=base_path)
    return app
