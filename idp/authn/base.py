"""The login-method plug-in interface (ARCHITECTURE.md "idp/authn").

A method shows one step (a form to render, or a redirect to an external means), then completes
with what it proved about the person, at the level of assurance it declares. Methods know nothing
of HTTP frameworks: the web adapter renders ``FormStep`` templates and follows ``RedirectStep``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from idp.errors import LoginFailed


@dataclass(frozen=True, slots=True)
class FormStep:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RedirectStep:
    url: str


LoginStep = FormStep | RedirectStep


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """What a method proved: the professional's Dezi number and the level achieved."""

    dezi_nummer: str
    acr: str
    method: str
    # (URA, rol_code) pairs the login is limited to, e.g. the organisation and role printed on a
    # UZI card (the card's role and URA must agree with the register). Empty: no limit.
    restrict_to: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class LoginContext:
    tx_id: str
    client_name: str
    login_hint: str | None


class LoginMethod(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def acr(self) -> str:
        """The eIDAS level URI this method achieves (DECISIONS.md #7)."""
        ...

    def begin(self, context: LoginContext) -> LoginStep: ...

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        """Finish the login or raise ``LoginFailed`` with a text safe to show.

        Called with the form of ``POST /login/{tx}/{method}`` (form methods), or with the query
        of ``GET /login/{tx}/{method}/return`` (methods that redirected to an external means and
        come back with a top-level GET, so the browser-binding cookie is present).
        """
        ...


__all__ = [
    "FormStep",
    "LoginContext",
    "LoginFailed",
    "LoginMethod",
    "LoginOutcome",
    "LoginStep",
    "RedirectStep",
]
