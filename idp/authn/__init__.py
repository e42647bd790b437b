"""Login methods as plug-ins behind ``LoginMethod``."""

from idp.authn.base import FormStep, LoginContext, LoginMethod, LoginOutcome, RedirectStep
from idp.authn.factory import build_login_methods

__all__ = [
    "FormStep",
    "LoginContext",
    "LoginMethod",
    "LoginOutcome",
    "RedirectStep",
    "build_login_methods",
]
