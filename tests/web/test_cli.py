"""The ``zorg-idp`` command line (INTERFACES.md "Commands")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idp.cli import app
from tests.support import RelyingParty
from tests.support_database import migrated_sqlite

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IDP_DATABASE_URL", migrated_sqlite(tmp_path / "r.db"))
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IDP_RSA_KEY_SIZE", "2048")
    monkeypatch.setenv("IDP_ENVIRONMENT", "test")
    return tmp_path


def test_client_add_is_idempotent_and_validates(env: Path) -> None:
    rp = RelyingParty.confidential("cli-epd", "http://127.0.0.1:8000")
    jwks = env / "jwks.json"
    jwks.write_text(json.dumps(rp.jwks()), encoding="utf-8")
    args = [
        "client",
        "add",
        "--client-id",
        "cli-epd",
        "--redirect-uri",
        rp.redirect_uri,
        "--jwks-file",
        str(jwks),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "registered" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "unchanged" in second.output
    changed = runner.invoke(app, [*args, "--name", "Renamed EPD"])
    assert changed.exit_code == 0 and "registered" in changed.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--auth-method", "client_secret_basic"], "--auth-method"),
        (["--profile", "fapi"], "--profile"),
        (["--redirect-uri", "http://rp.example/cb"], "redirect"),
        (["--id-token-signed-response-alg", "none"], "id_token_signed_response_alg"),
        (["--organisation", "12345678"], ""),
    ],
)
def test_client_add_rejects_bad_input(env: Path, extra: list[str], message: str) -> None:
    rp = RelyingParty.confidential("bad-epd", "http://127.0.0.1:8000")
    jwks = env / "jwks.json"
    jwks.write_text(json.dumps(rp.jwks()), encoding="utf-8")
    redirect = [] if "--redirect-uri" in extra else ["--redirect-uri", rp.redirect_uri]
    result = runner.invoke(
        app,
        ["client", "add", "--client-id", "bad-epd", *redirect, "--jwks-file", str(jwks), *extra],
    )
    assert result.exit_code != 0
    assert "error:" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_private_key_jwt_needs_keys_and_private_jwks_are_refused(env: Path) -> None:
    result = runner.invoke(
        app, ["client", "add", "--client-id", "x", "--redirect-uri", "https://rp.example/cb"]
    )
    assert result.exit_code != 0 and "jwks" in result.output.lower()
    rp = RelyingParty.confidential("x", "http://127.0.0.1:8000")
    assert rp.key is not None
    leaked = env / "private.json"
    leaked.write_text(json.dumps({"keys": [rp.key.as_dict(private=True)]}), encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "client",
            "add",
            "--client-id",
            "x",
            "--redirect-uri",
            "https://rp.example/cb",
            "--jwks-file",
            str(leaked),
        ],
    )
    assert result.exit_code != 0 and "private" in result.output


def test_keys_list_and_rotate(env: Path) -> None:
    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0
    assert listed.output.count("active") == 2 and listed.output.count("next") == 2
    rotated = runner.invoke(app, ["keys", "rotate"])
    assert rotated.exit_code == 0 and rotated.output.count("retired") == 2


def test_invalid_settings_are_one_clear_line(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_ENVIRONMENT", "prod")
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 2
    assert "invalid settings" in result.output and "Traceback" not in result.output


def test_serve_refuses_workers_without_shared_state(env: Path) -> None:
    result = runner.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "shared state store" in result.output
