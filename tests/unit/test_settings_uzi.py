"""Settings of the UZI-pas method and of the trusted proxies, checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from idp.settings import Settings

ISSUER = "https://idp.zorg.example.nl"


def uzi(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "issuer": ISSUER,
        "login_methods": ("uzi",),
        "uzi_ca_bundle": Path("/etc/zorg-idp/uzi-ca.pem"),
        "uzi_mtls_url": f"{ISSUER}:8443",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_a_good_configuration() -> None:
    settings = uzi()
    assert settings.extra_origins == (f"{ISSUER}:8443",)
    assert uzi(uzi_mtls_url=f"{ISSUER}:8443/").extra_origins == (f"{ISSUER}:8443",)
    assert Settings().extra_origins == ()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"uzi_ca_bundle": None}, "needs uzi_ca_bundle and uzi_mtls_url"),
        ({"uzi_mtls_url": None}, "needs uzi_ca_bundle and uzi_mtls_url"),
        ({"uzi_mtls_url": "http://idp.zorg.example.nl:8443"}, "https:// origin"),
        ({"uzi_mtls_url": f"{ISSUER}:8443/login"}, "https:// origin"),
        ({"uzi_mtls_url": f"{ISSUER}:8443?x=1"}, "https:// origin"),
        ({"uzi_mtls_url": "https://uzi.zorg.example.nl"}, "host name on another port"),
        ({"uzi_mtls_url": ISSUER}, "host name on another port"),
    ],
)
def test_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        uzi(**overrides)


@pytest.mark.parametrize("entry", ["*", "localhost", "127.0.0.1/33", ""])
def test_trusted_proxies_are_addresses_or_networks(entry: str) -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies=(entry,))


def test_trusted_proxy_networks() -> None:
    assert Settings(trusted_proxies=("10.0.0.0/8", "::1")).trusted_proxies == ("10.0.0.0/8", "::1")
