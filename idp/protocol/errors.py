"""Protocol errors, carrying their spec code as data (STYLE.md principle 4 and 5).

Bodies and redirects follow RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint)
through authlib's error classes, wrapped here so the rest of the code stays typed. ``description``
is what the client sees (ASCII, RFC 6749 §5.2 charset); ``log_detail`` only goes to the log.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import errors as _rfc6749
from authlib.oidc.core import errors as _oidc

_STATUS: dict[str, int] = {
    "invalid_client": 401,
    "invalid_token": 401,
    "insufficient_scope": 403,
    "server_error": 500,
    "temporarily_unavailable": 503,
}

_AUTHLIB: dict[str, Any] = {
    "invalid_request": _rfc6749.InvalidRequestError,
    "invalid_client": _rfc6749.InvalidClientError,
    "invalid_grant": _rfc6749.InvalidGrantError,
    "unauthorized_client": _rfc6749.UnauthorizedClientError,
    "unsupported_grant_type": _rfc6749.UnsupportedGrantTypeError,
    "unsupported_response_type": _rfc6749.UnsupportedResponseTypeError,
    "invalid_scope": _rfc6749.InvalidScopeError,
    "access_denied": _rfc6749.AccessDeniedError,
    "login_required": _oidc.LoginRequiredError,
    "interaction_required": _oidc.InteractionRequiredError,
    "consent_required": _oidc.ConsentRequiredError,
    "request_not_supported": _oidc.RequestNotSupportedError,
    "request_uri_not_supported": _oidc.RequestURINotSupportedError,
}


class IdpError(Exception):
    """Base of every error the IdP raises on purpose."""

    def __init__(self, description: str, *, log_detail: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.log_detail = log_detail or description


class OAuthError(IdpError):
    """An OAuth 2.0 / OIDC error response."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        log_detail: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(description, log_detail=log_detail)
        self.error = error
        self.status_code = status_code or _STATUS.get(error, 400)
        # Validates the description charset (RFC 6749 §5.2) through authlib's own check.
        cls = _AUTHLIB.get(error)
        if cls is not None:
            cls(description=description)

    def body(self) -> dict[str, str]:
        """The JSON body of RFC 6749 §5.2."""
        return {"error": self.error, "error_description": self.description}

    def redirect_params(self, state: str | None, issuer: str) -> list[tuple[str, str]]:
        """Query parameters of an error redirect (RFC 6749 §4.1.2.1, RFC 9207 §2)."""
        params = [("error", self.error), ("error_description", self.description)]
        if state is not None:
            params.append(("state", state))
        params.append(("iss", issuer))
        return params


class AuthorizationError(IdpError):
    """An authorization-endpoint error.

    With ``redirect_uri`` set, the error goes back to the client; without it (unknown client,
    unregistered redirect URI) the user sees an error page and nothing is redirected
    (RFC 6749 §4.1.2.1, RFC 9700 §4.11).
    """

    def __init__(
        self,
        oauth: OAuthError,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(oauth.description, log_detail=oauth.log_detail)
        self.oauth = oauth
        self.redirect_uri = redirect_uri
        self.state = state


def invalid_request(description: str, log_detail: str | None = None) -> OAuthError:
    return OAuthError("invalid_request", description, log_detail=log_detail)


def invalid_client(log_detail: str, reason: str | None = None) -> OAuthError:
    """RFC 6749 §5.2. ``reason`` is a fixed, safe text that helps a client developer; anything
    with identifiers or values stays in ``log_detail``."""
    description = "Client authentication failed" + (f": {reason}" if reason else "")
    return OAuthError("invalid_client", description, log_detail=log_detail)


def invalid_grant(description: str, log_detail: str | None = None) -> OAuthError:
    return OAuthError("invalid_grant", description, log_detail=log_detail)


def invalid_token(log_detail: str) -> OAuthError:
    """RFC 6750 §3.1."""
    return OAuthError(
        "invalid_token", "The access token is invalid or expired", log_detail=log_detail
    )
