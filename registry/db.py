"""Engines, migrations and transactions for the register.

SQLite (the embedded default) and PostgreSQL (production) behind one API. On SQLite every write
transaction starts with ``BEGIN IMMEDIATE``, so writers queue on the busy timeout instead of
failing when a read snapshot goes stale; that also makes appends to the audit chain serial
(``registry.audit``). Read-only sessions start a plain ``BEGIN``. Commits are durable
(``synchronous=FULL``): an acknowledged change is kept (security-checklist.md §3.1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, select

from registry.errors import Conflict, NotFound
from registry.models import Organisation, Professional

__all__ = [
    "MIGRATIONS_DIR",
    "TransactionHooks",
    "alembic_config",
    "create_engine",
    "organisation_by_ura",
    "professional_by_dezi",
    "read_only",
    "read_session",
    "session_scope",
    "transaction",
    "transaction_hooks",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY = "registry_read_only"


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; turn it off and emit BEGIN
    # ourselves (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    read_only = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _normalise_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for ``sqlite:///…`` or ``postgresql+psycopg://…`` (plain ``postgresql://``
    is taken to mean psycopg 3)."""
    parsed = _normalise_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        engine = sa.create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # One shared connection keeps an in-memory database alive across threads.
            poolclass=StaticPool if in_memory else None,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ValueError("PostgreSQL URLs must use the psycopg 3 driver (postgresql+psycopg)")
        # Fail fast while PostgreSQL is unreachable (INTERFACES.md "Outages": 503 within two
        # seconds): connecting and waiting for a pooled connection give up after 2 s.
        return sa.create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            pool_timeout=2,
            connect_args={"connect_timeout": 2},
        )
    raise ValueError(f"unsupported database backend: {backend}")


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """Alembic configured in code (no alembic.ini): the migrations beside this module, run
    on ``connection`` when given, else on a new engine for ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations to ``revision`` in one transaction (DDL is transactional on both
    PostgreSQL and, with our explicit BEGIN, SQLite)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One write transaction: commit when the block ends, roll back when it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@dataclass(frozen=True)
class TransactionHooks:
    """Work an adapter adds to the NEXT service transaction in its context, so that it commits
    or rolls back with the change: the REST API checks ``If-Match`` against the locked row
    before the change (RFC 7232 §3.1) and stores its ``Idempotency-Key`` answer after it."""

    after_begin: Callable[[Session], None] | None = None
    before_commit: Callable[[Session], None] | None = None


_HOOKS: ContextVar[TransactionHooks | None] = ContextVar("registry_hooks", default=None)


@contextmanager
def transaction_hooks(hooks: TransactionHooks) -> Iterator[None]:
    """Run ``hooks`` in the first ``transaction`` opened inside this block (one service call
    is one transaction), in the same thread."""
    token = _HOOKS.set(hooks)
    try:
        yield
    finally:
        _HOOKS.reset(token)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """``session_scope`` for the service layer: a unique or foreign-key violation (a
    concurrent writer took the same natural key first) surfaces as ``Conflict``. Runs the
    ``transaction_hooks`` of its context, once."""
    hooks = _HOOKS.get()
    if hooks is not None:
        _HOOKS.set(None)
    try:
        with session_scope(engine) as session:
            if hooks is not None and hooks.after_begin is not None:
                hooks.after_begin(session)
            yield session
            if hooks is not None and hooks.before_commit is not None:
                hooks.before_commit(session)
    except IntegrityError as exc:
        raise Conflict(
            "the change conflicts with the current register", log_detail=str(exc.orig)
        ) from exc


def read_only(engine: Engine) -> Engine:
    """The same engine for reading only: on SQLite its transactions start with a plain BEGIN,
    so readers never wait for the write lock."""
    return engine.execution_options(**{_READ_ONLY: True})


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A short read-only session (on SQLite it does not take the write lock)."""
    session = Session(read_only(engine), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()  # ends the transaction; loaded objects stay readable


def organisation_by_ura(session: Session, ura: str) -> Organisation:
    """The organisation with this URA, or ``NotFound``."""
    row = session.exec(select(Organisation).where(Organisation.ura == ura)).first()
    if row is None:
        raise NotFound("organisation", ura)
    return row


def professional_by_dezi(session: Session, dezi_nummer: str) -> Professional:
    """The professional with this Dezi number, or ``NotFound``."""
    row = session.exec(select(Professional).where(Professional.dezi_nummer == dezi_nummer)).first()
    if row is None:
        raise NotFound("professional", dezi_nummer)
    return row
