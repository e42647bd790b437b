"""The import's staging table: the whole file, checked field by field, in a TEMPORARY table.

Rows stream from the file through ``validate_staff``/``validate_organisation`` into the staging
table in blocks (``COPY`` on PostgreSQL, ``executemany`` on SQLite), so the importer never holds
the file in memory. A temporary table belongs to the importer's connection alone and is not
part of the register: an unusable file found half-way changes nothing (INTERFACES.md "Bulk import
files", exit 2).

Consistency inside the file is then checked in SQL over the whole table at once, with the same
outcome as checking row by row in file order (``registry.bulk`` before this module existed):

- staff: one row per (URA, personeelsnummer, role), and one name and BIG number per (URA,
  personeelsnummer), both judged against the person's FIRST row in the file; without that, two
  rows would undo each other on every run and the import would never settle;
- organisations: one row per URA.

The verdicts go into a second temporary table (only rows that fail), and ``chunks`` reads the
table back in file order, ``size`` rows at a time, verdicts joined in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

from registry import codes
from registry.bulk_copy import copy_tuples, drop_temp, is_postgres
from registry.bulk_csv import Kind, RawRow
from registry.bulk_file import OrganisationRow, StaffRow, validate_organisation, validate_staff
from registry.bulk_rows import start_of
from registry.staff import Names

__all__ = [
    "UNCHANGED",
    "Staged",
    "create_stage",
    "drop_stage",
    "fill_stage",
    "judge_stage",
    "read_chunk",
    "stage_table",
    "verdict_table",
]

_META = sa.MetaData()
_TEXT = sa.Text()
_STAFF = sa.Table(
    "import_staff_stage",
    _META,
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reasons", _TEXT),
    *(
        sa.Column(name, _TEXT)
        for name in (
            "ura",
            "personeelsnummer",
            "voorletters",
            "voorvoegsel",
            "achternaam",
            "big_nummer",
            "rol_code",
        )
    ),
    sa.Column("geldig_vanaf", sa.Date),
    sa.Column("geldig_tot", sa.Date),
    # For ``registry.bulk_unchanged``: whether the role needs a BIG registration, and the
    # instants that bound the row's days in the register's zone (``registry.bulk_rows``), so
    # that SQL can compare stored validity at day precision without time-zone arithmetic.
    sa.Column("big_role", sa.Boolean),
    sa.Column("from_lo", UTCDateTime),
    sa.Column("from_hi", UTCDateTime),
    sa.Column("until_lo", UTCDateTime),
    sa.Column("until_hi", UTCDateTime),
    prefixes=["TEMPORARY"],
)
_ORGANISATIONS = sa.Table(
    "import_organisation_stage",
    _META,
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("reasons", _TEXT),
    *(sa.Column(name, _TEXT) for name in ("ura", "naam", "agb_code", "categorie")),
    prefixes=["TEMPORARY"],
)
_VERDICT = sa.Table(
    "import_verdict",
    _META,
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rule", _TEXT),  # duplicate | name | big
    sa.Column("other_line", sa.Integer),
    prefixes=["TEMPORARY"],
)
# Staff rows the register already matches (``registry.bulk_unchanged``), with the Dezi number.
UNCHANGED = sa.Table(
    "import_unchanged",
    _META,
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("dezi_nummer", _TEXT),
    sa.Column("professional_id", _TEXT),
    prefixes=["TEMPORARY"],
)
_DAY = timedelta(days=1)
_FOR_SQL_ONLY = frozenset({"big_role", "from_lo", "from_hi", "until_lo", "until_hi"})
_REASON_SEPARATOR = "\x1f"  # never in a reason: the field checks refuse control characters
_BLOCK = 5000


def _table(kind: Kind) -> sa.Table:
    return _STAFF if kind == "staff" else _ORGANISATIONS


def drop_stage(connection: sa.Connection) -> None:
    for table in (_STAFF, _ORGANISATIONS, _VERDICT, UNCHANGED):
        drop_temp(connection, table.name)


def create_stage(connection: sa.Connection, kind: Kind) -> None:
    drop_stage(connection)
    for table in (_table(kind), _VERDICT, UNCHANGED):
        table.create(connection)


def _staff_tuple(raw: RawRow) -> tuple[object, ...]:
    row = validate_staff(raw)
    if not isinstance(row, StaffRow):
        return (raw.line, _REASON_SEPARATOR.join(row), *([None] * 14))
    names = row.names
    vanaf, tot = row.geldig_vanaf, row.geldig_tot
    return (
        row.line,
        None,
        row.ura,
        row.personeelsnummer,
        names.voorletters,
        names.voorvoegsel,
        names.achternaam,
        row.big_nummer,
        row.role.code,
        vanaf,
        tot,
        row.role.big_registered,
        start_of(vanaf),
        start_of(vanaf + _DAY),
        None if tot is None else start_of(tot),
        None if tot is None else start_of(tot + _DAY),
    )


def _organisation_tuple(raw: RawRow) -> tuple[object, ...]:
    row = validate_organisation(raw)
    if not isinstance(row, OrganisationRow):
        return (raw.line, _REASON_SEPARATOR.join(row), None, None, None, None)
    return (row.line, None, row.ura, row.naam, row.agb_code, row.categorie)


def fill_stage(
    connection: sa.Connection,
    kind: Kind,
    rows: Iterable[RawRow],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Check and stage every row; the number staged. ``progress(n)`` as blocks are staged."""
    table = _table(kind)
    names = [column.name for column in table.columns]
    convert = _staff_tuple if kind == "staff" else _organisation_tuple
    iterator = iter(rows)
    total = 0
    while block := [convert(raw) for raw in islice(iterator, _BLOCK)]:
        if is_postgres(connection):
            copy_tuples(connection, table, block)
        else:
            connection.execute(table.insert(), [dict(zip(names, t, strict=True)) for t in block])
        total += len(block)
        if progress is not None:
            progress(len(block))
    return total


