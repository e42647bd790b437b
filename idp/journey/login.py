"""Choosing a login method and running it: its own step (a form, or a redirect to an external
means), then what it proved, with rate limits and lockouts (checklist J7; ASVS 6.3.x).

Every step is a plain HTML form that works without JavaScript (INTERFACES.md "Browser steps").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from idp.audit import get_logger
from idp.authn.base import FormStep, LoginContext, LoginMethod, LoginOutcome, NamesAccount
from idp.authn.binding import BindingRequired
from idp.errors import LoginFailed
from idp.journey import step_up
from idp.journey.declarations import after_login
from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Page, Redirect, Step
from idp.journey.sessions import current_session
from idp.journey.transactions import LEVEL_TOO_LOW_TEXT, base_context, cancel
from idp.protocol.models import AuthorizationRequest, LoginTransaction
from idp.protocol.session import level_requirement
from idp.protocol.throttle import LoginAttempt, Refusal, Throttle

__all__ = [
    "LOCKED_TITLE",
    "Attempt",
    "choose",
    "complete",
    "lockout",
    "method_page",
    "methods_for",
]

log = get_logger("idp.login")
LOCKED_TITLE = "Too many attempts"
UNKNOWN_METHOD = ErrorPage("Unknown login method", "Choose a login method.", 404)


def methods_for(j: Journey, auth_request: AuthorizationRequest) -> list[LoginMethod]:
    """The methods whose level meets what the request asks for (the chooser shows only these)."""
    requirement = level_requirement(auth_request)
    return [m for m in j.login_methods.values() if requirement.satisfied_by(m.acr)]


def choose(j: Journey, tx: LoginTransaction, binding: str, form: Mapping[str, str] | None) -> Step:
    """The chooser page (``form`` None), or what the person chose on it."""
    auth_request = tx.authorization_request()
    methods = methods_for(j, auth_request)
    if form is not None:
        if form.get("action") == "cancel":
            return cancel(j, tx)
        chosen = form.get("method", "")
        if chosen in {m.name for m in methods}:
            return Redirect(f"/login/{tx.tx_id}/{chosen}")
    elif len(methods) == 1:
        return Redirect(f"/login/{tx.tx_id}/{methods[0].name}")
    context = base_context(j, tx, binding)
    hint = auth_request.login_hint
    names = {m.name for m in methods}
    context["methods"] = [
        {
            "name": m.name,
            "label": m.label,
            "checked": m.name == hint or (i == 0 and hint not in names),
        }
        for i, m in enumerate(methods)
    ]
    return Page("choose_method.html", context, form_target=auth_request.redirect_uri)


def _method(j: Journey, tx: LoginTransaction, name: str) -> LoginMethod | None:
    method = j.login_methods.get(name)
    if method is None or method not in methods_for(j, tx.authorization_request()):
        return None
    return method


def _form_page(
    j: Journey,
    tx: LoginTransaction,
    binding: str,
    method: LoginMethod,
    step: FormStep,
    error: str | None = None,
) -> Page:
    extra = {"error": error} if error is not None else {}
    return Page(
        step.template,
        {**base_context(j, tx, binding), **step.context, **extra, "method": method.name},
        status=400 if error is not None else 200,
        form_target=tx.authorization_request().redirect_uri,
        form_origins=step.form_origins,
        script=step.needs_script,
    )


def method_page(
    j: Journey, tx: LoginTransaction, binding: str, name: str, context: LoginContext
) -> Step:
    """The method's first step: its form, or a redirect to the external means."""
    method = _method(j, tx, name)
    if method is None:
        return UNKNOWN_METHOD
    try:
        step = method.begin(context)
    except LoginFailed as exc:  # e.g. an upstream OP that cannot be reached
        return ErrorPage("Login not available", exc.description, 503)
    if not isinstance(step, FormStep):
        return Redirect(step.url)
    return _form_page(j, tx, binding, method, step)


