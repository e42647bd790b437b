"""Protocol errors, carrying their spec code as data (STYLE.md principle 4 and 5).

Bodies and redirects follow RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint)
through authlib's error classes, wrapped here so the rest of the code stays typed. ``description``
is what the client sees (ASCII, RFC 6749 §5.2 charset); ``log_detail`` only goes to the log.
"""

from __future__ import annotations

import re

from authlib.oauth2.base import invalid_error_characters as _authlib_invalid_chars


def _invalid_error_characters(text: str) -> list[str]:
    found: list[str] = _authlib_invalid_chars(text)
    return found


_STATUS: dict[str, int] = {
    "invalid_client": 401,
    "invalid_token": 401,
    "insufficient_scope": 403,
    "server_error": 500,
    "temporarily_unavailable": 503,
}

# The error codes this product sends, with the spec that defines each.
KNOWN_ERRORS: dict[str, str] = {
    "invalid_request": "RFC 6749 §4.1.2.1, §5.2",
    "invalid_client": "RFC 6749 §5.2",
    "invalid_grant": "RFC 6749 §5.2",
    "unauthorized_client": "RFC 6749 §4.1.2.1, §5.2",
    "unsupported_grant_type": "RFC 6749 §5.2",
    "unsupported_response_type": "RFC 6749 §4.1.2.1",
    "invalid_scope": "RFC 6749 §4.1.2.1, §5.2",
    "access_denied": "RFC 6749 §4.1.2.1",
    "invalid_token": "RFC 6750 §3.1",
    "insufficient_scope": "RFC 6750 §3.1",
    "login_required": "OIDC Core §3.1.2.6",
    "interaction_required": "OIDC Core §3.1.2.6",
    "consent_required": "OIDC Core §3.1.2.6",
    "account_selection_required": "OIDC Core §3.1.2.6",
    "request_not_supported": "OIDC Core §3.1.2.6",
    "request_uri_not_supported": "OIDC Core §3.1.2.6",
    "server_error": "RFC 6749 §4.1.2.1",
    "temporarily_unavailable": "RFC 6749 §4.1.2.1",
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
        if error not in KNOWN_ERRORS:
            raise ValueError(f"unknown OAuth error code {error!r}")
        # RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E; authlib's
        # own check keeps us from sending anything else.
        if bad := _invalid_error_characters(description):
            raise ValueError(f"error_description has forbidden characters: {bad}")

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


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def named(name: str) -> str:
    """A request-supplied name quoted in an error description: as it is when it is a plain
    identifier, else a stand-in. An ``error_description`` may only hold RFC 6749 §5.2's ASCII
    subset, and must never reflect whatever bytes a request carried."""
    return name if _PLAIN_NAME.fullmatch(name) else "(a parameter with an unusual name)"


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