def _same(a: sa.ColumnElement[object], b: sa.ColumnElement[object]) -> sa.ColumnElement[bool]:
    return sa.or_(a == b, sa.and_(a.is_(None), b.is_(None)))


def judge_stage(connection: sa.Connection, kind: Kind) -> None:
    """Fill the verdict table with the rows that the file itself contradicts (see above)."""
    table = _table(kind)
    if is_postgres(connection):  # autovacuum never analyses temporary tables
        connection.exec_driver_sql(f'ANALYZE "{table.name}"')
    valid = sa.select(table).where(table.c.reasons.is_(None)).subquery("v")
    if kind == "organisations":
        first = sa.func.min(valid.c.line).over(partition_by=valid.c.ura)
        judged = sa.select(valid.c.line, first.label("first")).subquery("j")
        connection.execute(
            _VERDICT.insert().from_select(
                ["line", "rule", "other_line"],
                sa.select(judged.c.line, sa.literal("duplicate"), judged.c.first).where(
                    judged.c.first < judged.c.line
                ),
            )
        )
        return
    # Window functions and a primary-key join only, so both databases sort instead of
    # joining the file with itself (which SQLite would do row by row).
    person = (valid.c.ura, valid.c.personeelsnummer)
    numbered = sa.select(
        valid.c.line,
        valid.c.ura,
        valid.c.personeelsnummer,
        valid.c.rol_code,
        valid.c.voorletters,
        valid.c.voorvoegsel,
        valid.c.achternaam,
        valid.c.big_nummer,
        sa.func.min(valid.c.line).over(partition_by=person).label("first"),
    ).subquery("n")
    head = table.alias("h")  # the person's first row (a valid row: see ``numbered``)
    same_name = sa.and_(
        numbered.c.voorletters == head.c.voorletters,
        numbered.c.achternaam == head.c.achternaam,
        _same(numbered.c.voorvoegsel, head.c.voorvoegsel),
    )
    same_big = sa.or_(
        numbered.c.big_nummer.is_(None),
        head.c.big_nummer.is_(None),
        numbered.c.big_nummer == head.c.big_nummer,
    )
    compared = (
        sa.select(
            numbered.c.line,
            numbered.c.ura,
            numbered.c.personeelsnummer,
            numbered.c.rol_code,
            numbered.c.first,
            sa.case((same_name, 1), else_=0).label("same_name"),
            sa.case((same_big, 1), else_=0).label("same_big"),
        )
        .select_from(numbered.join(head, head.c.line == numbered.c.first))
        .subquery("m")
    )
    # A row that agrees with the person's first row is accepted unless an earlier accepted row
    # has its role; the earliest agreeing row per role is the one accepted.
    agrees = sa.and_(compared.c.same_name == 1, compared.c.same_big == 1)
    first_agreeing = sa.func.min(sa.case((agrees, compared.c.line))).over(
        partition_by=(compared.c.ura, compared.c.personeelsnummer, compared.c.rol_code)
    )
    checked = sa.select(
        compared.c.line,
        compared.c.first,
        compared.c.same_name,
        compared.c.same_big,
        first_agreeing.label("agreeing"),
    ).subquery("c")
    duplicate = sa.and_(checked.c.agreeing.is_not(None), checked.c.agreeing < checked.c.line)
    rule = sa.case((duplicate, "duplicate"), (checked.c.same_name == 0, "name"), else_="big")
    other = sa.case((duplicate, checked.c.agreeing), else_=checked.c.first)
    connection.execute(
        _VERDICT.insert().from_select(
            ["line", "rule", "other_line"],
            sa.select(checked.c.line, rule, other).where(
                sa.or_(duplicate, checked.c.same_name == 0, checked.c.same_big == 0)
            ),
        )
    )


