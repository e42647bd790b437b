"""Operational endpoints: liveness, readiness, Prometheus metrics (INTERFACES.md "HTTP")."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.web.common import services


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    database = await run_in_threadpool(svc.register.ping)
    state = await run_in_threadpool(svc.state.ping)
    ready = database and state
    body = {"status": "ready" if ready else "unavailable", "database": database, "state": state}
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    return Response(
        services(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
