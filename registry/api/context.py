"""What every API route needs: the engine, the caller, responses, and the read audit trail.

Reads are logged too (NEN 7513 counts reading and searching the register as events;
security-checklist.md L1): one ``register.read`` or ``register.search`` audit record per
successful GET of register data, with the caller, the organisation acted for, and the filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry import audit
from registry.api.principal import Authenticate, Principal
from registry.api.problems import NO_STORE, ApiProblem
from registry.api.writes import Answer
from registry.db import read_session, transaction

__all__ = ["ApiContext", "api_context"]

T = TypeVar("T")
MAX_SOURCE = 255


@dataclass(frozen=True)
class ApiContext:
    engine: Engine
    authenticate: Authenticate
    base_path: str  # where the API is mounted, e.g. "/api/v1" (for Location headers)

    async def principal(self, request: Request) -> Principal:
        """RFC 6750 §3: 401 with a ``Bearer`` challenge when there is no acceptable token."""
        principal = await self.authenticate(request)
        if principal is not None:
            return principal
        challenge = 'Bearer realm="registry"'
        if "authorization" in request.headers:
            challenge += ', error="invalid_token"'
        raise ApiProblem(
            401,
            "A valid access token for the registry API is required",
            headers={"WWW-Authenticate": challenge},
        )

    @staticmethod
    def source(request: Request) -> str | None:
        """NEN 7513 access point: the client address (uvicorn resolves trusted proxies)."""
        return None if request.client is None else request.client.host[:MAX_SOURCE]

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with read_session(self.engine) as session:
                return work(session)

        return await run_in_threadpool(run)

    async def log(
        self,
        request: Request,
        principal: Principal,
        *,
        action: str,
        object_type: str,
        object_id: str,
        uras: tuple[str, ...] = (),
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append the audit record of a read (``register.read`` / ``register.search``)."""

        def run() -> None:
            with transaction(self.engine) as session:
                audit.append(
                    session,
                    actor=principal.actor,
                    on_behalf_of=principal.on_behalf_of(uras),
                    source=self.source(request),
                    action=action,
                    object_type=object_type,
                    object_id=object_id,
                    outcome="success",
                    detail=detail or {},
                )

        await run_in_threadpool(run)

    def location(self, path: str) -> str:
        return f"{self.base_path}{path}"


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


def json_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


def answer_response(answer: Answer) -> Response:
    headers = dict(answer.headers)
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(answer.body, status=answer.status, headers=headers)
