"""Alembic environment for the register, configured in code by ``registry.db.alembic_config``.

Runs on the connection handed over in ``config.attributes["connection"]`` (the programmatic
way, Alembic cookbook "Sharing a Connection"), or on a new engine for ``sqlalchemy.url``.
SQLite needs batch mode for ALTER TABLE. On PostgreSQL an advisory lock keeps two workers that
start at once from migrating the same database together.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from registry.db import create_engine
from registry.models import metadata

# Any constant will do; it only has to be the same in every process.
_MIGRATION_LOCK_KEY = 0x7A6F7267  # "zorg"


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("registry migrations need a connection or sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported for the register")
run_migrations_online()
