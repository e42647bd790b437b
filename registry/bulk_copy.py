"""Writing many rows at once: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

The bulk import (``registry.bulk``) decides row by row in Python but writes set-based, one
statement per table per chunk, which is what makes it fast: on PostgreSQL new rows stream in
with psycopg 3's ``cursor.copy()`` and changed rows are copied into a scratch table and merged
with one ``UPDATE … FROM``; on SQLite they go through SQLAlchemy Core ``executemany`` (no ORM
unit of work). Both write inside the caller's transaction.

Rows are inserted with plain ``COPY``/``INSERT``, never ``ON CONFLICT DO NOTHING``: the import
read the register under the audit-chain lock before it planned them, so a unique violation here
means a writer that does not take that lock got there first, and the chunk must be planned again
(``registry.bulk`` retries it), not half-applied with audit records claiming what did not happen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

__all__ = [
    "copy_tuples",
    "drop_temp",
    "insert_rows",
    "is_postgres",
    "psycopg_connection",
    "update_rows",
]


def is_postgres(connection: sa.Connection) -> bool:
    return connection.dialect.name == "postgresql"


def psycopg_connection(connection: sa.Connection) -> psycopg.Connection[Any]:
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError("the PostgreSQL path needs the psycopg 3 driver")
    return raw


_JSON = json.JSONEncoder(ensure_ascii=False)  # built once (json.dumps builds one per call)


def _copy_value(column: sa.Column[Any], value: object) -> object:
    # COPY bypasses SQLAlchemy's type processing: JSON columns take the JSON text.
    if value is not None and isinstance(column.type, sa.JSON):
        return _JSON.encode(value)
    return value


def insert_rows(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, object]]
) -> None:
    """Insert ``rows`` (all with the same keys) into ``table``."""
    if not rows:
        return
    names = list(rows[0])
    if not is_postgres(connection):
        connection.execute(table.insert(), [dict(row) for row in rows])
        return
    columns = [table.c[name] for name in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    json_names = [c.name for c in columns if isinstance(c.type, sa.JSON)]
    encode = _JSON.encode
    with psycopg_connection(connection).cursor() as cursor, cursor.copy(statement) as copy:
        write = copy.write_row
        for row in rows:
            values = [row[name] for name in names]
            for name in json_names:
                at = names.index(name)
                if values[at] is not None:
                    values[at] = encode(values[at])
            write(values)


def copy_tuples(
    connection: sa.Connection,
    table_name: str,
    names: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """PostgreSQL only: ``COPY`` plain tuples into ``table_name`` (the staging tables)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with psycopg_connection(connection).cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def drop_temp(connection: sa.Connection, name: str) -> None:
    """Drop a temporary table of ours; never a permanent one that happens to share the name."""
    if not name.isidentifier():
        raise ValueError(f"not a table name: {name!r}")
    schema = "pg_temp" if is_postgres(connection) else "temp"
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS {schema}."{name}"')


def update_rows(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, object]]
) -> None:
    """Set the columns in ``rows`` (all with the same keys, ``id`` among them) by ``id``."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if not is_postgres(connection):
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(f"new_{name}") for name in names})
        )
        connection.execute(
            statement,
            [{"row_id": r["id"], **{f"new_{n}": r[n] for n in names}} for r in rows],
        )
        return
    scratch = f"import_changes_{table.name}"
    drop_temp(connection, scratch)
    target, source = sql.Identifier(table.name), sql.Identifier(scratch)
    columns = [table.c[name] for name in ["id", *names]]
    with psycopg_connection(connection).cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
                source, sql.SQL(", ").join(sql.Identifier(c.name) for c in columns), target
            )
        )
        copy_tuples(
            connection,
            scratch,
            ["id", *names],
            ([_copy_value(c, row[c.name]) for c in columns] for row in rows),
        )
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = s.{}").format(sql.Identifier(name), sql.Identifier(name))
            for name in names
        )
        cursor.execute(
            sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE t.id = s.id").format(
                target, assignments, source
            )
        )
    drop_temp(connection, scratch)
