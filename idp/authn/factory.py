"""Builds login methods by name from settings (no dotted-path class loading)."""

from __future__ import annotations

from idp.authn.base import LoginMethod
from idp.authn.dev import DevLogin
from idp.errors import ConfigurationError
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL
from idp.protocol.ports import Register
from idp.settings import Settings

LOA_BY_NAME = {"low": LOA_LOW, "substantial": LOA_SUBSTANTIAL, "high": LOA_HIGH}


def build_login_methods(settings: Settings, register: Register) -> dict[str, LoginMethod]:
    methods: dict[str, LoginMethod] = {}
    for name in settings.login_methods:
        if name == "dev":
            if settings.environment not in ("dev", "test"):
                raise ConfigurationError("the dev login method exists only in dev and test")
            methods[name] = DevLogin(register=register, acr=LOA_BY_NAME[settings.dev_login_loa])
        else:
            raise ConfigurationError(f"unknown login method {name!r}")
    if not methods:
        raise ConfigurationError("no login method is enabled")
    return methods
