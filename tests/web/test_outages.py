"""Outages answer 503 within two seconds and heal without a restart (INTERFACES.md "Outages").

Real outages, not mocks: a private ``redis-server`` that the test stops and starts again, and a
PostgreSQL database that refuses connections for a while. OAuth endpoints answer JSON
``temporarily_unavailable`` (RFC 6749 §5.2) with ``Retry-After``; browser pages a page that says
to try again; nothing answers 500.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
import redis
from psycopg import sql
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import make_settings, seed_deployment
from tests.support import login_through_forms, pkce_pair, query_of

BOUND = 2.0  # seconds: INTERFACES.md "503 within two seconds"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = PrivateRedis(directory)
    server.start()
    yield server
    server.stop()


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def assert_browser_503(answer: Any, elapsed: float) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    assert "try again" in answer.text
    assert elapsed < BOUND


def assert_oauth_503(answer: Any, elapsed: float) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"]
    assert elapsed < BOUND


@pytest.mark.redis
def test_redis_down_answers_503_and_heals(tmp_path: Path, private_redis: PrivateRedis) -> None:
    settings = make_settings(tmp_path, state_url=private_redis.url)
    rp, _, _ = seed_deployment(settings)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        verifier, challenge = pkce_pair()
        url = "/authorize?" + urlencode(rp.authorize_params(code_challenge=challenge))
        final = login_through_forms(client, url, "900000019")
        code = query_of(final.headers["location"])["code"]
        token = client.post("/token", data=rp.token_form(code, verifier)).json()["access_token"]

        private_redis.stop()
        assert_browser_503(*timed(lambda: client.get(url)))
        assert_oauth_503(*timed(lambda: client.post("/token", data=rp.token_form("x" * 43, "y"))))
        bearer = {"Authorization": f"Bearer {token}"}
        assert_oauth_503(*timed(lambda: client.get("/userinfo", headers=bearer)))
        assert client.get("/readyz").status_code == 503

        private_redis.start()  # the same port: no restart of the app
        assert client.get(url).status_code == 303
        assert client.get("/readyz").status_code == 200


@pytest.fixture
def refusing_database() -> Iterator[tuple[str, Any]]:
    """A fresh PostgreSQL database, and a switch that makes it refuse connections."""
    admin = psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True
    )
    name = f"zorg_outage_{secrets.token_hex(4)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def allow(allowed: bool) -> None:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", allow
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


@pytest.mark.postgres
def test_database_down_answers_503_and_heals(
    tmp_path: Path, refusing_database: tuple[str, Any]
) -> None:
    url, allow = refusing_database
    settings = make_settings(tmp_path, database_url=url)
    rp, _, restricted = seed_deployment(settings)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        verifier, challenge = pkce_pair()
        authorize = "/authorize?" + urlencode(restricted.authorize_params(code_challenge=challenge))
        allow(False)
        # A client this instance has not cached yet must be read from the register.
        assert_browser_503(*timed(lambda: client.get(authorize)))
        assert_oauth_503(
            *timed(lambda: client.post("/token", data=rp.token_form("x" * 43, verifier)))
        )
        api = client.get("/api/v1/organisations", headers={"Accept": "application/json"})
        assert api.status_code in (401, 503)  # no credentials: refused before the database
        assert client.get("/readyz").status_code == 503

        allow(True)
        assert client.get(authorize).status_code == 303
