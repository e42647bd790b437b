"""The login transaction: loading it for the browser that started it, the page context every
step shares, and cancelling (RFC 6749 §4.1.2.1 ``access_denied``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from idp.journey.deps import Journey
from idp.journey.results import ErrorPage, Redirect, Step
from idp.protocol.errors import OAuthError
from idp.protocol.models import AuthorizationRequest, LoginTransaction
from idp.protocol.redirect import with_query

__all__ = [
    "EXPIRED",
    "EXPIRED_TEXT",
    "FORBIDDEN",
    "LEVEL_TOO_LOW_TEXT",
    "Posted",
    "base_context",
    "binding_hash",
    "cancel",
    "csrf_ok",
    "csrf_token",
    "load",
    "redirect_error",
    "save",
    "with_tx",
]

LEVEL_TOO_LOW_TEXT = (
    "This login did not reach the level of assurance the application asks for. "
    "Go back to the application and log in with another method."
)

EXPIRED_TEXT = (
    "This login has expired or was started in another browser. "
    "Go back to the application and start again."
)


def binding_hash(value: str) -> str:
    """A transaction stores only the SHA-256 of the browser's binding cookie."""
    return hashlib.sha256(value.encode()).hexdigest()


def csrf_token(secret: bytes, purpose: str, binding: str) -> str:
    """An HMAC over the purpose (a transaction id, or a page of the session) and the browser's
    binding value (ASVS 3.5.1-3.5.3)."""
    return hmac.new(secret, f"csrf\x00{purpose}\x00{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, purpose: str, binding: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(secret, purpose, binding), presented)


def redirect_error(
    j: Journey, auth_request: AuthorizationRequest, error: str, description: str
) -> Redirect:
    params = OAuthError(error, description).redirect_params(auth_request.state, j.config.issuer)
    return Redirect(with_query(auth_request.redirect_uri, params))


def load(j: Journey, tx_id: str, binding: str | None) -> LoginTransaction | None:
    """The transaction with this id, only for the browser that started it."""
    if binding is None or len(tx_id) > 100:
        return None
    tx = j.state.get_transaction(tx_id)
    if tx is None or not hmac.compare_digest(tx.browser_binding, binding_hash(binding)):
        return None
    return tx


def save(j: Journey, tx: LoginTransaction) -> None:
    j.state.put_transaction(tx, j.transaction_ttl)


def base_context(j: Journey, tx: LoginTransaction, binding: str) -> dict[str, object]:
    auth_request = tx.authorization_request()
    return {
        "tx_id": tx.tx_id,
        "csrf_token": csrf_token(j.cookie_secret, tx.tx_id, binding),
        "client_name": j.client_name(auth_request.client_id),
    }


def cancel(j: Journey, tx: LoginTransaction) -> Redirect:
    """The person declined, or has nothing to use here."""
    taken = j.state.take_transaction(tx.tx_id)
    current = taken or tx
    description = (
        "No usable declaration for this client"
        if current.dezi_nummer is not None and not current.declaration_ids
        else "The user cancelled the login"
    )
    return redirect_error(j, current.authorization_request(), "access_denied", description)


EXPIRED = ErrorPage("Login expired", EXPIRED_TEXT)
FORBIDDEN = ErrorPage(
    "Request refused",
    "The form could not be verified. Go back to the application and start again.",
    403,
)


@dataclass(frozen=True, slots=True)
class Posted:
    """A form posted on a login step, as the web adapter read it: the fields (None when the
    body was not form data), and whether the ``Origin`` check passed (ASVS 3.5.3)."""

    form: Mapping[str, str] | None
    origin_ok: bool

    def verified(self, secret: bytes, tx_id: str, binding: str) -> Mapping[str, str] | None:
        """The fields, if the form carries this transaction's CSRF token (ASVS 3.5.1)."""
        if self.form is None or not self.origin_ok:
            return None
        if not csrf_ok(secret, tx_id, binding, self.form.get("csrf_token")):
            return None
        return self.form


def with_tx(
    j: Journey,
    tx_id: str,
    binding: str | None,
    posted: Posted | None,
    step: Callable[[LoginTransaction, str, Mapping[str, str] | None], Step],
) -> Step:
    """Load the transaction for this browser, verify a posted form, then run ``step`` with the
    transaction, the binding and the verified fields (None for a GET)."""
    tx = load(j, tx_id, binding)
    if tx is None or binding is None:
        return EXPIRED
    form: Mapping[str, str] | None = None
    if posted is not None:
        form = posted.verified(j.cookie_secret, tx.tx_id, binding)
        if form is None:
            return FORBIDDEN
    return step(tx, binding, form)
