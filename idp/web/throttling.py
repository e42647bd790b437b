"""The web side of ``idp.protocol.throttle``: the client address and the token endpoint's 429.

The login steps' lockout page and its logging live in ``idp.journey.login``.

The address is the request's client as ``idp.web.proxy.TrustedProxy`` left it: the TCP peer, or
the address a trusted proxy forwarded. ``X-Forwarded-For`` from any other peer is never read.

Every lockout is logged once, when it starts (``login_locked``, ``rate_limited``), with a keyed
hash reference of the account rather than the account itself; each refused login attempt is
logged as ``login_throttled`` and counted in ``zorg_logins_total{outcome="throttled"}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.audit import get_logger
from idp.protocol.authorization_code import NO_STORE
from idp.protocol.errors import OAuthError
from idp.protocol.ports import StateStore
from idp.protocol.throttle import (
    Throttle,
    ThrottlePolicy,
    claimed_client_id,
)
from idp.settings import Settings
from idp.web.offload import offload
from idp.web.services import Services

__all__ = [
    "admit_token_request",
    "client_host",
    "throttle_from_settings",
]

log = get_logger("idp.throttle")


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
    refusal = await offload(svc, svc.throttle.admit_client_request, "token", host, client_id)
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
