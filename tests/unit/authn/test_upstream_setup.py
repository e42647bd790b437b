"""Configuring upstream OIDC providers: settings shapes, the key file, the factory.

Every mistake stops the start-up with a message that says what to change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey
from pydantic import ValidationError

from idp.authn.binding import LinkConflict
from idp.authn.factory import build_login_methods
from idp.authn.oidc_upstream import OidcUpstreamLogin, RegisterLinker
from idp.authn.upstream_key import load_client_key, public_jwks
from idp.errors import ConfigurationError
from idp.keys import load_or_create_secrets
from idp.protocol.models import LOA_SUBSTANTIAL
from idp.settings import Settings, load_settings
from idp.state import MemoryStateStore
from tests.unit.authn.upstream_fakes import CLIENT_KEY
from tests.unit.protocol.fakes import FakeRegister


def write_key(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def provider(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    key = write_key(tmp_path / "key.pem", CLIENT_KEY.as_pem(private=True))
    values: dict[str, Any] = {
        "name": "digid-broker",
        "label": "DigiD (broker)",
        "issuer": "https://broker.example.nl",
        "client_id": "zorg-idp",
        "private_key_file": str(key),
        "acr": "substantial",
    }
    values.update(overrides)
    return values


def settings(tmp_path: Path, *providers: dict[str, Any], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": tmp_path / "data",
        "login_methods": [p["name"] for p in providers],
        "upstream_providers": list(providers),
    }
    values.update(overrides)
    return Settings(**values)


# -- the key file ----------------------------------------------------------------------------


def test_pem_and_jwk_keys_load(tmp_path: Path) -> None:
    pem = write_key(tmp_path / "k.pem", CLIENT_KEY.as_pem(private=True))
    assert load_client_key(pem, "PS256").thumbprint() == CLIENT_KEY.thumbprint()
    ec = ECKey.generate_key("P-256", private=True)
    jwk = write_key(tmp_path / "k.json", json.dumps(ec.as_dict(private=True)).encode())
    loaded = load_client_key(jwk, "ES256")
    assert loaded.kid == ec.thumbprint()  # a kid, so the upstream can pick the key
    published = public_jwks(loaded)["keys"][0]
    assert published["alg"] == "ES256" and published["use"] == "sig"
    assert "d" not in published


def _rsa_pem(bits: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    ("content", "mode", "alg", "message"),
    [
        (None, 0o600, "PS256", "cannot read it"),
        (b"pem", 0o644, "PS256", "readable by others; chmod 600"),
        (b"not a key", 0o600, "PS256", "not an RSA private key"),
        ("ec", 0o600, "PS256", "not an RSA private key"),
        ("rsa", 0o600, "ES256", "not a P-256 EC private key"),
        ("public", 0o600, "PS256", "holds a public key"),
        ("small", 0o600, "PS256", "at least 2048 bits"),
        ("p384", 0o600, "ES256", "needs a P-256 key"),
    ],
)
def test_bad_key_files(tmp_path: Path, content: object, mode: int, alg: str, message: str) -> None:
    data = {
        "ec": ECKey.generate_key("P-256", private=True).as_pem(private=True),
        "rsa": CLIENT_KEY.as_pem(private=True),
        "public": CLIENT_KEY.as_pem(private=False),
        "small": _rsa_pem(1024),
        "p384": ECKey.generate_key("P-384", private=True).as_pem(private=True),
        b"pem": CLIENT_KEY.as_pem(private=True),
    }.get(content, content)  # type: ignore[call-overload]
    path = tmp_path / "key"
    if data is not None:
        write_key(path, data, mode)
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_client_key(path, alg)
    assert str(path) in str(caught.value)


# -- settings --------------------------------------------------------------------------------


def test_toml_with_a_provider(tmp_path: Path) -> None:
    key = write_key(tmp_path / "key.pem", CLIENT_KEY.as_pem(private=True))
    toml = tmp_path / "idp.toml"
    toml.write_text(
        f"""
environment = "test"
login_methods = ["dev", "digid-broker"]

