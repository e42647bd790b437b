"""``zorg-idp serve`` and ``demo``: the uvicorn options they pass (no server is started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import idp.cli
from idp.cli import app, server_options
from idp.settings import Settings
from tests.support_database import migrated_sqlite

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IDP_DATABASE_URL", migrated_sqlite(tmp_path / "r.db"))
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IDP_RSA_KEY_SIZE", "2048")
    monkeypatch.setenv("IDP_ENVIRONMENT", "test")
    return tmp_path


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    return calls


def test_serve_passes_workers_a_factory_and_the_fast_loop(
    env: Path, runs: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_STATE_URL", "redis://127.0.0.1:6379/0")  # only validated here
    result = runner.invoke(
        app, ["serve", "--workers", "3", "--host", "127.0.0.3", "--port", "9001"]
    )
    assert result.exit_code == 0, result.output
    [(target, options)] = runs
    # Each worker process imports and builds its own app: an import string and a factory.
    assert target == "idp.asgi:create_from_environment" and options["factory"] is True
    assert options["workers"] == 3
    assert (options["host"], options["port"]) == ("127.0.0.3", 9001)
    assert (options["loop"], options["http"]) == ("uvloop", "httptools")
    assert options["access_log"] is False and options["proxy_headers"] is False
    assert options["log_level"] == "info"


def test_serve_defaults_to_one_worker(env: Path, runs: list[tuple[Any, dict[str, Any]]]) -> None:
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert runs[0][1]["workers"] == 1


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_serve_refuses_a_bad_worker_count(
    env: Path, runs: list[tuple[Any, dict[str, Any]]], workers: str
) -> None:
    assert runner.invoke(app, ["serve", "--workers", workers]).exit_code == 2
    assert runs == []


def test_without_uvicorn_standard_it_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert server_options(Settings())["loop"] == "uvloop"
    monkeypatch.setattr(idp.cli, "_importable", lambda module: False)
    assert server_options(Settings()) == {
        "loop": "asyncio",
        "http": "h11",
        "access_log": False,
        "proxy_headers": False,
        "limit_concurrency": 1000,
        "timeout_keep_alive": 20,
        "h11_max_incomplete_event_size": 16 * 1024,
        "timeout_graceful_shutdown": 30,
    }


def test_the_limits_come_from_the_settings(
    env: Path, runs: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "IDP_SERVER_CONCURRENCY_LIMIT": "64",
        "IDP_SERVER_KEEPALIVE_TIMEOUT": "75",
        "IDP_SERVER_MAX_HEADER_BYTES": "8192",
        "IDP_SERVER_SHUTDOWN_TIMEOUT": "10",
    }.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["serve"]).exit_code == 0
    options = runs[0][1]
    assert options["limit_concurrency"] == 64 and options["timeout_keep_alive"] == 75
    assert options["h11_max_incomplete_event_size"] == 8192
    assert options["timeout_graceful_shutdown"] == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDP_SERVER_CONCURRENCY_LIMIT", "1"),
        ("IDP_SERVER_KEEPALIVE_TIMEOUT", "0"),
        ("IDP_SERVER_MAX_HEADER_BYTES", "100"),
        ("IDP_SERVER_SHUTDOWN_TIMEOUT", "0"),
    ],
)
def test_unusable_limits_are_invalid_settings(
    env: Path,
    runs: list[tuple[Any, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2 and result.output.startswith("error: invalid settings: server_")
    assert runs == []


def test_demo_uses_the_same_options(
    env: Path, runs: list[tuple[Any, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.demo

    built: list[Any] = []
    monkeypatch.setattr(
        idp.demo, "build_demo_app", lambda settings: built.append(settings) or "app"
    )
    result = runner.invoke(app, ["demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    [(target, options)] = runs
    assert target == "app" and built[0].issuer == "http://127.0.0.1:8123"
    assert options == {
        "host": "127.0.0.1",
        "port": 8123,
        "log_level": "warning",
        **server_options(built[0]),
    }
