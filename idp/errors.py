"""The IdP's error tree. Protocol errors live in ``idp.protocol.errors``; this module re-exports
the base class and adds errors of the login and web layers (STYLE.md principle 4)."""

from __future__ import annotations

from idp.protocol.errors import AuthorizationError, IdpError, OAuthError


class LoginFailed(IdpError):
    """A login method could not establish who this is. ``description`` is shown to the user and
    never says whether an account exists (ASVS 6.3.8)."""


class ConfigurationError(IdpError):
    """Settings that cannot work (raised at start-up, before serving anything)."""


__all__ = ["AuthorizationError", "ConfigurationError", "IdpError", "LoginFailed", "OAuthError"]
