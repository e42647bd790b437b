"""The browser journey's HTTP side: the authorization request, the choice of login method, and
each method's own step (a form, or a return from an external means).

The decisions live in ``idp.journey``; this module reads the request (query or form, cookies,
the client certificate a trusted TLS proxy forwarded) and renders what the journey answers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from idp.authn.base import LoginContext, ReturnsToFixedUri
from idp.authn.binding import BindingRequired
from idp.journey import authorize as journey_authorize
from idp.journey import login as journey_login
from idp.journey.results import Step
from idp.journey.transactions import EXPIRED, EXPIRED_TEXT, cancel, load
from idp.protocol.models import LoginTransaction
from idp.web import browser, linking, postback, sso, throttling
from idp.web.common import BadInput, error_page, form_pairs, query_pairs, services
from idp.web.proxy import client_certificate
from idp.web.services import Services
from idp.web.steps import offload, respond
from idp.web.transactions import tx_step


async def authorize(request: Request) -> Response:
    svc = services(request)
    try:
        pairs = query_pairs(request) if request.method == "GET" else await form_pairs(request)
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    binding = browser.binding_value(request, svc.settings) or browser.new_binding()
    step = await offload(
        svc,
        journey_authorize.authorize,
        svc.journey,
        pairs,
        binding,
        sso.session_id(request, svc),
        int(time.time()),
    )
    response = respond(request, svc, step)
    browser.set_binding_cookie(response, svc.settings, binding)
    return response


async def choose_method(request: Request) -> Response:
    svc = services(request)
    return await tx_step(
        request, lambda tx, binding, form: journey_login.choose(svc.journey, tx, binding, form)
    )


def _login_context(svc: Services, tx: LoginTransaction, request: Request) -> LoginContext:
    return LoginContext(
        tx_id=tx.tx_id,
        client_name=svc.journey.client_name(tx.authorization_request().client_id),
        login_hint=tx.authorization_request().login_hint,
        # Only what a trusted TLS proxy forwarded; never a form field (idp.web.proxy).
        client_certificate=client_certificate(request),
    )


def _attempt(request: Request, svc: Services) -> journey_login.Attempt:
    return journey_login.Attempt(
        host=throttling.client_host(request),
        throttle=svc.throttle,
        count=lambda method, outcome: svc.metrics.logins.labels(method, outcome).inc(),
    )


async def login_step(request: Request) -> Response:
    """``/login/{tx}/{method}``: the method's page (GET), or its posted form (POST). Always in
    the threadpool: a method may read the register or the state store (passkeys, upstream)."""
    svc = services(request)
    name = request.path_params["method"]
    sid = sso.session_id(request, svc)
    attempt = _attempt(request, svc)

    def step(tx: LoginTransaction, binding: str, form: Mapping[str, str] | None) -> Step:
        context = _login_context(svc, tx, request)
        if form is None:
            return journey_login.method_page(svc.journey, tx, binding, name, context)
        if form.get("action") == "cancel":
            return cancel(svc.journey, tx)
        return journey_login.complete(
            svc.journey,
            tx,
            binding,
            name,
            context,
            form,
            attempt,
            sid=sid,
            now=int(time.time()),
            retry_page=True,
        )

    return await tx_step(request, step, thread=True)


async def login_return(request: Request) -> Response:
    """``GET /login/{tx}/{method}/return``: an external means sends the browser back here."""
    svc = services(request)
    binding = browser.binding_value(request, svc.settings)
    tx = await offload(svc, load, svc.journey, request.path_params["tx_id"], binding)
    if tx is None or binding is None:
        return respond(request, svc, EXPIRED)
    name = request.path_params["method"]
    method = svc.login_methods.get(name)
    if method is None:
        return respond(request, svc, journey_login.UNKNOWN_METHOD)
    try:
        params = dict(query_pairs(request))
    except BadInput as exc:
        return error_page(request, "Invalid request", exc.description)
    # A cross-site form post (SAML HTTP-POST binding) arrives as a one-time ticket.
    relayed = await postback.resolve(svc, params)
    if relayed is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    context = LoginContext(
        tx_id=tx.tx_id, client_name="", login_hint=tx.authorization_request().login_hint
    )
    try:
        step = await offload(
            svc,
            journey_login.complete,
            svc.journey,
            tx,
            binding,
            name,
            context,
            relayed,
            _attempt(request, svc),
            sid=sso.session_id(request, svc),
            now=int(time.time()),
            retry_page=False,
            thread=True,
        )
    except BindingRequired as exc:  # proved, but bound to nobody yet (idp.web.linking)
        return await linking.offer(request, svc, tx, binding, method, exc)
    return respond(request, svc, step)


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


__all__ = [
    "authorize",
    "choose_method",
    "fixed_return",
    "login_return",
    "login_step",
]