_MESSAGES = {
    "duplicate": "rol_code: duplicate of line {} (same ura, personeelsnummer, role)",
    "name": "personeelsnummer: line {} gives this person another name",
    "big": "big_nummer: line {} gives this person another BIG number",
}


@dataclass(frozen=True)
class Staged:
    """One staged row: the typed row, or why it is rejected."""

    line: int
    row: StaffRow | OrganisationRow | None
    reasons: tuple[str, ...] = ()
    unchanged: str | None = None  # the Dezi number, when the register matches it already


def _staff_row(values: sa.Row[tuple[object, ...]]) -> StaffRow:
    m = values._mapping
    vanaf, tot = m["geldig_vanaf"], m["geldig_tot"]
    if not isinstance(vanaf, date) or not (tot is None or isinstance(tot, date)):
        raise TypeError("staged dates must be dates")
    return StaffRow(
        line=int(str(m["line"])),
        ura=str(m["ura"]),
        personeelsnummer=str(m["personeelsnummer"]),
        names=Names(
            str(m["voorletters"]),
            None if m["voorvoegsel"] is None else str(m["voorvoegsel"]),
            str(m["achternaam"]),
        ),
        big_nummer=None if m["big_nummer"] is None else str(m["big_nummer"]),
        role=codes.roles()[str(m["rol_code"])],  # checked when it was staged
        geldig_vanaf=vanaf,
        geldig_tot=tot,
    )


def _organisation_row(values: sa.Row[tuple[object, ...]]) -> OrganisationRow:
    m = values._mapping
    agb = m["agb_code"]
    return OrganisationRow(
        int(str(m["line"])),
        str(m["ura"]),
        str(m["naam"]),
        None if agb is None else str(agb),
        str(m["categorie"]),
    )


def read_chunk(connection: sa.Connection, kind: Kind, after: int, size: int) -> list[Staged]:
    """The ``size`` staged rows after line ``after`` in file order, each with every reason to
    reject it that the file alone gives."""
    table = _table(kind)
    wanted = [c for c in table.columns if c.name not in _FOR_SQL_ONLY]
    page = (
        sa.select(*wanted).where(table.c.line > after).order_by(table.c.line).limit(size)
    ).subquery("page")
    query = (
        sa.select(page, _VERDICT.c.rule, _VERDICT.c.other_line, UNCHANGED.c.dezi_nummer)
        .select_from(
            page.outerjoin(_VERDICT, _VERDICT.c.line == page.c.line).outerjoin(
                UNCHANGED, UNCHANGED.c.line == page.c.line
            )
        )
        .order_by(page.c.line)
    )
    staged: list[Staged] = []
    for values in connection.execute(query):
        m = values._mapping
        line = int(str(m["line"]))
        if m["reasons"] is not None:
            staged.append(Staged(line, None, tuple(str(m["reasons"]).split(_REASON_SEPARATOR))))
        elif m["dezi_nummer"] is not None:
            staged.append(Staged(line, None, unchanged=str(m["dezi_nummer"])))
        elif m["rule"] is not None:
            message = _MESSAGES[str(m["rule"])] if kind == "staff" else "ura: duplicate of line {}"
            staged.append(Staged(line, None, (message.format(m["other_line"]),)))
        else:
            row = _staff_row(values) if kind == "staff" else _organisation_row(values)
            staged.append(Staged(line, row))
    return staged


def stage_table(kind: Kind) -> sa.Table:
    """The staging table, for the register reads that join against it."""
    return _table(kind)


def verdict_table() -> sa.Table:
    """The rows the file itself contradicts (``judge_stage``)."""
    return _VERDICT
