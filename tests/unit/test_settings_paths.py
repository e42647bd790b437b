"""Where the settings' files are: one rule, applied once (idp.settings_paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.settings import load_settings
from idp.settings_paths import display_url, fill_defaults, resolve_paths, sqlite_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/demo.db", Path("var/demo.db")),
        ("sqlite:////srv/idp/r.db", Path("/srv/idp/r.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql+psycopg://idp@db/idp", None),
        ("not a url", None),
    ],
)
def test_sqlite_file(url: str, expected: Path | None) -> None:
    assert sqlite_file(url) == expected


def test_display_url_hides_the_password() -> None:
    assert display_url("postgresql+psycopg://idp:s3cret@db/idp") == (
        "postgresql+psycopg://idp:***@db/idp"
    )
    assert display_url("::") == "(unparsable URL)"


def test_relative_paths_are_taken_from_the_base_and_absolute_ones_kept() -> None:
    base = Path("/etc/zorg-idp")
    resolved = resolve_paths(
        {"data_dir": "keys", "database_url": "sqlite:///db/r.db?timeout=5"}, base
    )
    assert resolved == {
        "data_dir": base / "keys",
        "database_url": "sqlite:////etc/zorg-idp/db/r.db?timeout=5",
    }
    absolute = {"data_dir": "/srv/k", "database_url": "postgresql+psycopg://idp@db/idp"}
    assert resolve_paths(absolute, base) == {**absolute, "data_dir": Path("/srv/k")}


def test_without_a_database_url_it_is_demo_db_in_the_data_dir() -> None:
    base = Path("/home/me")
    assert fill_defaults({}, base) == {
        "data_dir": base / "var",
        "database_url": "sqlite:////home/me/var/demo.db",
    }
    moved = fill_defaults({"data_dir": "/srv/idp"}, base)
    assert moved["database_url"] == "sqlite:////srv/idp/demo.db"


def test_the_config_file_anchors_its_own_paths_and_the_environment_the_start_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config = site / "idp.toml"
    config.write_text('data_dir = "keys"\n', encoding="utf-8")
    for name in ("IDP_CONFIG", "IDP_DATA_DIR", "IDP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(config)
    assert settings.data_dir == site / "keys"
    assert settings.database_url == f"sqlite:///{site / 'keys' / 'demo.db'}"
    monkeypatch.setenv("IDP_DATABASE_URL", "sqlite:///here.db")
    assert load_settings(config).database_url == f"sqlite:///{tmp_path / 'here.db'}"
