"""Settings: TOML plus IDP_* overrides, validated once with clear messages (INTERFACES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from idp.settings import Settings, is_loopback_host, load_settings


def test_defaults_are_the_demo_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.issuer == "http://127.0.0.1:8000"
    # INTERFACES.md's sqlite:///var/demo.db, made absolute once (idp.settings_paths).
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'demo.db'}"
    assert settings.data_dir == tmp_path / "var"
    assert settings.state_url == "memory://"
    assert settings.environment == "dev"
    assert settings.login_methods == ("dev",)


def test_toml_file_and_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "idp.toml"
    toml.write_text(
        'issuer = "https://idp.example.nl"\nenvironment = "prod"\nlogin_methods = []\n'
        'state_url = "redis://127.0.0.1:6379/2"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("IDP_ISSUER", "https://other.example.nl")
    settings = load_settings(toml)
    assert settings.issuer == "https://other.example.nl"
    assert settings.environment == "prod"
    assert settings.state_url == "redis://127.0.0.1:6379/2"


def test_idp_config_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('issuer = "https://from-file.example"\n', encoding="utf-8")
    monkeypatch.setenv("IDP_CONFIG", str(toml))
    assert load_settings().issuer == "https://from-file.example"
    monkeypatch.setenv("IDP_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ValueError, match="config file not found"):
        load_settings()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"environment": "prod", "issuer": "http://127.0.0.1:8000"}, "http:// issuer is refused"),
        ({"environment": "prod", "issuer": "https://idp.example"}, "dev login method is refused"),
        ({"issuer": "http://idp.example.nl"}, "only for loopback"),
        ({"issuer": "https://idp.example/"}, "must not end with '/'"),
        ({"issuer": "https://idp.example?x=1"}, "query or fragment"),
        ({"issuer": "ftp://idp.example"}, "absolute https"),
        ({"state_url": "memcached://x"}, "memory:// or redis://"),
        ({"code_ttl": 120}, "less than or equal to 60"),
        ({"id_token_ttl": 3600}, "less than or equal to 300"),
        ({"session_idle_ttl": 50000, "session_absolute_ttl": 3600}, "must not exceed"),
        ({"bogus": 1}, "Extra inputs"),
    ],
)
def test_invalid_settings_say_what_to_change(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)  # type: ignore[arg-type]


def test_secrets_are_never_printed() -> None:
    settings = Settings(pairwise_secret="s3cr3t-value")  # type: ignore[arg-type]
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings.model_dump())


def test_loopback_detection() -> None:
    assert (
        is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    )
    assert is_loopback_host("127.0.0.2")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host(None)
