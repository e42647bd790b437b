"""``zorg-idp client add`` for the registry API: an HR system's client credentials client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idp.cli import app
from registry import SqlRegister, create_engine
from tests.support import RelyingParty
from tests.support_database import migrated_sqlite

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IDP_DATABASE_URL", migrated_sqlite(tmp_path / "r.db"))
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IDP_ENVIRONMENT", "test")
    return tmp_path


def test_register_an_hr_system(env: Path) -> None:
    rp = RelyingParty.confidential("hr-cli", "http://127.0.0.1:8000")
    jwks = env / "jwks.json"
    jwks.write_text(json.dumps(rp.jwks()), encoding="utf-8")
    args = ["client", "add", "--client-id", "hr-cli", "--jwks-file", str(jwks)]
    api = [*args, "--grant-type", "client_credentials", "--scope", "registry"]
    result = runner.invoke(app, api)
    assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{env / 'r.db'}")
    client = SqlRegister(engine).get_client("hr-cli")
    engine.dispose()
    assert client is not None
    assert (client.grant_types, client.scopes, client.redirect_uris) == (
        ("client_credentials",),
        ("registry",),
        (),
    )
    # A code-flow client still needs a redirect URI; a public one cannot use the grant.
    assert runner.invoke(app, args).exit_code == 1
    public = ["client", "add", "--client-id", "hr-public", "--auth-method", "none"]
    refused = runner.invoke(
        app, [*public, "--grant-type", "client_credentials", "--scope", "registry"]
    )
    assert refused.exit_code == 1 and "private_key_jwt" in refused.output
