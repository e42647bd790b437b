"""Fixtures for the register tests: a migrated database on SQLite and on the real PostgreSQL.

PostgreSQL: one fresh database per test session (``zorg_test_<hex>``, created from the existing
``test`` database and dropped at the end), and one fresh schema per test inside it. CI starts the
server; when it cannot be reached the tests FAIL, they are not skipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from registry import db

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")  # trust authentication on loopback


def _admin_connection() -> tuple[psycopg.Connection[tuple[object, ...]], str]:
    problems: list[str] = []
    for user in PG_USERS:
        try:
            connection = psycopg.connect(
                host=PG_HOST,
                port=PG_PORT,
                user=user,
                dbname="test",
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.OperationalError as exc:
            problems.append(f"{user}: {exc}")
            continue
        return connection, user
    pytest.fail(f"PostgreSQL on {PG_HOST}:{PG_PORT} is unreachable: {'; '.join(problems)}")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    connection, user = _admin_connection()
    name = f"zorg_test_{secrets.token_hex(6)}"
    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.close()


def _postgres_engine(request: pytest.FixtureRequest) -> tuple[Engine, Callable[[], None]]:
    base = request.getfixturevalue("pg_database_url")
    schema = f"t_{secrets.token_hex(6)}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = db.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        engine.dispose()
        cleanup = db.create_engine(base)
        with cleanup.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        cleanup.dispose()

    return engine, drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An empty database (no tables yet)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("registry") / "registry.db"
        engine = db.create_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine, drop = _postgres_engine(request)
    yield engine
    drop()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """A database migrated to head."""
    db.upgrade(bare_engine)
    return bare_engine
