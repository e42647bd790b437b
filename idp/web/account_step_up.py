"""Step-up from the account pages: log in again at level high, then come back.

Adding a passkey needs a recent login at level high (``idp.authn.passkey_registration``). A
session at a lower level, or an older one, is sent through the ordinary login pages with a login
transaction of its own: an authorization request of the OP to itself, for the pseudo-client
``ACCOUNT_CLIENT`` with ``acr_values`` high and ``prompt=login`` (OIDC Core §3.1.2.1), so the
chooser offers only methods at high. When the method succeeds, ``idp.web.login`` hands the
transaction here instead of issuing a code: a NEW session replaces the old one (session fixation,
ASVS 7.2.4) and the browser goes back to the page that asked. The transaction is bound to the
browser like any login (``idp.web.browser``) and taken once.
"""

from __future__ import annotations

import time
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.models import LOA_HIGH, AuthorizationRequest, LoginTransaction, SsoSession
from idp.protocol.tokens import new_id
from idp.web import browser, sso
from idp.web.common import error_page, see_other
from idp.web.services import Services

log = get_logger("idp.account")

# Registered client ids never contain a space (registry.clients), so this cannot be one. It is
# also what the login pages show as "Log in to …".
ACCOUNT_CLIENT = "your zorg-idp account"


def methods_at_high(svc: Services) -> list[str]:
    return [name for name, m in svc.login_methods.items() if m.acr == LOA_HIGH]


async def start(request: Request, svc: Services, binding: str, return_path: str) -> Response:
    """Begin a login at level high that returns to ``return_path`` (a path on this OP)."""
    if not methods_at_high(svc):
        return error_page(
            request,
            "No login method at level high",
            "This service offers no login method at level high, so a passkey cannot be added.",
            403,
        )
    auth_request = AuthorizationRequest(
        client_id=ACCOUNT_CLIENT,
        redirect_uri=f"{svc.config.issuer}{return_path}",
        scope=(),
        state=None,
        nonce=None,
        code_challenge="",
        code_challenge_method="",
        prompt=("login",),
        acr_values=(LOA_HIGH,),
    )
    tx = LoginTransaction(
        tx_id=new_id(),
        request=auth_request.to_json(),
        browser_binding=browser.binding_hash(binding),
        created_at=int(time.time()),
    )
    await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
    log.info("account_step_up_started", tx=tx.tx_id[:8])
    return see_other(f"/login/{tx.tx_id}")


def is_step_up(tx: LoginTransaction) -> bool:
    return tx.authorization_request().client_id == ACCOUNT_CLIENT


async def finish(request: Request, svc: Services, tx: LoginTransaction) -> Response:
    """The login at high succeeded: a new session, then back to the account page."""
    if await run_in_threadpool(svc.state.take_transaction, tx.tx_id) is None:
        return error_page(request, "Login expired", "This login has expired. Start again.")
    if tx.dezi_nummer is None or tx.acr != LOA_HIGH or tx.auth_time is None:
        return error_page(request, "Login failed", "The login did not reach level high.", 403)
    now = int(time.time())
    existing = await sso.current_session(request, svc)
    session = SsoSession(
        sid=sso.new_session_id(),
        dezi_nummer=tx.dezi_nummer,
        acr=tx.acr,
        auth_time=tx.auth_time,
        login_method=tx.login_method or "",
        created_at=now,
        last_seen=now,
        restrict_to=tx.restrict_to,
    )
    if existing is not None:
        await run_in_threadpool(svc.state.delete_session, existing.sid)
        if existing.dezi_nummer == session.dezi_nummer:
            # The same person: her applications stay in the session, so logging out still
            # reaches them (OIDC Back-Channel Logout).
            session = replace(session, clients=existing.clients, grants=existing.grants)
    await sso.save_session(svc, session)
    log.info("account_step_up_done", sid=session.sid[:8], method=session.login_method)
    response = see_other(tx.authorization_request().redirect_uri)
    sso.set_cookie(response, svc, session.sid)
    return response
