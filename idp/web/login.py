"""The browser journey's entry: the authorization request, the choice of login method, and
each method's own step (a form, or a return from an external means).

Every step is a plain HTML form that works without JavaScript (INTERFACES.md "Browser steps").
The protocol decisions live in ``idp.protocol``; the declaration choice and the code issuance in
``idp.web.declarations``.
"""

from __future__ import annotations

import time
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.authn.base import FormStep, LoginContext, LoginMethod, ReturnsToFixedUri
from idp.authn.binding import BindingRequired
from idp.errors import LoginFailed
from idp.protocol.authorization import validate_authorization_request
from idp.protocol.errors import AuthorizationError
from idp.protocol.models import AuthorizationRequest, LoginTransaction
from idp.protocol.redirect import with_query
from idp.protocol.session import level_requirement, login_reason
from idp.protocol.tokens import new_id
from idp.web import browser, linking, postback, sso, throttling
from idp.web.common import (
    BadInput,
    error_page,
    form_pairs,
    query_pairs,
    render,
    see_other,
    services,
)
from idp.web.declarations import after_login, offer_declarations
from idp.web.proxy import client_certificate
from idp.web.services import Services
from idp.web.transactions import (
    EXPIRED_TEXT,
    LEVEL_TOO_LOW_TEXT,
    base_context,
    cancel,
    check_post,
    forbidden,
    redirect_error,
    require_tx,
)

log = get_logger("idp.login")


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
        return redirect_error(svc, auth_request, "login_required", "The user must log in")
    if reason is not None and not methods_for(svc, auth_request):
        # NL GOV OIDC: never deliver less than asked; OIDC Core §5.5.1.1 for an essential acr.
        return redirect_error(
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
        response = await offer_declarations(request, svc, tx, binding)
    else:
        await run_in_threadpool(svc.state.put_transaction, tx, svc.settings.login_transaction_ttl)
        response = see_other(f"/login/{tx.tx_id}")
        log.info("authorize_accepted", client_id=client.client_id, tx=tx.tx_id[:8], reason=reason)
    browser.set_binding_cookie(response, svc.settings, binding)
    return response


def methods_for(svc: Services, auth_request: AuthorizationRequest) -> list[LoginMethod]:
    """The methods whose level meets what the request asks for (the chooser shows only these)."""
    requirement = level_requirement(auth_request)
    return [m for m in svc.login_methods.values() if requirement.satisfied_by(m.acr)]


async def choose_method(request: Request) -> Response:
    svc = services(request)
    loaded = await require_tx(request)
    if isinstance(loaded, Response):
        return loaded
    tx, binding = loaded
    methods = methods_for(svc, tx.authorization_request())
    if request.method == "POST":
        form = await check_post(request, tx, binding)
        if form is None:
            return forbidden(request)
        if form.get("action") == "cancel":
            return await cancel(svc, tx)
        chosen = form.get("method", "")
        if chosen in {m.name for m in methods}:
            return see_other(f"/login/{tx.tx_id}/{chosen}")
    elif len(methods) == 1:
        return see_other(f"/login/{tx.tx_id}/{methods[0].name}")
    context = await run_in_threadpool(base_context, svc, tx, binding)
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


async def login_step(request: Request) -> Response:
    svc = services(request)
    loaded = await require_tx(request)
    if isinstance(loaded, Response):
        return loaded
    tx, binding = loaded
    auth_request = tx.authorization_request()
    method = svc.login_methods.get(request.path_params["method"])
    if method is None or method not in methods_for(svc, auth_request):
        return error_page(request, "Unknown login method", "Choose a login method.", 404)
    context = await run_in_threadpool(base_context, svc, tx, binding)
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

    form = await check_post(request, tx, binding)
    if form is None:
        return forbidden(request)
    if form.get("action") == "cancel":
        return await cancel(svc, tx)
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
    return await after_login(request, svc, tx, binding, method, outcome)


async def login_return(request: Request) -> Response:
    """``GET /login/{tx}/{method}/return``: an external means sends the browser back here."""
    svc = services(request)
    loaded = await require_tx(request)
    if isinstance(loaded, Response):
        return loaded
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
    except BindingRequired as exc:  # proved, but bound to nobody yet (idp.web.linking)
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
    return await after_login(request, svc, tx, binding, method, outcome)


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
