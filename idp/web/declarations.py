"""``/select/{tx}``: the organisation and role choice (``idp.journey.declarations``)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from idp.journey import declarations as journey_declarations
from idp.journey.results import Redirect, Step
from idp.journey.sessions import current_session
from idp.journey.transactions import cancel
from idp.protocol.models import LoginTransaction
from idp.web import sso
from idp.web.common import services
from idp.web.transactions import tx_step

__all__ = ["select_declaration"]


async def select_declaration(request: Request) -> Response:
    svc = services(request)
    j = svc.journey
    sid = sso.session_id(request, svc)

    def step(tx: LoginTransaction, binding: str, form: Mapping[str, str] | None) -> Step:
        now = int(time.time())
        if tx.dezi_nummer is None:
            return Redirect(f"/login/{tx.tx_id}")
        if form is not None:
            if form.get("action") == "cancel":
                return cancel(j, tx)
            chosen = form.get("declaration_id", "")
            if chosen in tx.declaration_ids:
                current = current_session(j, sid, now)
                return journey_declarations.finish(j, tx, chosen, now, current)
        return journey_declarations.select_page(j, tx, binding, now)

    return await tx_step(request, step)
