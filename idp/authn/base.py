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
        """Finish the login or raise ``LoginFailed`` with a text safe to show."""
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
