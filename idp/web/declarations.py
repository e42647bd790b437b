"""After authentication: which declarations this person may use at this client, the
organisation and role choice, consent, and issuing the code with the OP session.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.authn.base import LoginMethod, LoginOutcome
from idp.protocol.models import LoginTransaction, SsoSession
from idp.protocol.ports import DeclarationView
from idp.protocol.tokens import ADMIN_LOGIN, is_administrator
from idp.web import account_step_up, consent, sso
from idp.web.common import (
    error_page,
    render,
    see_other,
    services,
)
from idp.web.services import Services
from idp.web.transactions import (
    EXPIRED_TEXT,
    base_context,
    cancel,
    check_post,
    forbidden,
    redirect_error,
    require_tx,
)

log = get_logger("idp.login")


async def after_login(
    request: Request,
    svc: Services,
    tx: LoginTransaction,
    binding: str,
    method: LoginMethod,
    outcome: LoginOutcome,
) -> Response:
    log.info("login_ok", method=method.name, dezi_nummer=outcome.dezi_nummer)
    fresh = replace(
        tx,
        dezi_nummer=outcome.dezi_nummer,
        acr=outcome.acr,
        auth_time=int(time.time()),
        login_method=method.name,
        restrict_to=tuple(f"{ura}:{role}" for ura, role in outcome.restrict_to),
        sid=None,
    )
    if account_step_up.is_step_up(fresh):
        return await account_step_up.finish(request, svc, fresh)
    return await offer_declarations(request, svc, fresh, binding)


async def offer_declarations(
    request: Request, svc: Services, tx: LoginTransaction, binding: str
) -> Response:
    """The declarations this person may use at this client: none → a clear page; one → the
    code; several (or ``prompt=select_account``) → the organisation and role choice."""
    auth_request = tx.authorization_request()
    client = await run_in_threadpool(svc.clients.get_client, auth_request.client_id)
    organisations = client.organisations if client else ()
    declarations = list(
        await run_in_threadpool(
            svc.register.usable_declarations, tx.dezi_nummer or "", organisations, datetime.now(UTC)
        )
    )
    if tx.restrict_to:
        allowed = set(tx.restrict_to)
        declarations = [d for d in declarations if f"{d.abonnee_nummer}:{d.rol_code}" in allowed]
    silent_only = "none" in auth_request.prompt
    if not declarations and "registry" in auth_request.scope:
        # An administrator logging in for the register's API (issue 4: "administrators through
        # their login") needs no declaration; the rights are checked again at every use.
        is_admin = await run_in_threadpool(is_administrator, svc.register, tx.dezi_nummer or "")
        if is_admin:
            return await finish(request, svc, tx, ADMIN_LOGIN, stored=False)
    if not declarations:
        if silent_only:
            return redirect_error(svc, auth_request, "access_denied", "No usable declaration")
        await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
        context = await run_in_threadpool(base_context, svc, tx, binding)
        return render(
            request,
            "no_declaration.html",
            context,
            status_code=403,
            form_target=auth_request.redirect_uri,
        )
    tx = replace(tx, declaration_ids=tuple(d.declaration_id for d in declarations))
    if len(declarations) == 1 and "select_account" not in auth_request.prompt:
        return await finish(request, svc, tx, declarations[0].declaration_id, stored=False)
    if silent_only:
        return redirect_error(
            svc, auth_request, "account_selection_required", "Choose an organisation"
        )
    await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
    return see_other(f"/select/{tx.tx_id}")


async def select_declaration(request: Request) -> Response:
    svc = services(request)
    loaded = await require_tx(request)
    if isinstance(loaded, Response):
        return loaded
    tx, binding = loaded
    if tx.dezi_nummer is None:
        return see_other(f"/login/{tx.tx_id}")
    auth_request = tx.authorization_request()
    if request.method == "POST":
        form = await check_post(request, tx, binding)
        if form is None:
            return forbidden(request)
        if form.get("action") == "cancel":
            return await cancel(svc, tx)
        chosen = form.get("declaration_id", "")
        if chosen in tx.declaration_ids:
            return await finish(request, svc, tx, chosen)
    declarations = await run_in_threadpool(usable_subset, svc, tx)
    context = await run_in_threadpool(base_context, svc, tx, binding)
    context["declarations"] = declarations
    return render(request, "select.html", context, form_target=auth_request.redirect_uri)


def usable_subset(svc: Services, tx: LoginTransaction) -> list[DeclarationView]:
    now = datetime.now(UTC)
    found = (svc.register.usable_declaration(d, now) for d in tx.declaration_ids)
    return [d for d in found if d is not None]


async def finish(
    request: Request,
    svc: Services,
    tx: LoginTransaction,
    declaration_id: str,
    *,
    stored: bool = True,
    consented: bool = False,
) -> Response:
    """Issue the code and start or extend the OP session.

    Taking the stored transaction is atomic, so a double submit issues one code. A fresh login
    always gets a new session id (session fixation, ASVS 7.2.4); the old session is ended.
    A relying party that receives the verklaring needs the worker's consent first.
    """
    if (
        declaration_id != ADMIN_LOGIN
        and not consented
        and await consent.needed(svc, tx, declaration_id)
    ):
        return await consent.ask(svc, tx, declaration_id)
    if stored and await run_in_threadpool(svc.state.take_transaction, tx.tx_id) is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    if declaration_id == ADMIN_LOGIN:
        usable = tx.dezi_nummer is not None and await run_in_threadpool(
            is_administrator, svc.register, tx.dezi_nummer
        )
        declaration: object | None = True if usable else None
    else:
        declaration = await run_in_threadpool(
            svc.register.usable_declaration, declaration_id, datetime.now(UTC)
        )
    if declaration is None or tx.dezi_nummer is None or tx.acr is None or tx.auth_time is None:
        return error_page(request, "Declaration not usable", "This declaration cannot be used.")
    auth_request = tx.authorization_request()
    now = int(time.time())
    existing = await sso.current_session(request, svc)
    if tx.sid is not None and existing is not None and existing.sid == tx.sid:
        session = existing
    else:
        if existing is not None:
            await run_in_threadpool(svc.state.delete_session, existing.sid)
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
    location, grant_id = await run_in_threadpool(
        lambda: svc.code_grant.issue_code(
            auth_request,
            dezi_nummer=session.dezi_nummer,
            declaration_id=declaration_id,
            acr=session.acr,
            auth_time=session.auth_time,
            sid=session.sid,
        )
    )
    clients = session.clients
    if auth_request.client_id not in clients:
        clients = (*clients, auth_request.client_id)
    session = replace(
        sso.policy(svc).touch(session, now), clients=clients, grants=(*session.grants, grant_id)
    )
    await sso.save_session(svc, session)
    response = see_other(location)
    sso.set_cookie(response, svc, session.sid)
    return response
