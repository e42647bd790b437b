"""Builds login methods by name from settings (no dotted-path class loading)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from idp.authn.base import LoginMethod
from idp.authn.dev import DevLogin
from idp.authn.oidc_upstream import upstream_login
from idp.authn.passkey import PasskeyStore, passkey_login
from idp.authn.upstream_http import HttpxFetcher
from idp.authn.uzi import uzi_login_from_settings
from idp.errors import ConfigurationError
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_HIGH, LOA_LOW, LOA_SUBSTANTIAL
from idp.protocol.ports import Register, StateStore
from idp.settings import Settings

LOA_BY_NAME = {"low": LOA_LOW, "substantial": LOA_SUBSTANTIAL, "high": LOA_HIGH}


def build_login_methods(
    settings: Settings,
    register: Register,
    *,
    state: StateStore | None = None,
    passkeys: PasskeyStore | None = None,
    engine: Engine | None = None,
) -> dict[str, LoginMethod]:
    """``state`` and ``passkeys`` are needed only by the methods that use them (``passkey``,
    upstream OIDC providers, which are named by their ``upstream_providers`` entry); ``engine``
    by ``digid`` and the upstream providers, which write identity bindings with their audit
    record."""
    methods: dict[str, LoginMethod] = {}
    upstream = {provider.name: provider for provider in settings.upstream_providers}
    for name in settings.login_methods:
        if name in upstream:
            if state is None:
                raise ConfigurationError(f"the {name} login method needs the state store")
            methods[name] = upstream_login(
                upstream[name],
                our_issuer=settings.issuer,
                fetcher=HttpxFetcher(),
                store=state,
                register=register,
                subject_key=load_or_create_secrets(settings.data_dir)["bsn_hash_secret"].encode(),
                ttl=settings.login_transaction_ttl,
                engine=engine,
            )
        elif name == "dev":
            if settings.environment not in ("dev", "test"):
                raise ConfigurationError("the dev login method exists only in dev and test")
            methods[name] = DevLogin(register=register, acr=LOA_BY_NAME[settings.dev_login_loa])
        elif name == "uzi":
            methods[name] = uzi_login_from_settings(settings, register)
        elif name == "digid":
            # Imported only when enabled: pysaml2 takes seconds to import.
            from idp.authn.digid import digid_login_from_settings

            methods[name] = digid_login_from_settings(settings, register, state, engine)
        elif name == "passkey":
            if state is None or passkeys is None:
                raise ConfigurationError(
                    "the passkey login method needs the state store and register"
                )
            methods[name] = passkey_login(settings.issuer, state, passkeys)
        else:
            raise ConfigurationError(f"unknown login method {name!r}")
    if not methods:
        raise ConfigurationError("no login method is enabled")
    return methods
