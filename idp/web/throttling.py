"""The web side of ``idp.protocol.throttle``: the client address, the lockout page, the 429 body.

The address is the request's client as ``idp.web.proxy.TrustedProxy`` left it: the TCP peer, or
the address a trusted proxy forwarded. ``X-Forwarded-For`` from any other peer is never read.

Every lockout is logged once, when it starts (``login_locked``, ``rate_limited``), with a keyed
hash reference of the account rather than the account itself; each refused login attempt is
logged as ``login_throttled`` and counted in ``zorg_logins_total{outcome="throttled"}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from idp.audit import get_logger
from idp.authn.base import LoginMethod, NamesAccount
from idp.protocol.authorization_code import NO_STORE
from idp.protocol.errors import OAuthError
from idp.protocol.ports import StateStore
from idp.protocol.throttle import (
    LoginAttempt,
    Refusal,
    Throttle,
    ThrottlePolicy,
    claimed_client_id,
)
from idp.settings import Settings
from idp.web.common import error_page
from idp.web.services import Services

__all__ = [
    "LOCKED_TITLE",
    "admit_login",
    "admit_token_request",
    "client_host",
    "login_failed",
    "login_succeeded",
    "throttle_from_settings",
]

log = get_logger("idp.throttle")

LOCKED_TITLE = "Too many attempts"


def throttle_from_settings(settings: Settings, state: StateStore, secret: bytes) -> Throttle:
    return Throttle(
        state,
        ThrottlePolicy(
            login_failures_per_address=settings.login_failures_per_address,
            login_failures_per_account=settings.login_failures_per_account,
            login_failure_window=settings.login_failure_window,
            token_requests_per_address=settings.token_requests_per_address,
            token_requests_per_client=settings.token_requests_per_client,
            token_request_window=settings.token_request_window,
        ),
        secret,
    )


def client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wait(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_page(request: Request, refusal: Refusal) -> HTMLResponse:
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
    page = error_page(request, LOCKED_TITLE, message, status_code=429)
    page.headers["Retry-After"] = str(refusal.retry_after)
    return page


async def admit_login(
    request: Request, svc: Services, method: LoginMethod, form: Mapping[str, str]
) -> LoginAttempt | Response:
    """Before ``method.complete``: the attempt to go on with, or the lockout page."""
    claimed = method.claimed_account(form) if isinstance(method, NamesAccount) else None
    host = client_host(request)
    verdict = await run_in_threadpool(svc.throttle.admit_login, method.name, host, claimed)
    if isinstance(verdict, LoginAttempt):
        return verdict
    svc.metrics.logins.labels(method.name, "throttled").inc()
    log.info(
        "login_throttled",
        method=method.name,
        reason=verdict.reason,
        address=host,
        retry_after=verdict.retry_after,
    )
    return lockout_page(request, verdict)


async def login_failed(request: Request, svc: Services, attempt: LoginAttempt) -> Response | None:
    """After a failed attempt: the lockout page if this failure started a lockout, else None."""
    refusal = await run_in_threadpool(svc.throttle.failed, attempt)
    if refusal is None:
        return None
    if refusal.first:
        log.warning(
            "login_locked",
            method=attempt.method,
            reason=refusal.reason,
            account_ref=attempt.account_ref,
            address=client_host(request),
            retry_after=refusal.retry_after,
        )
    return lockout_page(request, refusal)


async def login_succeeded(svc: Services, attempt: LoginAttempt) -> None:
    await run_in_threadpool(svc.throttle.succeeded, attempt)


async def admit_token_request(
    request: Request, svc: Services, form: Mapping[str, str]
) -> Response | None:
    """Before any work at the token endpoint: None, or a 429 with an RFC 6749 §5.2 body.

    ``temporarily_unavailable`` (RFC 6749 §4.1.2.1: "a temporary overloading") rather than
    ``slow_down``, which RFC 8628 §3.5 defines for device-code polling ("the authorization
    request is still pending") and would mislead a code or client-credentials client. The
    status is 429 with ``Retry-After`` (RFC 6585 §4; RFC 9126 §2.3 names 429 for this case).
    """
    client_id = claimed_client_id(form)
    host = client_host(request)
    refusal = await run_in_threadpool(svc.throttle.admit_client_request, "token", host, client_id)
    if refusal is None:
        return None
    svc.metrics.tokens.labels("rate_limited").inc()
    if refusal.first:
        log.warning(
            "rate_limited",
            endpoint="token",
            reason=refusal.reason,
            client_id=(client_id or "")[:64],
            address=host,
            retry_after=refusal.retry_after,
        )
    error = OAuthError(
        "temporarily_unavailable",
        f"Too many requests; retry after {refusal.retry_after} seconds",
        status_code=429,
    )
    headers = {**NO_STORE, "Retry-After": str(refusal.retry_after)}
    return JSONResponse(error.body(), status_code=429, headers=headers)
