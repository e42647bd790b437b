"""Finding, in one set-based query, the staff rows that the register already matches.

Re-importing a file mostly finds nothing to do (security-checklist.md §3.3: the same file twice
changes nothing), and deciding that row by row in Python costs more than the rest of the import.
So after staging, before any chunk is applied, one INSERT … SELECT marks the rows that
``registry.bulk_staff`` would find "unchanged" with no note, judged against the register as it
stands; ``registry.bulk`` reports those without planning them. A row is marked only when:

- it passed the field checks and the in-file checks (``registry.bulk_stage``);
- its organisation exists and has not ended, and (URA, personeelsnummer) is linked to a
  professional whose names equal the row's and whose BIG number equals the row's, or the row
  gives none (and a role that requires a BIG registration has one);
- that professional has no revoked declaration of the row's (organisation, role) that started
  on or after the row's first day, and the current one (the newest active or suspended) has the
  row's period at day precision, or there is no current one and some declaration has it;
- no OTHER row of the file that could change that professional (any valid row linked to them by
  staff number or BIG number) is left unmarked. Rows are applied in file order, so an earlier
  row that renames the person or moves a period would otherwise change what this row finds.

Anything the query cannot prove unchanged goes the ordinary way, so this is only ever a
shortcut: the outcome of every row is what the row-by-row decision gives (a test runs both).
An organisation administrator's import only marks rows of the organisations they administer.
"""

from __future__ import annotations

import sqlalchemy as sa

from registry.bulk_stage import UNCHANGED, stage_table, verdict_table
from registry.models import Declaration, Employment, Organisation, Professional

__all__ = ["mark_unchanged"]

_ORG: sa.Table = Organisation.__table__  # type: ignore[attr-defined]
_PRO: sa.Table = Professional.__table__  # type: ignore[attr-defined]
_EMP: sa.Table = Employment.__table__  # type: ignore[attr-defined]
_DEC: sa.Table = Declaration.__table__  # type: ignore[attr-defined]


def _same_or_null(
    a: sa.ColumnElement[object], b: sa.ColumnElement[object]
) -> sa.ColumnElement[bool]:
    return sa.or_(a == b, sa.and_(a.is_(None), b.is_(None)))


def mark_unchanged(connection: sa.Connection, uras: frozenset[str] | None) -> int:
    """Fill ``UNCHANGED`` (see the module docstring) for rows of the organisations ``uras``
    (None: all, a registry administrator's import); the number of rows marked."""
    s, verdict = stage_table("staff"), verdict_table()
    d = _DEC.alias("d")
    same_period = sa.and_(
        d.c.valid_from >= s.c.from_lo,
        d.c.valid_from < s.c.from_hi,
        sa.or_(
            sa.and_(d.c.valid_until.is_(None), s.c.until_lo.is_(None)),
            sa.and_(d.c.valid_until > s.c.until_lo, d.c.valid_until <= s.c.until_hi),
        ),
    )
    in_use = d.c.status.in_(("active", "suspended"))

    def any_(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return sa.func.max(sa.case((condition, 1), else_=0)) == 1

    def newest(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[object]:
        return sa.func.max(sa.case((condition, d.c.created_at)))

    # One pass over the declarations of each candidate's (professional, organisation, role),
    # grouped, instead of a correlated subquery per row: the plan then does not depend on
    # statistics that a bulk load has just made stale.
    candidates = (
        sa.select(s.c.line, _PRO.c.dezi_nummer, _PRO.c.id)
        .select_from(
            s.join(_ORG, _ORG.c.ura == s.c.ura)
            .join(
                _EMP,
                sa.and_(
                    _EMP.c.organisation_id == _ORG.c.id,
                    _EMP.c.personeelsnummer == s.c.personeelsnummer,
                ),
            )
            .join(_PRO, _PRO.c.id == _EMP.c.professional_id)
            .join(
                d,
                sa.and_(
                    d.c.professional_id == _PRO.c.id,
                    d.c.organisation_id == _ORG.c.id,
                    d.c.rol_code == s.c.rol_code,
                ),
            )
            .outerjoin(verdict, verdict.c.line == s.c.line)
        )
        .where(
            s.c.reasons.is_(None),
            verdict.c.line.is_(None),
            sa.true() if uras is None else s.c.ura.in_(sorted(uras)),
            _ORG.c.status != "ended",
            s.c.voorletters == _PRO.c.voorletters,
            s.c.achternaam == _PRO.c.achternaam,
            _same_or_null(s.c.voorvoegsel, _PRO.c.voorvoegsel),
            sa.or_(s.c.big_nummer.is_(None), s.c.big_nummer == _PRO.c.big_nummer),
            sa.or_(~s.c.big_role, _PRO.c.big_nummer.is_not(None)),
        )
        .group_by(s.c.line, _PRO.c.dezi_nummer, _PRO.c.id)
        .having(
            ~any_(sa.and_(d.c.status == "revoked", d.c.valid_from >= s.c.from_lo)),
            sa.or_(
                newest(in_use) == newest(sa.and_(in_use, same_period)),
                sa.and_(~any_(in_use), any_(same_period)),
            ),
        )
    )
    connection.execute(
        UNCHANGED.insert().from_select(["line", "dezi_nummer", "professional_id"], candidates)
    )
    # Every valid row and the professional it may change: by staff number, or by BIG number.
    o2, e2 = _ORG.alias("o2"), _EMP.alias("e2")
    valid = sa.and_(s.c.reasons.is_(None), ~sa.exists().where(verdict.c.line == s.c.line))
    by_staff = (
        sa.select(s.c.line, e2.c.professional_id.label("professional_id"))
        .select_from(
            s.join(o2, o2.c.ura == s.c.ura).join(
                e2,
                sa.and_(
                    e2.c.organisation_id == o2.c.id,
                    e2.c.personeelsnummer == s.c.personeelsnummer,
                ),
            )
        )
        .where(valid)
    )
    p2 = _PRO.alias("p2")
    by_big = (
        sa.select(s.c.line, p2.c.id.label("professional_id"))
        .select_from(s.join(p2, p2.c.big_nummer == s.c.big_nummer))
        .where(valid)
    )
    touching = sa.union_all(by_staff, by_big).subquery("touching")
    unsettled = sa.select(touching.c.professional_id).where(
        ~sa.exists().where(UNCHANGED.c.line == touching.c.line)
    )
    connection.execute(UNCHANGED.delete().where(UNCHANGED.c.professional_id.in_(unsettled)))
    count = connection.execute(sa.select(sa.func.count()).select_from(UNCHANGED)).scalar()
    return int(count or 0)
