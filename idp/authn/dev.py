"""The ``dev`` login method: type a Dezi number, be logged in (DECISIONS.md #10).

It exists only when the environment is ``dev`` or ``test``; the factory refuses it elsewhere and
the settings refuse it in ``prod``. Its pages say clearly that it is a test method. It declares
the level it is configured with (``dev_login_loa``, default high) so whole journeys can be tested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from idp.authn.base import FormStep, LoginContext, LoginOutcome, LoginStep
from idp.errors import LoginFailed
from idp.protocol.ports import Register

DEZI_RE = re.compile(r"^\d{9}$")


@dataclass(frozen=True, slots=True)
class DevLogin:
    register: Register
    acr: str
    name: str = "dev"
    label: str = "Test login (Dezi number, development only)"

    def begin(self, context: LoginContext) -> LoginStep:
        hint = (
            context.login_hint if context.login_hint and DEZI_RE.match(context.login_hint) else ""
        )
        return FormStep("login_dev.html", {"dezi_nummer": hint, "error": None})

    # Deliberately not ``NamesAccount``: the dev method has no secret to guess, so a per-account
    # lockout protects nothing and would only stop parallel test and load runs of one demo
    # person; failures still count against the client address.
    def complete(self, context: LoginContext, form: Mapping[str, str]) -> LoginOutcome:
        number = form.get("dezi_nummer", "").strip()
        if not DEZI_RE.match(number) or self.register.find_professional(number) is None:
            # Same text for a malformed and an unknown number (no enumeration, ASVS 6.3.8).
            raise LoginFailed("This Dezi number cannot log in here.")
        return LoginOutcome(dezi_nummer=number, acr=self.acr, method=self.name)
