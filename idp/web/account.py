"""``/account``: the care worker's own page (issue 6 items 5 and 8).

It shows who she is logged in as, her usable declarations, the applications this session has
opened, and lets her log out here or on every device (ASVS 7.4.x). It needs a live session.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.web import browser, passkeys, sso
from idp.web.common import (
    read_session_form,
    render,
    see_other,
    services,
)
from idp.web.logout import Ended, end_session
from idp.web.services import Services

CSRF_PURPOSE = "account"


def _csrf(svc: Services, sid: str, binding: str) -> str:
    return browser.csrf_token(svc.cookie_secret, f"{CSRF_PURPOSE}\x00{sid}", binding)


async def account(request: Request) -> Response:
    svc = services(request)
    session = await sso.current_session(request, svc)
    if session is None:
        return render(request, "account.html", {"session": None}, status_code=401)
    binding = browser.binding_value(request, svc.settings)
    if request.method == "POST":
        form = await read_session_form(request, svc, session, binding, CSRF_PURPOSE)
        if isinstance(form, Response):
            return form
        action = form.get("action")
        if action == "withdraw":
            await _withdraw(svc, session.dezi_nummer, form.get("consent_id", ""))
            return see_other("/account")
        if action in ("logout", "logout_everywhere"):
            targets = [session]
            if action == "logout_everywhere":
                targets = await run_in_threadpool(svc.state.sessions_of, session.dezi_nummer)
            ended = Ended()
            for target in targets:
                ended = ended + await end_session(svc, target, f"user:{action}")
            response = render(request, "logged_out.html", ended.context())
            sso.clear_cookie(response, svc)
            return response
        return see_other("/account")
    if binding is None:
        binding = browser.new_binding()
    now = datetime.now(UTC)
    professional = await run_in_threadpool(svc.register.find_professional, session.dezi_nummer)
    declarations = await run_in_threadpool(
        svc.register.usable_declarations, session.dezi_nummer, (), now
    )
    others = await run_in_threadpool(svc.state.sessions_of, session.dezi_nummer)
    clients = [svc.clients.get_client(c) for c in session.clients]
    response = render(
        request,
        "account.html",
        {
            "session": session,
            "professional": professional,
            "declarations": declarations,
            "clients": [c.name for c in clients if c is not None],
            "other_sessions": len([s for s in others if s.sid != session.sid]),
            "started": datetime.fromtimestamp(session.created_at, UTC).strftime("%H:%M UTC"),
            "csrf_token": _csrf(svc, session.sid, binding),
            "consents": await run_in_threadpool(svc.consents.consents_of, session.dezi_nummer),
            **await passkeys.account_section(svc, session, binding),
        },
    )
    browser.set_binding_cookie(response, svc.settings, binding)
    return response


async def _withdraw(svc: Services, dezi_nummer: str, consent_id: str) -> None:
    """Withdraw a consent and revoke the live grants that relying party holds for it."""
    consents = await run_in_threadpool(svc.consents.consents_of, dezi_nummer)
    chosen = next((c for c in consents if c.consent_id == consent_id), None)
    if chosen is None:
        return
    await run_in_threadpool(svc.consents.withdraw_consent, dezi_nummer, consent_id)
    for session in await run_in_threadpool(svc.state.sessions_of, dezi_nummer):
        for grant_id in session.grants:
            grant = await run_in_threadpool(svc.state.get_grant, grant_id)
            if (
                grant is not None
                and grant.client_id == chosen.client_id
                and grant.declaration_id == chosen.declaration_id
            ):
                await run_in_threadpool(svc.state.revoke_grant, grant_id)
