"""The bulk import on SQLite and PostgreSQL: outcomes per row, idempotence, rules, dry run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import audit, service
from registry.bulk import Importer, ImportReport
from registry.db import read_session
from registry.models import Employment, Organisation, Professional
from registry.repository import SqlRegister
from registry.staff import AuditContext, suspend_declaration
from tests.unit.registry.bulk_support import (
    ORG_HEADER,
    STAFF_HEADER,
    audit_count,
    import_organisations,
    register_state,
    run,
    staff_line,
)

HOME_CARE = "90000101"
OTHER = "90000102"
AT = datetime(2025, 6, 1, 12, tzinfo=UTC)


def outcomes(report: ImportReport) -> list[tuple[int, str]]:
    return [(r.line, r.outcome) for r in report.results]


def chain_holds(engine: Engine) -> bool:
    with read_session(engine) as session:
        return audit.verify(session) is None


def test_organisations_created_updated_unchanged(engine: Engine) -> None:
    lines = ["90000101,Thuiszorg De Linde,,T2", "90000102,Huisartsen 't Spaarne,01234567,H1"]
    first = run(engine, ORG_HEADER, *lines)
    assert first.counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert first.exit_code == 0
    records = audit_count(engine)
    again = run(engine, ORG_HEADER, *lines)
    assert again.counts["unchanged"] == 2 and audit_count(engine) == records
    changed = run(engine, ORG_HEADER, "90000101,Thuiszorg De Linde B.V.,,T2", "90000102,X,,H1")
    assert changed.counts["updated"] == 2
    with read_session(engine) as session:
        rows = {o.ura: o for o in session.exec(select(Organisation))}
    assert (rows[OTHER].naam, rows[OTHER].agb_code) == ("X", None)
    assert {o.status for o in rows.values()} == {"active"}
    assert chain_holds(engine)


def test_an_organisation_administrator_enrols_pending_and_only_changes_their_own(
    engine: Engine,
) -> None:
    import_organisations(engine, OTHER)
    org_admin = Importer(
        AuditContext("dezi:900000051", "api", on_behalf_of=HOME_CARE), False, frozenset({HOME_CARE})
    )
    report = run(
        engine, ORG_HEADER, f"{HOME_CARE},Nieuw,,T2", f"{OTHER},Overgenomen,,T2", importer=org_admin
    )
    assert outcomes(report) == [(2, "created"), (3, "rejected")]
    assert report.results[1].reasons == ("ura: not an organisation you administer",)
    with read_session(engine) as session:
        assert (
            session.exec(select(Organisation.status).where(Organisation.ura == HOME_CARE)).one()
            == "pending"
        )
    staff = run(engine, STAFF_HEADER, staff_line(OTHER, "P1", "Jansen"), importer=org_admin)
    assert staff.results[0].reasons == ("ura: not an organisation you administer",)


def test_forty_carers_twice_then_nothing_changes(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    lines = [staff_line(HOME_CARE, f"HR{n:03d}", f"Verzorger{n}") for n in range(38)]
    lines += [
        staff_line(
            HOME_CARE,
            "HR900",
            "Hoff",
            voorletters="I.",
            voorvoegsel="van 't",
            rol="30.000",
            big="39022222230",
        ),
        staff_line(
            HOME_CARE, "HR901", "Ancona", voorletters="M.", voorvoegsel="d'", tot="2026-12-31"
        ),
    ]
    first = run(engine, STAFF_HEADER, *lines, batch_size=7)
    assert first.counts == {"created": 40, "updated": 0, "unchanged": 0, "rejected": 0}
    assert len({r.dezi_nummer for r in first.results}) == 40
    state, records = register_state(engine), audit_count(engine)
    second = run(engine, STAFF_HEADER, *lines, batch_size=7)
    assert second.counts["unchanged"] == 40
    assert [r.dezi_nummer for r in second.results] == [r.dezi_nummer for r in first.results]
    assert register_state(engine) == state and audit_count(engine) == records
    assert chain_holds(engine)
    register = SqlRegister(engine)
    nurse = first.results[38].dezi_nummer
    assert nurse is not None
    [declaration] = register.usable_declarations(nurse, [], AT)
    assert (declaration.voorvoegsel, declaration.rol_code) == ("van 't", "30.000")


def test_changes_come_back_as_updated(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    run(engine, STAFF_HEADER, staff_line(HOME_CARE, "P1", "Jansen"))
    before = audit_count(engine)
    report = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen-de Vries", tot="2026-12-31"),
    )
    assert outcomes(report) == [(2, "updated")]
    with read_session(engine) as session:
        actions = [r.action for r in session.exec(select(audit.AuditRecord))][before:]
    assert sorted(actions) == ["declaration.update", "professional.update"]
    added_big = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen-de Vries", big="19022222201", tot="2026-12-31"),
    )
    assert outcomes(added_big) == [(2, "updated")]
    assert chain_holds(engine)


def test_geldig_tot_is_the_last_day_in_amsterdam(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    [row] = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen", vanaf="2025-01-01", tot="2026-12-31"),
    ).results
    assert row.dezi_nummer is not None
    register = SqlRegister(engine)

    def usable(*at: int) -> bool:
        return bool(
            register.usable_declarations(row.dezi_nummer or "", [], datetime(*at, tzinfo=UTC))
        )

    assert not usable(2024, 12, 31, 22, 59, 59)  # 23:59:59 in Amsterdam
    assert usable(2024, 12, 31, 23, 0, 0)  # midnight in Amsterdam
    assert usable(2026, 12, 31, 22, 59, 59)
    assert not usable(2026, 12, 31, 23, 0, 0)


def test_the_same_big_number_is_the_same_person(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE, OTHER)
    report = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen", rol="01.015", big="19022222201"),
        staff_line(
            OTHER, "X-9", "Jansen-Smit", voorletters="A.M.", rol="01.015", big="19022222201"
        ),
    )
    assert outcomes(report) == [(2, "created"), (3, "created")]
    assert report.results[0].dezi_nummer == report.results[1].dezi_nummer
    assert report.results[1].notes == (
        "name kept: the professional also works for another organisation",
    )
    with read_session(engine) as session:
        assert len(session.exec(select(Professional)).all()) == 1
        assert len(session.exec(select(Employment)).all()) == 2
    again = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen", rol="01.015", big="19022222201"),
        staff_line(
            OTHER, "X-9", "Jansen-Smit", voorletters="A.M.", rol="01.015", big="19022222201"
        ),
    )
    assert again.counts["unchanged"] == 2


def test_rows_that_break_a_rule_leave_no_trace(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    service.enrol_organisation(engine, "90000999", "Gestopt", "T2", actor="test")
    service.set_organisation_status(engine, "90000999", "ended", actor="test")
    doctor = staff_line(HOME_CARE, "P1", "Jansen", rol="01.015", big="19022222201")
    [first] = run(engine, STAFF_HEADER, doctor).results
    [declaration] = SqlRegister(engine).usable_declarations(first.dezi_nummer or "", [], AT)
    service.revoke_declaration(engine, declaration.declaration_id, "Vergissing", actor="test")
    state, records = register_state(engine), audit_count(engine)
    report = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P2", "Zonder", rol="01.015"),
        staff_line(HOME_CARE, "P1", "Jansen", rol="01.015", big="29022222202"),
        # Linked by BIG number (written), then refused: the link must go with the row.
        staff_line(HOME_CARE, "P5", "Jansen", rol="01.015", big="19022222201"),
        staff_line("90000888", "P1", "Jansen"),
        staff_line("90000999", "P1", "Jansen"),
    )
    assert [r.reasons[0].split(":")[0] for r in report.results] == [
        "big_nummer",
        "big_nummer",
        "rol_code",
        "ura",
        "ura",
    ]
    assert report.results[0].reasons == ("big_nummer: role 01.015 requires a BIG number",)
    assert "does not reinstate" in report.results[2].reasons[0]
    assert report.results[3].reasons == ("ura: organisation 90000888 is not enrolled",)
    assert report.results[4].reasons == ("ura: organisation 90000999 has ended",)
    assert report.exit_code == 1
    assert register_state(engine) == state and audit_count(engine) == records
    assert chain_holds(engine)


def test_duplicates_inside_one_file(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    report = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen"),
        staff_line(HOME_CARE, "P1", "Jansen"),
        staff_line(HOME_CARE, "P1", "Janssen", rol="87.000"),
        staff_line(HOME_CARE, "P1", "Jansen", rol="87.000"),
    )
    assert [(r.outcome, r.reasons) for r in report.results] == [
        ("created", ()),
        ("rejected", ("rol_code: duplicate of line 2 (same ura, personeelsnummer, role)",)),
        ("rejected", ("personeelsnummer: line 2 gives this person another name",)),
        ("created", ()),
    ]
    orgs = run(engine, ORG_HEADER, "90000105,A,,T2", "90000105,B,,T2")
    assert orgs.results[1].reasons == ("ura: duplicate of line 2",)


def test_revoked_stays_revoked_and_suspended_stays_suspended(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    line = staff_line(HOME_CARE, "P1", "Jansen", rol="86.000")
    nurse_line = staff_line(HOME_CARE, "P1", "Jansen", rol="87.000")
    run(engine, STAFF_HEADER, line, nurse_line)
    register = SqlRegister(engine)
    [result] = run(engine, STAFF_HEADER, line).results
    assert result.dezi_nummer is not None
    carer, nurse = sorted(
        register.usable_declarations(result.dezi_nummer, [], AT), key=lambda d: d.rol_code
    )
    service.revoke_declaration(engine, carer.declaration_id, "Vergissing", actor="test")
    suspend_declaration(engine, nurse.declaration_id, "Onderzoek", context=AuditContext("test"))
    report = run(
        engine,
        STAFF_HEADER,
        line,
        staff_line(HOME_CARE, "P1", "Jansen", rol="87.000", tot="2025-12-31"),
    )
    assert report.results[0].outcome == "rejected"
    assert "does not reinstate" in report.results[0].reasons[0]
    assert report.results[1].outcome == "updated"
    assert register.usable_declarations(result.dezi_nummer, [], AT) == []
    rehired = run(
        engine,
        STAFF_HEADER,
        staff_line(HOME_CARE, "P1", "Jansen", rol="86.000", vanaf="2026-01-01"),
    )
    assert rehired.results[0].outcome == "created"


def test_dry_run_reports_and_changes_nothing(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    state, records = register_state(engine), audit_count(engine)
    lines = [staff_line(HOME_CARE, f"P{n}", "Jansen") for n in range(5)] + ["1,2,3,4,5,6,7,8,9"]
    dry = run(engine, STAFF_HEADER, *lines, dry_run=True, batch_size=2)
    assert dry.counts == {"created": 5, "updated": 0, "unchanged": 0, "rejected": 1}
    assert dry.dry_run and dry.exit_code == 1
    assert register_state(engine) == state and audit_count(engine) == records
    real = run(engine, STAFF_HEADER, *lines)
    assert real.counts == dry.counts


def test_names_are_stored_exactly(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE)
    names = [
        ("IJsbrand", "van 't", "Hoff"),
        ("A.", "", "Müller-Lüdenscheidt"),
        ("M.", "d'", "Ancona"),
        ("<script>alert(1)</script>", "", "O\u2019Brien"),
    ]
    lines = [
        staff_line(HOME_CARE, f"P{n}", f'"{last}"', voorletters=f'"{first}"', voorvoegsel=prefix)
        for n, (first, prefix, last) in enumerate(names)
    ]
    report = run(engine, STAFF_HEADER, *lines)
    register = SqlRegister(engine)
    for result, (first, prefix, last) in zip(report.results, names, strict=True):
        found = register.find_professional(result.dezi_nummer or "")
        assert found is not None
        assert (found.voorletters, found.voorvoegsel, found.achternaam) == (
            first,
            prefix or None,
            last,
        )
