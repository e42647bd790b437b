"""Step-up from the account pages (``idp.journey.step_up``): the HTTP side."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from idp.journey import step_up
from idp.web.services import Services
from idp.web.steps import offload, respond

__all__ = ["start"]


async def start(request: Request, svc: Services, binding: str, return_path: str) -> Response:
    """Begin a login at level high that returns to ``return_path`` (a path on this OP)."""
    step = await offload(svc, step_up.start, svc.journey, binding, return_path, int(time.time()))
    return respond(request, svc, step)
