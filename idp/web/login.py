"""The browser journey: authorization request → login method → organisation choice → code.

Every step is a plain HTML form that works without JavaScript (INTERFACES.md "Browser steps").
The protocol decisions live in ``idp.protocol``; this module turns them into pages and redirects.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.authn.base import FormStep, LoginContext, LoginMethod, LoginOutcome, ReturnsToFixedUri
from idp.authn.binding import BindingRequired
from idp.errors import LoginFailed
from idp.protocol.authorization import validate_authorization_request
from idp.protocol.errors import AuthorizationError, OAuthError
from idp.protocol.models import AuthorizationRequest, LoginTransaction, SsoSession
from idp.protocol.ports import DeclarationView
from idp.protocol.redirect import with_query
from idp.protocol.session import level_requirement, login_reason
from idp.protocol.tokens import ADMIN_LOGIN, is_administrator, new_id
from idp.web import account_step_up, browser, postback, sso, throttling
from idp.web.common import (
    BadInput,
    error_page,
    form_pairs,
    query_pairs,
    render,
    see_other,
    services,
)
from idp.web.proxy import client_certificate
from idp.web.services import Services

log = get_logger("idp.login")

LEVEL_TOO_LOW_TEXT = (
    "This login did not reach the level of assurance the application asks for. "
    "Go back to the application and log in with another method."
)
EXPIRED_TEXT = (
    "This login has expired or was started in another browser. "
    "Go back to the application and start again."
)


# ---- /authorize ----------------------------------------------------------------------------


async def authorize(request: Request) -> Response:
    svc = services(request)
    try:
        pairs = query_pairs(request) if request.method == "GET" else await form_pairs(request)
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    try:
        auth_request, client = await run_in_threadpool(
            validate_authorization_request, pairs, svc.clients
        )
    except AuthorizationError as exc:
        log.info("authorize_rejected", error=exc.oauth.error, detail=exc.log_detail)
        if exc.redirect_uri is None:
            return error_page(request, "This login request cannot be handled", exc.description)
        params = exc.oauth.redirect_params(exc.state, svc.config.issuer)
        return see_other(with_query(exc.redirect_uri, params))
    session = await sso.current_session(request, svc)
    now = int(time.time())
    reason = login_reason(auth_request, session, sso.policy(svc), now)
    if reason is not None and "none" in auth_request.prompt:
        # OIDC Core §3.1.2.6: no UI with prompt=none.
        return _redirect_error(svc, auth_request, "login_required", "The user must log in")
    if reason is not None and not _methods_for(svc, auth_request):
        # NL GOV OIDC: never deliver less than asked; OIDC Core §5.5.1.1 for an essential acr.
        return _redirect_error(
            svc, auth_request, "access_denied", "No login method meets the requested level"
        )
    binding = browser.binding_value(request, svc.settings) or browser.new_binding()
    tx = LoginTransaction(
        tx_id=new_id(),
        request=auth_request.to_json(),
        browser_binding=browser.binding_hash(binding),
        created_at=now,
    )
    if reason is None and session is not None:
        # A live session at a sufficient level answers without authentication (one login per
        # shift). Only the organisation choice may still be asked.
        log.info("authorize_silent", client_id=client.client_id, sid=session.sid[:8])
        tx = replace(
            tx,
            dezi_nummer=session.dezi_nummer,
            acr=session.acr,
            auth_time=session.auth_time,
            login_method=session.login_method,
            restrict_to=session.restrict_to,
            sid=session.sid,
        )
        response = await _offer_declarations(request, svc, tx, binding)
    else:
        await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
        response = see_other(f"/login/{tx.tx_id}")
        log.info("authorize_accepted", client_id=client.client_id, tx=tx.tx_id[:8], reason=reason)
    browser.set_binding_cookie(response, svc.settings, binding)
    return response


def _methods_for(svc: Services, auth_request: AuthorizationRequest) -> list[LoginMethod]:
    """The methods whose level meets what the request asks for (the chooser shows only these)."""
    requirement = level_requirement(auth_request)
    return [m for m in svc.login_methods.values() if requirement.satisfied_by(m.acr)]


def _redirect_error(
    svc: Services, auth_request: AuthorizationRequest, error: str, description: str
) -> Response:
    params = OAuthError(error, description).redirect_params(auth_request.state, svc.config.issuer)
    return see_other(with_query(auth_request.redirect_uri, params))


# ---- transaction helpers -------------------------------------------------------------------


async def _load_tx(request: Request) -> tuple[LoginTransaction, str] | None:
    """The transaction of this URL, only for the browser that started it."""
    svc = services(request)
    tx_id = request.path_params["tx_id"]
    binding = browser.binding_value(request, svc.settings)
    if binding is None or len(tx_id) > 100:
        return None
    tx = await run_in_threadpool(svc.state.get_transaction, tx_id)
    if tx is None or tx.browser_binding != browser.binding_hash(binding):
        return None
    return tx, binding


async def _check_post(
    request: Request, tx: LoginTransaction, binding: str
) -> dict[str, str] | None:
    svc = services(request)
    try:
        pairs = await form_pairs(request)
    except BadInput:
        return None
    form = dict(pairs)
    if not browser.origin_ok(request, svc.config.issuer, *svc.settings.extra_origins):
        return None
    if not browser.csrf_ok(svc.cookie_secret, tx.tx_id, binding, form.get("csrf_token")):
        return None
    return form


def _forbidden(request: Request) -> Response:
    return error_page(
        request,
        "Request refused",
        "The form could not be verified. Go back to the application and start again.",
        status_code=403,
    )


def _base_context(svc: Services, tx: LoginTransaction, binding: str) -> dict[str, object]:
    auth_request = tx.authorization_request()
    client = svc.clients.get_client(auth_request.client_id)
    return {
        "tx_id": tx.tx_id,
        "csrf_token": browser.csrf_token(svc.cookie_secret, tx.tx_id, binding),
        "client_name": client.name if client else auth_request.client_id,
    }


async def _cancel(svc: Services, tx: LoginTransaction) -> Response:
    """The user declined: RFC 6749 §4.1.2.1 ``access_denied``."""
    taken = await run_in_threadpool(svc.state.take_transaction, tx.tx_id)
    current = taken or tx
    description = (
        "No usable declaration for this client"
        if current.dezi_nummer is not None and not current.declaration_ids
        else "The user cancelled the login"
    )
    return _redirect_error(svc, current.authorization_request(), "access_denied", description)


# ---- /login/{tx_id}: choose a method -------------------------------------------------------


async def choose_method(request: Request) -> Response:
    svc = services(request)
    loaded = await _load_tx(request)
    if loaded is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    tx, binding = loaded
    methods = _methods_for(svc, tx.authorization_request())
    if request.method == "POST":
        form = await _check_post(request, tx, binding)
        if form is None:
            return _forbidden(request)
        if form.get("action") == "cancel":
            return await _cancel(svc, tx)
        chosen = form.get("method", "")
        if chosen in {m.name for m in methods}:
            return see_other(f"/login/{tx.tx_id}/{chosen}")
    elif len(methods) == 1:
        return see_other(f"/login/{tx.tx_id}/{methods[0].name}")
    context = await run_in_threadpool(_base_context, svc, tx, binding)
    hint = tx.authorization_request().login_hint
    context["methods"] = [
        {
            "name": m.name,
            "label": m.label,
            "checked": m.name == hint or (i == 0 and hint not in {x.name for x in methods}),
        }
        for i, m in enumerate(methods)
    ]
    target = tx.authorization_request().redirect_uri
    return render(request, "choose_method.html", context, form_target=target)


# ---- /login/{tx_id}/{method}: the method's own step ----------------------------------------


async def login_step(request: Request) -> Response:
    svc = services(request)
    loaded = await _load_tx(request)
    if loaded is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    tx, binding = loaded
    auth_request = tx.authorization_request()
    method = svc.login_methods.get(request.path_params["method"])
    if method is None or method not in _methods_for(svc, auth_request):
        return error_page(request, "Unknown login method", "Choose a login method.", 404)
    context = await run_in_threadpool(_base_context, svc, tx, binding)
    login_context = LoginContext(
        tx_id=tx.tx_id,
        client_name=str(context["client_name"]),
        login_hint=auth_request.login_hint,
        # Only what a trusted TLS proxy forwarded; never a form field (idp.web.proxy).
        client_certificate=client_certificate(request),
    )
    if request.method == "GET":
        # In the threadpool: a method's first step may touch the state store (passkey).
        try:
            step = await run_in_threadpool(method.begin, login_context)
        except LoginFailed as exc:  # e.g. an upstream OP that cannot be reached
            return error_page(request, "Login not available", exc.description, 503)
        if not isinstance(step, FormStep):
            return see_other(step.url)
        return render(
            request,
            step.template,
            {**context, **step.context, "method": method.name},
            form_target=auth_request.redirect_uri,
            form_origins=step.form_origins,
            script=step.needs_script,
        )

    form = await _check_post(request, tx, binding)
    if form is None:
        return _forbidden(request)
    if form.get("action") == "cancel":
        return await _cancel(svc, tx)
    attempt = await throttling.admit_login(request, svc, method, form)
    if isinstance(attempt, Response):
        return attempt  # the lockout page (checklist J7)
    try:
        outcome = await run_in_threadpool(method.complete, login_context, form)
    except LoginFailed as exc:
        svc.metrics.logins.labels(method.name, "failed").inc()
        log.info("login_failed", method=method.name, tx=tx.tx_id[:8])
        locked = await throttling.login_failed(request, svc, attempt)
        if locked is not None:
            return locked
        # The method's own page again, with the error (and, for passkeys, a fresh challenge).
        retry = await run_in_threadpool(method.begin, login_context)
        if not isinstance(retry, FormStep):
            return error_page(request, "Login failed", exc.description, 400)
        return render(
            request,
            retry.template,
            {**context, **retry.context, "error": exc.description, "method": method.name},
            status_code=400,
            form_target=auth_request.redirect_uri,
            form_origins=retry.form_origins,
            script=retry.needs_script,
        )
    svc.metrics.logins.labels(method.name, "ok").inc()
    await throttling.login_succeeded(svc, attempt)
    return await _after_login(request, svc, tx, binding, method, outcome)


async def _after_login(
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
    return await _offer_declarations(request, svc, fresh, binding)


async def _offer_declarations(
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
            return await _finish(request, svc, tx, ADMIN_LOGIN, stored=False)
    if not declarations:
        if silent_only:
            return _redirect_error(svc, auth_request, "access_denied", "No usable declaration")
        await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
        context = await run_in_threadpool(_base_context, svc, tx, binding)
        return render(
            request,
            "no_declaration.html",
            context,
            status_code=403,
            form_target=auth_request.redirect_uri,
        )
    tx = replace(tx, declaration_ids=tuple(d.declaration_id for d in declarations))
    if len(declarations) == 1 and "select_account" not in auth_request.prompt:
        return await _finish(request, svc, tx, declarations[0].declaration_id, stored=False)
    if silent_only:
        return _redirect_error(
            svc, auth_request, "account_selection_required", "Choose an organisation"
        )
    await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
    return see_other(f"/select/{tx.tx_id}")


async def login_return(request: Request) -> Response:
    """``GET /login/{tx}/{method}/return``: an external means sends the browser back here."""
    svc = services(request)
    loaded = await _load_tx(request)
    if loaded is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    tx, binding = loaded
    method = svc.login_methods.get(request.path_params["method"])
    if method is None:
        return error_page(request, "Unknown login method", "Choose a login method.", 404)
    try:
        params = dict(query_pairs(request))
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    # A cross-site form post (SAML HTTP-POST binding) arrives as a one-time ticket.
    relayed = await postback.resolve(svc, params)
    if relayed is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    params = relayed
    context = LoginContext(
        tx_id=tx.tx_id, client_name="", login_hint=tx.authorization_request().login_hint
    )
    attempt = await throttling.admit_login(request, svc, method, params)
    if isinstance(attempt, Response):
        return attempt  # the lockout page (checklist J7)
    try:
        outcome = await run_in_threadpool(method.complete, context, params)
    except BindingRequired as exc:
        # Proved, but bound to nobody yet. Imported here: idp.web.linking imports this module.
        from idp.web import linking

        return await linking.offer(request, svc, tx, binding, method, exc)
    except LoginFailed as exc:
        svc.metrics.logins.labels(method.name, "failed").inc()
        log.info("login_failed", method=method.name, tx=tx.tx_id[:8])
        locked = await throttling.login_failed(request, svc, attempt)
        if locked is not None:
            return locked
        return error_page(request, "Login failed", exc.description, 400)
    if not level_requirement(tx.authorization_request()).satisfied_by(outcome.acr):
        # NL GOV OIDC: never less than asked for, also when an external means proved less.
        log.warning("login_level_too_low", method=method.name, tx=tx.tx_id[:8], acr=outcome.acr)
        return error_page(request, "Login failed", LEVEL_TOO_LOW_TEXT, 403)
    svc.metrics.logins.labels(method.name, "ok").inc()
    await throttling.login_succeeded(svc, attempt)
    return await _after_login(request, svc, tx, binding, method, outcome)


async def fixed_return(request: Request) -> Response:
    """``GET /upstream/{method}/return``: the one redirect URI registered at an upstream OP
    (``ReturnsToFixedUri``); continues as ``login_return`` for the transaction it names."""
    method = services(request).login_methods.get(request.path_params["method"])
    try:
        params = dict(query_pairs(request))
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    tx_id = method.transaction_id(params) if isinstance(method, ReturnsToFixedUri) else None
    if tx_id is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    request.scope["path_params"] = {**request.path_params, "tx_id": tx_id}
    return await login_return(request)


# ---- /select/{tx_id}: organisation and role ------------------------------------------------


async def select_declaration(request: Request) -> Response:
    svc = services(request)
    loaded = await _load_tx(request)
    if loaded is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    tx, binding = loaded
    if tx.dezi_nummer is None:
        return see_other(f"/login/{tx.tx_id}")
    auth_request = tx.authorization_request()
    if request.method == "POST":
        form = await _check_post(request, tx, binding)
        if form is None:
            return _forbidden(request)
        if form.get("action") == "cancel":
            return await _cancel(svc, tx)
        chosen = form.get("declaration_id", "")
        if chosen in tx.declaration_ids:
            return await _finish(request, svc, tx, chosen)
    declarations = await run_in_threadpool(_usable_subset, svc, tx)
    context = await run_in_threadpool(_base_context, svc, tx, binding)
    context["declarations"] = declarations
    return render(request, "select.html", context, form_target=auth_request.redirect_uri)


def _usable_subset(svc: Services, tx: LoginTransaction) -> list[DeclarationView]:
    now = datetime.now(UTC)
    found = (svc.register.usable_declaration(d, now) for d in tx.declaration_ids)
    return [d for d in found if d is not None]


async def _finish(
    request: Request,
    svc: Services,
    tx: LoginTransaction,
    declaration_id: str,
    *,
    stored: bool = True,
) -> Response:
    """Issue the code and start or extend the OP session.

    Taking the stored transaction is atomic, so a double submit issues one code. A fresh login
    always gets a new session id (session fixation, ASVS 7.2.4); the old session is ended.
    """
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
