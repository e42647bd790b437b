"""The login-method plug-in interface (ARCHITECTURE.md "idp/authn").

A method shows one step (a form to render, or a redirect to an external means), then completes
with what it proved about the person, at the level of assurance it declares. Methods know nothing
of HTTP frameworks: the web adapter renders ``FormStep`` templates and follows ``RedirectStep``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from idp.errors import LoginFailed


@dataclass(frozen=True, slots=True)
class FormStep:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # Origins besides the OP's own that this form posts to (added to CSP ``form-action``),
    # e.g. the UZI-pas mTLS origin.
    form_origins: tuple[str, ...] = ()
    # The page loads a script file of ours (CSP ``script-src 'self'`` on this response only),
    # e.g. the passkey ceremony. Inline script stays forbidden everywhere.
    needs_script: bool = False


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
class ClientCertificate:
    """The TLS client certificate of this request, as the TLS proxy in front reported it.

    The web adapter builds it only when the request's TCP peer is a trusted proxy, from the
    proxy's headers; never from a form or query field (``idp.web.proxy``).
    """

    pem: str | None  # the certificate, or None when the browser presented none
    proxy_verdict: str  # the proxy's verification: SUCCESS, NONE or FAILED:<reason>


@dataclass(frozen=True, slots=True)
class LoginContext:
    tx_id: str
    client_name: str
    login_hint: str | None
    client_certificate: ClientCertificate | None = None


class LoginMethod(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def acr(self) -> str:
        """The eIDAS level URI this method achieves (DECISIONS.md #7)."""
        ...

    def begin(self, context: LoginContext) -> LoginStep:
        """The method's first step; may raise ``LoginFailed`` (an external means is down)."""
        ...

    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        """Finish the login or raise ``LoginFailed`` with a text safe to show.

        Called with the form of ``POST /login/{tx}/{method}`` (form methods), or with the query
        of ``GET /login/{tx}/{method}/return`` (methods that redirected to an external means and
        come back with a top-level GET, so the browser-binding cookie is present).
        """
        ...


@runtime_checkable
class NamesAccount(Protocol):
    """A method whose form (or return query) names the account before anything is checked, such
    as a typed identifier. The web adapter throttles failures per that account and method
    (``idp.protocol.throttle``) without ever asking whether it exists (ASVS 6.3.8). Methods
    whose account follows only from the proof itself (a certificate, an external means) do
    not implement it; their failures count against the client address alone."""

    def claimed_account(self, form: Mapping[str, str]) -> str | None:
        """The account this attempt names, as typed (``None``: it names none)."""
        ...


@runtime_checkable
class ReturnsToFixedUri(Protocol):
    """A method whose external means sends the browser back to ONE registered URI,
    ``GET /upstream/{method}/return``: the means compares redirect URIs exactly (RFC 9700 §2.1),
    so the transaction id cannot be in the path. The method finds it in its own response
    (``state``); the web adapter then checks the browser binding as on ``/login/{tx}/…``."""

    def transaction_id(self, params: Mapping[str, str]) -> str | None:
        """The login transaction this response belongs to (``None``: none)."""
        ...


__all__ = [
    "ClientCertificate",
    "FormStep",
    "LoginContext",
    "LoginFailed",
    "LoginMethod",
    "LoginOutcome",
    "LoginStep",
    "NamesAccount",
    "RedirectStep",
    "ReturnsToFixedUri",
]
