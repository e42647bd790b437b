"""``/account/passkeys``: a care worker adds, lists and revokes her passkeys.

The web side of ``idp.authn.passkey_registration``. It exists only when the ``passkey`` login
method is enabled, and needs a live session:

- ``GET``: the registration page, with the creation options as JSON in a data attribute and a
  small script (``static/passkey.js``, allowed on this response only by CSP ``script-src
  'self'``) that runs ``navigator.credentials.create`` and posts the result. A session that is
  not at level high, or not recent, gets a page that says so and offers a step-up.
- ``POST`` with ``action``: ``register`` (verify and bind), ``revoke`` (one of hers), or
  ``step_up`` (``idp.web.account_step_up``). Each POST carries a CSRF token bound to the session
  and the browser, and its Origin is checked (``idp.web.browser``).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.authn.passkey import PasskeyLogin, PasskeyView
from idp.authn.passkey_registration import (
    NAME_MAX_LENGTH,
    REGISTRATION_MAX_AGE,
    PasskeyEnrolment,
    PasskeyRegistrationFailed,
    may_register,
)
from idp.protocol.models import SsoSession
from idp.web import account_step_up, browser, sso
from idp.web.common import error_page, read_session_form, render, see_other, services
from idp.web.services import Services

log = get_logger("idp.account")

PATH = "/account/passkeys"
CSRF_PURPOSE = "passkeys"
STEP_UP_TEXT = (
    "Adding a passkey needs a login at level high in the last "
    f"{REGISTRATION_MAX_AGE // 60} minutes, for example with your UZI-pas. "
    "A login with a passkey is at level substantial, so a passkey cannot add another one."
)


def passkey_method(svc: Services) -> PasskeyLogin | None:
    method = svc.login_methods.get("passkey")
    return method if isinstance(method, PasskeyLogin) else None


def _csrf(svc: Services, session: SsoSession, binding: str) -> str:
    return browser.csrf_token(svc.cookie_secret, f"{CSRF_PURPOSE}\x00{session.sid}", binding)


def _listed(passkey: PasskeyView) -> dict[str, Any]:
    return {
        "id": passkey.passkey_id,
        "name": passkey.name,
        "created": passkey.created_at.strftime("%Y-%m-%d"),
        "last_used": passkey.last_used_at.strftime("%Y-%m-%d %H:%M UTC")
        if passkey.last_used_at
        else "never",
        "synced": passkey.backup_eligible,
        "revoked": passkey.revoked_at is not None,
    }


async def account_section(svc: Services, session: SsoSession, binding: str) -> dict[str, Any]:
    """What ``/account`` shows about passkeys: her passkeys, and whether she may add one."""
    method = passkey_method(svc)
    if method is None:
        return {"passkeys": None}
    found = await run_in_threadpool(method.store.passkeys_of, session.dezi_nummer)
    return {
        "passkeys": {
            "items": [_listed(p) for p in found],
            "may_register": may_register(session.acr, session.auth_time, int(time.time())),
            "csrf_token": _csrf(svc, session, binding),
        }
    }


async def passkeys_page(request: Request) -> Response:
    svc = services(request)
    method = passkey_method(svc)
    if method is None:
        return error_page(request, "Page not found", "Passkeys are not enabled here.", 404)
    session = await sso.current_session(request, svc)
    if session is None:
        return render(request, "account.html", {"session": None}, status_code=401)
    binding = browser.binding_value(request, svc.settings)
    if request.method == "POST":
        return await _post(request, svc, method, session, binding)
    return await _registration_page(request, svc, method, session, binding)


async def _registration_page(
    request: Request,
    svc: Services,
    method: PasskeyLogin,
    session: SsoSession,
    binding: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if binding is None:
        # The account page sets the binding cookie; without it nothing can be posted.
        return see_other("/account")
    context: dict[str, Any] = {
        "csrf_token": _csrf(svc, session, binding),
        "level": session.acr.rsplit("/", 1)[-1],
        "error": error,
        "name_max_length": NAME_MAX_LENGTH,
    }
    if not may_register(session.acr, session.auth_time, int(time.time())):
        log.info("passkey_registration_needs_step_up", sid=session.sid[:8])
        context["message"] = STEP_UP_TEXT
        return render(request, "passkey_step_up.html", context, status_code=403)
    enrolment = _enrolment(method)
    professional = await run_in_threadpool(svc.register.find_professional, session.dezi_nummer)
    if professional is None:
        return error_page(request, "Not registered", "You are not in the register.", 403)
    context["options"] = await run_in_threadpool(enrolment.options, professional, session.sid)
    return render(request, "passkey_register.html", context, status_code=status_code, script=True)


def _enrolment(method: PasskeyLogin) -> PasskeyEnrolment:
    return PasskeyEnrolment(rp=method.rp, state=method.state, store=method.store)


async def _post(
    request: Request,
    svc: Services,
    method: PasskeyLogin,
    session: SsoSession,
    binding: str | None,
) -> Response:
    form = await read_session_form(request, svc, session, binding, CSRF_PURPOSE)
    if isinstance(form, Response):
        return form
    if binding is None:  # refused above already; this narrows the type
        return error_page(request, "Request refused", "The form could not be verified.", 403)
    action = form.get("action")
    if action == "step_up":
        return await account_step_up.start(request, svc, binding, PATH)
    if action == "revoke":
        done = await run_in_threadpool(
            method.store.revoke_passkey, session.dezi_nummer, form.get("passkey_id", "")
        )
        log.info("passkey_revoke", sid=session.sid[:8], done=done)
        return see_other("/account")
    if action != "register":
        return see_other("/account")
    if not may_register(session.acr, session.auth_time, int(time.time())):
        # Checked again on the POST: the session may have been replaced or grown old.
        return await _registration_page(request, svc, method, session, binding)
    professional = await run_in_threadpool(svc.register.find_professional, session.dezi_nummer)
    if professional is None:
        return error_page(request, "Not registered", "You are not in the register.", 403)
    try:
        await run_in_threadpool(
            _enrolment(method).complete,
            professional,
            session.sid,
            form.get("credential", ""),
            form.get("name", ""),
        )
    except PasskeyRegistrationFailed as exc:
        return await _registration_page(
            request, svc, method, session, binding, error=exc.description, status_code=400
        )
    return see_other("/account")
