"""The Alembic migration builds exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import db
from registry.models import AuditRecord, DeziNumberSequence, metadata


def _diff(engine: Engine, target: sa.MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_upgrade_builds_every_table(engine: Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    assert tables >= set(metadata.tables) | {"alembic_version"}
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version == "0005"


def test_models_and_migration_agree(engine: Engine) -> None:
    assert _diff(engine, metadata) == []


def test_the_comparison_would_see_a_difference(engine: Engine) -> None:
    # Guard against a comparison that passes vacuously.
    changed = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("organisation", changed, sa.Column("extra", sa.String(5)), extend_existing=True)
    assert _diff(engine, changed) != []


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    db.upgrade(engine)
    assert _diff(engine, metadata) == []


def test_dezi_number_counter_is_seeded(engine: Engine) -> None:
    with db.read_session(engine) as session:
        counter = session.exec(select(DeziNumberSequence)).one()
    assert (counter.name, counter.next_value) == ("dezi_nummer", 910_000_000)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    bare_engine = db.create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with bare_engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    bare_engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "synchronous": 2,
    }


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_record SET actor = 'x'", "DELETE FROM audit_record"]
)
def test_audit_table_is_append_only(engine: Engine, statement: str) -> None:
    from registry import audit

    with db.session_scope(engine) as session:
        audit.append(
            session, actor="a", action="t", object_type="o", object_id="1", outcome="success"
        )
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.exec_driver_sql(statement)
    with db.read_session(engine) as session:
        assert len(session.exec(select(AuditRecord)).all()) == 1


def test_postgresql_urls_use_psycopg() -> None:
    engine = db.create_engine("postgresql://nobody@127.0.0.1:1/none")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
    with pytest.raises(ValueError, match="psycopg"):
        db.create_engine("postgresql+pg8000://nobody@127.0.0.1:1/none")
    with pytest.raises(ValueError, match="unsupported"):
        db.create_engine("mysql://nobody@127.0.0.1:1/none")


def test_alembic_check_on_a_url(engine: Engine) -> None:
    """``alembic check`` through env.py's own-engine path: no new upgrade operations."""
    from alembic import command

    url = engine.url.render_as_string(hide_password=False)
    command.upgrade(db.alembic_config(url=url), "head")
    command.check(db.alembic_config(url=url))
