"""``/logout``: RP-initiated logout with a confirmation step, and ending an OP session.

Ending a session deletes its record, revokes every grant issued in it (so access tokens stop
working at once) and notifies each relying party with a back-channel logout token.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.journey import sessions
from idp.protocol.logout import LogoutRejected, LogoutRequest
from idp.protocol.models import SsoSession
from idp.protocol.redirect import with_query
from idp.web import browser, sso
from idp.web.common import (
    BadInput,
    error_page,
    form_pairs,
    query_pairs,
    render,
    see_other,
    services,
)
from idp.web.offload import offload
from idp.web.services import Services

log = get_logger("idp.logout")
FORWARDED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


@dataclass(frozen=True, slots=True)
class Ended:
    """What ending a session reached: the applications told by back-channel logout, and those
    that registered no back-channel URI and so could not be told (DECISIONS.md #15: the page
    says only what is true)."""

    told: tuple[str, ...] = ()
    untold: tuple[str, ...] = ()

    def __add__(self, other: Ended) -> Ended:
        return Ended(self.told + other.told, self.untold + other.untold)

    def context(self) -> dict[str, object]:
        return {"told": sorted(set(self.told)), "untold": sorted(set(self.untold)), "ended": True}


async def end_session(svc: Services, session: SsoSession, reason: str) -> Ended:
    """End one OP session everywhere (ASVS 7.4.x; ``idp.journey.sessions.end_session``)."""
    messages = await offload(svc, sessions.end_session, svc.journey, session)
    svc.backchannel.dispatch(messages)
    log.info("session_ended", sid=session.sid[:8], reason=reason, notified=len(messages))
    told = {m.client_id for m in messages}
    clients = [svc.clients.get_client(c) for c in session.clients]
    return Ended(
        told=tuple(c.name for c in clients if c is not None and c.client_id in told),
        untold=tuple(c.name for c in clients if c is not None and c.client_id not in told),
    )


def _done(
    request: Request, svc: Services, logout: LogoutRequest, ended: Ended | None = None
) -> Response:
    if logout.redirect_uri is not None:
        params = [("state", logout.state)] if logout.state is not None else []
        response: Response = see_other(with_query(logout.redirect_uri, params))
    else:
        context = ended.context() if ended is not None else {"ended": False}
        response = render(request, "logged_out.html", context)
    sso.clear_cookie(response, svc)
    return response


def _confirm_token(svc: Services, session: SsoSession, binding: str) -> str:
    return browser.csrf_token(svc.cookie_secret, f"logout\x00{session.sid}", binding)


async def logout(request: Request) -> Response:
    svc = services(request)
    try:
        pairs = query_pairs(request) if request.method == "GET" else await form_pairs(request)
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    params = dict(pairs)
    try:
        logout_request = await run_in_threadpool(svc.logout.validate, params)
    except LogoutRejected as exc:
        log.info("logout_rejected", detail=exc.log_detail)
        return error_page(request, "Logout request refused", exc.description)
    session = await sso.current_session(request, svc)
    if session is None:
        return _done(request, svc, logout_request)
    binding = browser.binding_value(request, svc.settings)
    if logout_request.hint_sid == session.sid:
        # The relying party proved it knows this very session: no confirmation needed.
        ended = await end_session(svc, session, "rp-initiated")
        return _done(request, svc, logout_request, ended)
    if request.method == "POST" and "action" in params:
        if (
            binding is None
            or not browser.origin_ok(request, svc.config.issuer)
            or not browser.csrf_ok(
                svc.cookie_secret, f"logout\x00{session.sid}", binding, params.get("csrf_token")
            )
        ):
            return error_page(request, "Request refused", "The form could not be verified.", 403)
        if params["action"] == "logout":
            ended = await end_session(svc, session, "user")
            return _done(request, svc, logout_request, ended)
        return render(request, "logged_out.html", {"still_logged_in": True})
    if binding is None:
        binding = browser.new_binding()
    clients = [svc.clients.get_client(c) for c in session.clients]
    context = {
        "csrf_token": _confirm_token(svc, session, binding),
        "forwarded": {k: params[k] for k in FORWARDED if k in params},
        "clients": [c.name for c in clients if c is not None],
    }
    response = render(
        request, "logout_confirm.html", context, form_target=logout_request.redirect_uri
    )
    browser.set_binding_cookie(response, svc.settings, binding)
    return response
