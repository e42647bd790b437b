"""``/consent/{tx}``: the care worker approves sending the verklaring (``idp.journey.consent``)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.journey import consent as journey_consent
from idp.journey.declarations import finish
from idp.journey.results import Redirect, Step
from idp.journey.sessions import current_session
from idp.journey.transactions import cancel
from idp.protocol.models import LoginTransaction
from idp.web import sso
from idp.web.common import services
from idp.web.transactions import tx_step

__all__ = ["consent_page"]

log = get_logger("idp.consent")


async def consent_page(request: Request) -> Response:
    svc = services(request)
    j = svc.journey
    sid = sso.session_id(request, svc)

    def step(tx: LoginTransaction, binding: str, form: Mapping[str, str] | None) -> Step:
        now = int(time.time())
        if form is None:
            return journey_consent.page(j, tx, binding, now)
        if form.get("action") != "approve":
            return cancel(j, tx)
        approved = journey_consent.approve(j, tx)
        if approved is None:
            return Redirect(f"/login/{tx.tx_id}")
        log.info("consent_given", client_id=tx.authorization_request().client_id)
        choice = approved.declaration_ids[0]
        return finish(j, approved, choice, now, current_session(j, sid, now), consented=True)

    # An approval is a register write: in the threadpool.
    return await tx_step(request, step, thread=request.method == "POST")
