"""Exports: organisations and staff as import CSV, and the audit trail as JSON lines.

The CSV formats are exactly the import formats (INTERFACES.md "Bulk import files"), so an export
re-imports as "unchanged". Staff rows are the current declarations (active or suspended; revoked
and expired ones are history, which the audit trail and the API keep) of professionals that have
a staff number at that organisation; a declaration without one cannot be written in this format
and is counted in ``skipped``.

Every cell that a spreadsheet would run as a formula (starting with ``= + - @``) is written with a
leading ``'`` (security-checklist.md K3, ASVS 1.2.10); ``registry.bulk_file`` removes it again on
import. Exports are copies of register data, a loggable event under NEN 7513 ("copying ...
transfers to other systems"), so each one appends a ``register.export`` audit record.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry.audit import GENESIS_HASH
from registry.bulk_file import FORMULA_PREFIXES, ORGANISATION_COLUMNS, STAFF_COLUMNS, Kind
from registry.bulk_rows import first_day, last_day
from registry.db import read_session, transaction
from registry.identifiers import Ura
from registry.models import AuditRecord, Declaration, Employment, Organisation, Professional
from registry.staff import AuditContext, record_change

__all__ = [
    "ExportResult",
    "audit_lines",
    "export_audit",
    "export_csv",
    "guard_cell",
]


def guard_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would treat as a formula with ``'`` (K3)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


@dataclass(frozen=True)
class ExportResult:
    rows: int
    skipped: int = 0


def _organisation_rows(session: Session, ura: str | None) -> Iterator[list[str]]:
    statement = select(Organisation).order_by(col(Organisation.ura))
    if ura is not None:
        statement = statement.where(Organisation.ura == ura)
    for row in session.exec(statement):
        yield [row.ura, row.naam, row.agb_code or "", row.categorie]


def _staff_numbers(session: Session, ura: str | None) -> dict[tuple[str, str], list[str]]:
    statement = select(Employment).join(
        Organisation, col(Organisation.id) == col(Employment.organisation_id)
    )
    if ura is not None:
        statement = statement.where(Organisation.ura == ura)
    numbers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for link in session.exec(statement):
        numbers[(link.organisation_id, link.professional_id)].append(link.personeelsnummer)
    return numbers


def _staff_rows(session: Session, ura: str | None, skipped: list[int]) -> Iterator[list[str]]:
    numbers = _staff_numbers(session, ura)
    statement = (
        select(Declaration, Professional, Organisation)
        .join(Professional, col(Professional.id) == col(Declaration.professional_id))
        .join(Organisation, col(Organisation.id) == col(Declaration.organisation_id))
        .where(col(Declaration.status).in_(("active", "suspended")))
    )
    if ura is not None:
        statement = statement.where(Organisation.ura == ura)
    rows: list[list[str]] = []
    for declaration, professional, organisation in session.exec(statement):
        linked = sorted(numbers.get((organisation.id, professional.id), []))
        if not linked:
            skipped[0] += 1
            continue
        staff_number = (
            declaration.personeelsnummer if declaration.personeelsnummer in linked else linked[0]
        )
        until = last_day(declaration.valid_until)
        rows.append(
            [
                organisation.ura,
                staff_number,
                professional.voorletters,
                professional.voorvoegsel or "",
                professional.achternaam,
                professional.big_nummer or "",
                declaration.rol_code,
                first_day(declaration.valid_from).isoformat(),
                "" if until is None else until.isoformat(),
            ]
        )
    rows.sort(key=lambda r: (r[0], r[1], r[6]))
    yield from rows


def export_csv(
    engine: Engine, kind: Kind, out: TextIO, *, ura: str | None, context: AuditContext
) -> ExportResult:
    """Write ``kind`` (optionally one organisation's) as import CSV to ``out``."""
    checked = None if ura is None else Ura(ura).value
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ORGANISATION_COLUMNS if kind == "organisations" else STAFF_COLUMNS)
    skipped = [0]
    count = 0
    with read_session(engine) as session:
        rows = (
            _organisation_rows(session, checked)
            if kind == "organisations"
            else _staff_rows(session, checked, skipped)
        )
        for row in rows:
            writer.writerow([guard_cell(cell) for cell in row])
            count += 1
    with transaction(engine) as session:
        record_change(
            session,
            context,
            action="register.export",
            object_type="organisation" if kind == "organisations" else "declaration",
            object_id=checked or "*",
            detail={"kind": kind, "rows": count, "skipped": skipped[0]},
        )
    return ExportResult(count, skipped[0])


def audit_lines(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every audit record in ``seq`` order, as the JSON objects of the export."""
    after = 0
    while True:
        rows = session.exec(
            select(AuditRecord)
            .where(col(AuditRecord.seq) > after)
            .order_by(col(AuditRecord.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        for record in rows:
            yield {
                "seq": record.seq,
                "at": record.at.isoformat(),
                "actor": record.actor,
                "on_behalf_of": record.on_behalf_of,
                "action": record.action,
                "object_type": record.object_type,
                "object_id": record.object_id,
                "source": record.source,
                "outcome": record.outcome,
                "detail": record.detail,
                "prev_hash": record.prev_hash,
                "hash": record.hash,
            }
            after = record.seq or after
            session.expunge(record)


def export_audit(engine: Engine, out: TextIO, *, context: AuditContext) -> tuple[int, str]:
    """Write the audit trail as JSON lines (one record per line, ASCII with \\u escapes, so no
    name can break a line: K7; keys sorted); returns
    the number of records and the last hash written. The export itself is then logged."""
    count, last = 0, GENESIS_HASH
    with read_session(engine) as session:
        for line in audit_lines(session):
            out.write(json.dumps(line, ensure_ascii=True, sort_keys=True) + "\n")
            count, last = count + 1, str(line["hash"])
    with transaction(engine) as session:
        record_change(
            session,
            context,
            action="audit.export",
            object_type="audit_record",
            object_id="*",
            detail={"records": count, "head": last},
        )
    return count, last
