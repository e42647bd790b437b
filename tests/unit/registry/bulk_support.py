"""Helpers for the import tests: CSV builders, running an import, and a snapshot of the register
that leaves out what legitimately differs between two equal runs (ids and timestamps)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry.bulk import Importer, ImportReport, parse_import_file, run_import
from registry.bulk_file import ORGANISATION_COLUMNS, STAFF_COLUMNS
from registry.db import read_session
from registry.models import (
    AuditRecord,
    Declaration,
    DeziNumberSequence,
    Employment,
    Organisation,
    Professional,
)
from registry.staff import AuditContext

ADMIN = Importer(AuditContext("cli:tester", "cli", via="import"), registry_admin=True)
ORG_HEADER = ",".join(ORGANISATION_COLUMNS)
STAFF_HEADER = ",".join(STAFF_COLUMNS)


def csv_bytes(header: str, *lines: str) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def staff_line(
    ura: str,
    number: str,
    achternaam: str,
    *,
    rol: str = "86.000",
    big: str = "",
    voorletters: str = "J.",
    voorvoegsel: str = "",
    vanaf: str = "2025-01-01",
    tot: str = "",
) -> str:
    return f"{ura},{number},{voorletters},{voorvoegsel},{achternaam},{big},{rol},{vanaf},{tot}"


def run(
    engine: Engine,
    header: str,
    *lines: str,
    importer: Importer = ADMIN,
    dry_run: bool = False,
    batch_size: int = 500,
) -> ImportReport:
    parsed = parse_import_file(csv_bytes(header, *lines))
    return run_import(engine, parsed, importer, dry_run=dry_run, batch_size=batch_size)


def import_organisations(engine: Engine, *uras: str) -> None:
    report = run(engine, ORG_HEADER, *(f"{ura},Organisatie {ura},,T2" for ura in uras))
    assert report.count("rejected") == 0


def audit_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return len(session.exec(select(AuditRecord.seq)).all())


def register_state(engine: Engine) -> dict[str, object]:
    """Everything an import decides, keyed by natural keys, without ids or timestamps."""
    with read_session(engine) as session:
        organisations = {
            (o.ura, o.naam, o.agb_code, o.categorie, o.status)
            for o in session.exec(select(Organisation))
        }
        people = {p.id: p for p in session.exec(select(Professional))}
        by_id = {o.id: o.ura for o in session.exec(select(Organisation))}
        professionals = {
            (p.dezi_nummer, p.big_nummer, p.voorletters, p.voorvoegsel, p.achternaam)
            for p in people.values()
        }
        links = {
            (by_id[e.organisation_id], e.personeelsnummer, people[e.professional_id].dezi_nummer)
            for e in session.exec(select(Employment))
        }
        declarations = sorted(
            (
                people[d.professional_id].dezi_nummer,
                by_id[d.organisation_id],
                d.rol_code,
                d.valid_from.astimezone(UTC).isoformat(),
                None if d.valid_until is None else d.valid_until.astimezone(UTC).isoformat(),
                d.status,
                d.personeelsnummer,
            )
            for d in session.exec(select(Declaration))
        )
        counter = session.exec(select(DeziNumberSequence.next_value)).one()
        actions = sorted(
            (r.action, r.object_type)
            for r in session.exec(select(AuditRecord).order_by(col(AuditRecord.seq)))
        )
    return {
        "organisations": organisations,
        "professionals": professionals,
        "links": links,
        "declarations": declarations,
        "counter": counter,
        "audit": actions,
    }
