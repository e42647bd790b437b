"""Every ``zorg-idp`` error is one line and a non-zero exit; the database is found from the
settings only, and only ``demo`` and ``database init`` create one (idp.cli_errors,
idp.cli_database, idp.settings_paths)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import idp.cli_errors
from idp.cli import app
from tests.support_database import migrated_sqlite

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
ADD_CLIENT = ["client", "add", "--client-id", "spa", "--auth-method", "none"]
ADD_CLIENT += ["--redirect-uri", "http://127.0.0.1:9000/cb"]


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No IDP_* from the caller; the starting directory a fresh, empty one."""
    for name in [n for n in os.environ if n.startswith("IDP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDP_RSA_KEY_SIZE", "2048")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


def test_a_missing_default_database_is_refused_not_created(clean_env: Path) -> None:
    (clean_env / "var").mkdir()
    result = runner.invoke(app, ["registry", "organisation", "list"])
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"no database at {clean_env / 'var' / 'demo.db'}" in line
    assert "--config" in line and "IDP_DATABASE_URL" in line and "database init" in line
    assert list((clean_env / "var").iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [ADD_CLIENT, ["registry", "audit", "verify"], ["sessions", "list", "--dezi-nummer", "1"]],
)
def test_every_database_command_refuses_a_missing_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    missing = clean_env / "elsewhere" / "r.db"
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{missing}")
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert f"no database at {missing} (from IDP_DATABASE_URL)" in one_error_line(result.output)
    assert not missing.parent.exists()


def test_serve_refuses_a_missing_database(clean_env: Path) -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2 and "no database at" in one_error_line(result.output)


def test_an_empty_database_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = clean_env / "empty.db"
    empty.touch()
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{empty}")
    result = runner.invoke(app, ADD_CLIENT)
    assert result.exit_code == 2
    assert "holds no register (empty or not migrated)" in one_error_line(result.output)


def test_database_init_creates_and_is_idempotent(clean_env: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["database", "init"])
        assert result.exit_code == 0, result.output
    database = clean_env / "var" / "demo.db"
    assert result.output.strip() == f"database ready: sqlite:///{database}"
    assert (database.parent.stat().st_mode & 0o777) == 0o700
    assert runner.invoke(app, ADD_CLIENT).exit_code == 0


def test_a_config_file_finds_its_database_from_any_directory(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = clean_env / "site"
    site.mkdir()
    (site / "idp.toml").write_text(
        'database_url = "sqlite:///db/register.db"\ndata_dir = "keys"\nenvironment = "test"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(site)
    assert runner.invoke(app, ["database", "init", "--config", "idp.toml"]).exit_code == 0
    elsewhere = clean_env / "elsewhere"
    (elsewhere / "var").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    config = str(site / "idp.toml")
    added = runner.invoke(app, [*ADD_CLIENT, "--config", config])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, [*ADD_CLIENT, "--config", config])
    assert again.output.strip() == "client spa: unchanged"
    assert (site / "db" / "register.db").is_file() and list((elsewhere / "var").iterdir()) == []


def test_idp_data_dir_alone_moves_the_database(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_DATA_DIR", str(clean_env / "data"))
    assert runner.invoke(app, ["database", "init"]).exit_code == 0
    assert (clean_env / "data" / "demo.db").is_file()


def test_unreachable_postgresql_is_one_line_without_the_password(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_DATABASE_URL", "postgresql+psycopg://idp:s3cret@127.0.0.1:1/idp")
    for command in (ADD_CLIENT, ["registry", "organisation", "list"], ["database", "init"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output)
        line = one_error_line(result.output)
        assert "database postgresql+psycopg://idp:***@127.0.0.1:1/idp" in line
        assert "s3cret" not in line


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x@127.0.0.1/none", "unsupported database 'mysql'"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_bad_database_url_is_an_invalid_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("IDP_DATABASE_URL", url)
    result = runner.invoke(app, ADD_CLIENT)
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert line.startswith("error: invalid settings: database_url: ") and message in line


def test_a_missing_config_file_is_one_line(clean_env: Path) -> None:
    result = runner.invoke(app, ["keys", "list", "--config", "nowhere.toml"])
    assert result.exit_code == 2
    assert "config file not found: nowhere.toml" in one_error_line(result.output)


def test_invalid_settings_are_one_line(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_CODE_TTL", "many")
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 2
    assert one_error_line(result.output).startswith("error: invalid settings: code_ttl: ")


def refuse_the_data_dir(path: object) -> object:
    raise PermissionError(13, "Permission denied", str(path))


def test_permission_denied_on_the_data_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root a chmod would not stop the test, so the operating system's refusal is put in
    # place where the key ring makes its directories.
    monkeypatch.setenv("IDP_DATA_DIR", str(clean_env / "locked"))
    monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: refuse_the_data_dir(self))
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert line.startswith(f"error: permission denied: {clean_env / 'locked'}")


def test_an_unexpected_error_is_one_line_and_debug_shows_it(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.keys

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the key ring broke\nsecond line")

    monkeypatch.setattr(idp.keys.KeyRing, "__init__", broken)
    result = runner.invoke(app, ["keys", "list"])
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert line.startswith("error: RuntimeError: the key ring broke (zorg-idp --debug")
    debug = runner.invoke(app, ["--debug", "keys", "list"])
    assert isinstance(debug.exception, RuntimeError) and debug.output == ""
    monkeypatch.setenv("IDP_DEBUG", "1")
    assert isinstance(runner.invoke(app, ["keys", "list"]).exception, RuntimeError)


def test_describe_knows_the_kinds() -> None:
    assert idp.cli_errors.describe(FileNotFoundError(2, "No such file or directory", "/x")) == (
        "/x: No such file or directory",
        2,
    )


def zorg_idp(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idp", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_command_from_another_directory(tmp_path: Path) -> None:
    """What issue 10 saw: a traceback from client add, a new database from registry list."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    (tmp_path / "var").mkdir()
    added = zorg_idp(*ADD_CLIENT, cwd=tmp_path, env=env)
    assert added.returncode == 2 and added.stdout == ""
    assert "no database at" in one_error_line(added.stderr)
    listed = zorg_idp("registry", "organisation", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 2 and list((tmp_path / "var").iterdir()) == []
    env["IDP_DATABASE_URL"] = migrated_sqlite(tmp_path / "r.db")
    assert zorg_idp(*ADD_CLIENT, cwd=tmp_path, env=env).returncode == 0
    # A data directory that is a file: one line, and the traceback only when asked for.
    (tmp_path / "not-a-dir").touch()
    env["IDP_DATA_DIR"] = str(tmp_path / "not-a-dir")
    plain = zorg_idp("keys", "list", cwd=tmp_path, env=env)
    assert plain.returncode == 2 and "not-a-dir" in one_error_line(plain.stderr)
    debug = zorg_idp("--debug", "keys", "list", cwd=tmp_path, env=env)
    assert debug.returncode == 1 and len(debug.stderr.splitlines()) > 10


def test_demo_still_creates_var_demo_db(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    result = runner.invoke(app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert (clean_env / "var" / "demo.db").is_file()
    assert f"Data:       sqlite:///{clean_env / 'var' / 'demo.db'}" in result.output
    listed = runner.invoke(app, ["registry", "organisation", "list"])
    assert listed.exit_code == 0 and "90000001\tactive" in listed.output
