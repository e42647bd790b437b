"""The login transaction as the browser sees it: loading it for the browser that started it,
verifying posted forms (CSRF token and Origin), the shared page context, and cancelling.

Shared by every step of the journey (``login``, ``declarations``, ``consent``, ``linking``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.audit import get_logger
from idp.protocol.errors import OAuthError
from idp.protocol.models import AuthorizationRequest, LoginTransaction
from idp.protocol.redirect import with_query
from idp.web import browser
from idp.web.common import (
    BadInput,
    error_page,
    form_pairs,
    see_other,
    services,
)
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


def redirect_error(
    svc: Services, auth_request: AuthorizationRequest, error: str, description: str
) -> Response:
    params = OAuthError(error, description).redirect_params(auth_request.state, svc.config.issuer)
    return see_other(with_query(auth_request.redirect_uri, params))


async def load_tx(request: Request) -> tuple[LoginTransaction, str] | None:
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


async def require_tx(request: Request) -> tuple[LoginTransaction, str] | Response:
    """The transaction with its browser binding, or the page that says it expired."""
    loaded = await load_tx(request)
    if loaded is None:
        return error_page(request, "Login expired", EXPIRED_TEXT)
    return loaded


async def check_post(request: Request, tx: LoginTransaction, binding: str) -> dict[str, str] | None:
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


def forbidden(request: Request) -> Response:
    return error_page(
        request,
        "Request refused",
        "The form could not be verified. Go back to the application and start again.",
        status_code=403,
    )


def base_context(svc: Services, tx: LoginTransaction, binding: str) -> dict[str, object]:
    auth_request = tx.authorization_request()
    client = svc.clients.get_client(auth_request.client_id)
    return {
        "tx_id": tx.tx_id,
        "csrf_token": browser.csrf_token(svc.cookie_secret, tx.tx_id, binding),
        "client_name": client.name if client else auth_request.client_id,
    }


async def cancel(svc: Services, tx: LoginTransaction) -> Response:
    """The user declined: RFC 6749 §4.1.2.1 ``access_denied``."""
    taken = await run_in_threadpool(svc.state.take_transaction, tx.tx_id)
    current = taken or tx
    description = (
        "No usable declaration for this client"
        if current.dezi_nummer is not None and not current.declaration_ids
        else "The user cancelled the login"
    )
    return redirect_error(svc, current.authorization_request(), "access_denied", description)