[[upstream_providers]]
name = "digid-broker"
label = "DigiD (broker)"
issuer = "https://broker.example.nl"
client_id = "zorg-idp"
private_key_file = "{key}"
acr = "substantial"
acr_map = {{ "urn:broker:midden" = "substantial" }}
claim = {{ name = "bsn", hash_as = "bsn", binding_method = "digid" }}
""",
        encoding="utf-8",
    )
    loaded = load_settings(toml)
    (entry,) = loaded.upstream_providers
    assert entry.name == "digid-broker" and entry.binding_method == "digid"
    assert entry.claim.hash_as == "bsn" and entry.acr_map == {"urn:broker:midden": "substantial"}
    assert entry.id_token_algs == ("PS256", "ES256") and entry.reauthenticate is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Digid"}, "name must be 1-32 of a-z"),
        ({"name": "a/b"}, "name must be 1-32 of a-z"),
        ({"name": "dev"}, "built-in login method"),
        ({"issuer": "ftp://broker.example.nl"}, "absolute https"),
        ({"issuer": "https://broker.example.nl?x=1"}, "query or fragment"),
        ({"issuer": "http://broker.example.nl"}, "http:// only for a loopback host"),
        ({"scopes": ["profile"]}, "must include openid"),
        ({"acr": "medium"}, "acr"),
        ({"signing_alg": "RS256"}, "signing_alg"),
        ({"id_token_algs": ["none"]}, "id_token_algs"),
        ({"id_token_algs": []}, "at least one algorithm"),
        ({"claim": {"maps_to": "dezi_nummer", "hash_as": "bsn"}}, "hash_as applies"),
        ({"claim": {"maps_to": "email"}}, "maps_to"),
        ({"client_secret": "s3cret"}, "client_secret"),
    ],
)
def test_settings_refuse(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(tmp_path, provider(tmp_path, **overrides))


def test_names_must_differ(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="every name must be different"):
        settings(tmp_path, provider(tmp_path), provider(tmp_path))


def test_http_loopback_issuer_only_outside_prod(tmp_path: Path) -> None:
    local = provider(tmp_path, issuer="http://127.0.0.2:9000")
    assert settings(tmp_path, local).upstream_providers[0].issuer == "http://127.0.0.2:9000"
    with pytest.raises(ValidationError, match="http:// only"):
        settings(tmp_path, local, environment="prod", issuer="https://idp.example.nl")


# -- the factory -----------------------------------------------------------------------------


def test_the_factory_builds_one_method_per_listed_provider(tmp_path: Path) -> None:
    second = provider(tmp_path, name="eherkenning", label="eHerkenning", acr="high")
    built = settings(tmp_path, provider(tmp_path), second, login_methods=["digid-broker"])
    methods = build_login_methods(built, FakeRegister(), state=MemoryStateStore())
    assert list(methods) == ["digid-broker"]  # listed in login_methods: enabled
    method = methods["digid-broker"]
    assert isinstance(method, OidcUpstreamLogin)
    assert method.acr == LOA_SUBSTANTIAL and method.label == "DigiD (broker)"
    assert method.redirect_uri == "http://127.0.0.1:8000/upstream/digid-broker/return"
    assert method.subject_key == load_or_create_secrets(built.data_dir)["bsn_hash_secret"].encode()
    assert method.key.thumbprint() == CLIENT_KEY.thumbprint()
    assert method.bindings is None  # FakeRegister has no identity bindings
    assert method.linker is None  # no engine: no first-time link


def test_the_factory_needs_the_state_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs the state store"):
        build_login_methods(settings(tmp_path, provider(tmp_path)), FakeRegister())


def test_a_bad_key_stops_the_factory(tmp_path: Path) -> None:
    entry = provider(tmp_path, private_key_file=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match=r"missing\.pem: cannot read it"):
        build_login_methods(settings(tmp_path, entry), FakeRegister(), state=MemoryStateStore())


def test_an_unlisted_name_is_unknown(tmp_path: Path) -> None:
    built = settings(tmp_path, provider(tmp_path), login_methods=["digid-brokr"])
    with pytest.raises(ConfigurationError, match="unknown login method 'digid-brokr'"):
        build_login_methods(built, FakeRegister(), state=MemoryStateStore())


def test_rsa_key_of_the_fakes_is_an_rsa_key() -> None:
    assert isinstance(CLIENT_KEY, RSAKey)


def test_register_linker_writes_once_and_refuses_another_professional(tmp_path: Path) -> None:
    from registry.db import create_engine, upgrade
    from registry.repository import SqlRegister
    from registry.seed import seed_demo

    engine = create_engine(f"sqlite:///{tmp_path / 'register.db'}")
    try:
        upgrade(engine)
        seed_demo(engine)
        link = RegisterLinker(engine)
        link("900000019", "digid-broker", "b" * 64, "dezi:900000019")
        link("900000019", "digid-broker", "b" * 64, "dezi:900000019")  # again: a no-op
        found = SqlRegister(engine).professional_for_binding("digid-broker", "b" * 64)
        assert found is not None and found.dezi_nummer == "900000019"
        with pytest.raises(LinkConflict):
            link("900000027", "digid-broker", "b" * 64, "dezi:900000027")
    finally:
        engine.dispose()
