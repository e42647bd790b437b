"""Writing one planned chunk of an import: Dezi numbers, rows, audit records, set-based.

In the chunk's transaction, after ``registry.audit.lock``: the new professionals get their Dezi
numbers from the counter in one go (``allocate_dezi_nummers``), then each table gets its new
rows in one ``COPY``/``executemany`` and its changed rows in one ``UPDATE … FROM``
(``registry.bulk_copy``), parents before children, and last the audit records, hash-chained in
row order in Python and inserted in one statement (security-checklist.md §3.2: the records
commit with the writes they record, or neither does).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from registry import audit
from registry.bulk_copy import insert_rows, update_rows
from registry.bulk_rows import ChunkPlan, Detail, Event, Importer
from registry.errors import InvariantViolation
from registry.models import (
    AuditRecord,
    Declaration,
    DeziNumberSequence,
    Employment,
    Organisation,
    OrganisationStatusChange,
    Professional,
    utcnow,
)
from registry.service import DEZI_NUMMER_COUNTER, DEZI_NUMMER_MAX

__all__ = ["allocate_dezi_nummers", "write_plan"]

_TABLES: dict[str, sa.Table] = {
    table.name: table
    for table in (
        Organisation.__table__,  # type: ignore[attr-defined]
        OrganisationStatusChange.__table__,  # type: ignore[attr-defined]
        Professional.__table__,  # type: ignore[attr-defined]
        Employment.__table__,  # type: ignore[attr-defined]
        Declaration.__table__,  # type: ignore[attr-defined]
        AuditRecord.__table__,  # type: ignore[attr-defined]
        DeziNumberSequence.__table__,  # type: ignore[attr-defined]
    )
}
_INSERT_ORDER = ("organisation", "organisation_status_change", "employment", "declaration")


def allocate_dezi_nummers(connection: sa.Connection, count: int) -> list[str]:
    """``count`` new Dezi numbers, in order: ``registry.service.issue_dezi_nummer`` ``count``
    times (the counter row locked, numbers already held skipped, the counter only going up),
    with one read of the taken numbers per stretch instead of one per number."""
    if count == 0:
        return []
    sequence, professional = _TABLES["dezi_number_sequence"], _TABLES["professional"]
    value = connection.execute(
        sa.select(sequence.c.next_value)
        .where(sequence.c.name == DEZI_NUMMER_COUNTER)
        .with_for_update()
    ).scalar()
    if value is None:
        raise InvariantViolation("the Dezi number counter is missing; run the migrations")
    numbers: list[str] = []
    value = int(value)
    while len(numbers) < count:
        if value > DEZI_NUMMER_MAX:
            raise InvariantViolation("no Dezi numbers are left to issue")
        end = min(value + 2 * (count - len(numbers)) + 16, DEZI_NUMMER_MAX + 1)
        taken = set(
            connection.execute(
                sa.select(professional.c.dezi_nummer).where(
                    professional.c.dezi_nummer >= f"{value:09d}",
                    professional.c.dezi_nummer <= f"{end - 1:09d}",
                )
            ).scalars()
        )
        for candidate in range(value, end):
            number = f"{candidate:09d}"
            if number not in taken:
                numbers.append(number)
                if len(numbers) == count:
                    value = candidate + 1
                    break
        else:
            value = end
    connection.execute(
        sequence.update().where(sequence.c.name == DEZI_NUMMER_COUNTER).values(next_value=value)
    )
    return numbers


def _resolve(value: str | Callable[[], str]) -> str:
    return value if isinstance(value, str) else value()


def _detail(event: Event, via: str | None) -> Detail:
    detail = event.detail if isinstance(event.detail, dict) else event.detail()
    # registry.staff.record_change: the access path goes last in the detail.
    return dict(detail) if via is None else {**detail, "via": via}


def write_plan(connection: sa.Connection, plan: ChunkPlan, importer: Importer) -> None:
    """Write ``plan`` in ``connection``'s transaction (which holds the audit lock)."""
    for person, number in zip(
        plan.new_people, allocate_dezi_nummers(connection, len(plan.new_people)), strict=True
    ):
        person.dezi_nummer = number
    if "organisation" in plan.inserts:
        insert_rows(connection, _TABLES["organisation"], plan.inserts["organisation"])
    now = utcnow()
    insert_rows(
        connection,
        _TABLES["professional"],
        [
            {
                "id": p.id,
                "dezi_nummer": p.number(),
                "big_nummer": p.big_nummer,
                "voorletters": p.voorletters,
                "voorvoegsel": p.voorvoegsel,
                "achternaam": p.achternaam,
                "created_at": now,
                "updated_at": now,
            }
            for p in plan.new_people
        ],
    )
    for name in _INSERT_ORDER[1:]:
        insert_rows(connection, _TABLES[name], plan.inserts.get(name, []))
    for name, changed in plan.updates.items():
        by_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
        for row in changed.values():  # one statement per set of changed columns
            by_columns.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_columns.values():
            update_rows(connection, _TABLES[name], rows)
    context = importer.context
    entries = (
        audit.Entry(
            actor=context.actor,
            on_behalf_of=context.on_behalf_of,
            source=context.source,
            action=event.action,
            object_type=event.object_type,
            object_id=_resolve(event.object_id),
            outcome="success",
            detail=_detail(event, context.via),
        )
        for event in plan.events
    )
    if plan.events:
        insert_rows(connection, _TABLES["audit_record"], audit.chain(connection, entries))