def _wait(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout(refusal: Refusal) -> ErrorPage:
    """429 (RFC 6585 §4) with ``Retry-After``. The text depends only on the counters, never on
    whether the account exists (ASVS 6.3.8)."""
    if refusal.reason == "address":
        message = (
            "There have been too many failed login attempts from your network. "
            f"Try again in {_wait(refusal.retry_after)}."
        )
    else:
        message = (
            "There have been too many failed attempts to log in to this account with this "
            f"login method. Try again in {_wait(refusal.retry_after)}, or go back to the "
            "application and choose another login method."
        )
    return ErrorPage(
        LOCKED_TITLE, message, 429, headers=(("Retry-After", str(refusal.retry_after)),)
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is trying, for the rate limits: the client address as the trusted proxy left it,
    and the counter to add login outcomes to (``idp.web.metrics``)."""

    host: str
    throttle: Throttle
    count: Callable[[str, str], None]  # (method, outcome)


def complete(
    j: Journey,
    tx: LoginTransaction,
    binding: str,
    name: str,
    context: LoginContext,
    params: Mapping[str, str],
    attempt: Attempt,
    *,
    sid: str | None,
    now: int,
    retry_page: bool,
) -> Step:
    """The method checks what came back (a posted form, or an external means' answer).

    ``retry_page``: on failure show the method's own page again with the error (a form);
    otherwise an error page (a return from an external means). May raise ``BindingRequired``
    (a proved person whom no identity binding names yet: ``idp.web.linking``)."""
    method = j.login_methods.get(name) if not retry_page else _method(j, tx, name)
    if method is None:
        return UNKNOWN_METHOD
    claimed = method.claimed_account(params) if isinstance(method, NamesAccount) else None
    verdict = attempt.throttle.admit_login(method.name, attempt.host, claimed)
    if not isinstance(verdict, LoginAttempt):
        attempt.count(method.name, "throttled")
        log.info(
            "login_throttled",
            method=method.name,
            reason=verdict.reason,
            address=attempt.host,
            retry_after=verdict.retry_after,
        )
        return lockout(verdict)
    try:
        outcome = method.complete(context, params)
    except BindingRequired:
        raise  # not a failure: the person is proved, the binding is what is missing
    except LoginFailed as exc:
        attempt.count(method.name, "failed")
        log.info("login_failed", method=method.name, tx=tx.tx_id[:8])
        refusal = attempt.throttle.failed(verdict)
        if refusal is not None:
            if refusal.first:
                log.warning(
                    "login_locked",
                    method=verdict.method,
                    reason=refusal.reason,
                    account_ref=verdict.account_ref,
                    address=attempt.host,
                    retry_after=refusal.retry_after,
                )
            return lockout(refusal)
        if not retry_page:
            return ErrorPage("Login failed", exc.description, 400)
        # The method's own page again, with the error (and, for passkeys, a fresh challenge).
        retry = method.begin(context)
        if not isinstance(retry, FormStep):
            return ErrorPage("Login failed", exc.description, 400)
        return _form_page(j, tx, binding, method, retry, exc.description)
    if not level_requirement(tx.authorization_request()).satisfied_by(outcome.acr):
        # NL GOV OIDC: never less than asked for, also when an external means proved less.
        log.warning("login_level_too_low", method=method.name, tx=tx.tx_id[:8], acr=outcome.acr)
        return ErrorPage("Login failed", LEVEL_TOO_LOW_TEXT, 403)
    attempt.count(method.name, "ok")
    attempt.throttle.succeeded(verdict)
    return logged_in(j, tx, binding, outcome, sid=sid, now=now)


def logged_in(
    j: Journey,
    tx: LoginTransaction,
    binding: str,
    outcome: LoginOutcome,
    *,
    sid: str | None,
    now: int,
) -> Step:
    """What follows a successful login: back to the account page (a step-up), or on to the
    declarations and the code."""
    log.info("login_ok", method=outcome.method, dezi_nummer=outcome.dezi_nummer)
    current = current_session(j, sid, now)
    if step_up.is_step_up(tx):
        return step_up.finish(j, tx, outcome, current, now)
    return after_login(j, tx, binding, outcome, now, current)
