"""``zorg-idp registry …`` through ``build_registry_app`` on SQLite and PostgreSQL, and its
wiring into ``zorg-idp`` itself."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from registry.cli import build_registry_app
from tests.unit.registry.bulk_support import ORG_HEADER, STAFF_HEADER, csv_bytes, staff_line

runner = CliRunner()
HOME_CARE = "90000101"


class Cli:
    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.app = build_registry_app(lambda _config: engine)
        self.tmp = tmp

    def __call__(self, *args: str, code: int = 0) -> str:
        result = runner.invoke(self.app, list(args))
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result.output

    def file(self, name: str, data: bytes) -> str:
        path = self.tmp / name
        path.write_bytes(data)
        return str(path)


@pytest.fixture
def cli(engine: Engine, tmp_path: Path) -> Cli:
    return Cli(engine, tmp_path)


def test_import_report_and_exit_codes(cli: Cli) -> None:
    orgs = cli.file("orgs.csv", csv_bytes(ORG_HEADER, f"{HOME_CARE},Thuiszorg De Linde,,T2"))
    assert "created 1, updated 0, unchanged 0, rejected 0" in cli("import", orgs)
    staff = cli.file(
        "staff.csv",
        csv_bytes(
            STAFF_HEADER.replace(",", ";"),
            staff_line(HOME_CARE, "P1", "Hoff", voorvoegsel="van 't").replace(",", ";"),
            staff_line(HOME_CARE, "P2", "Arts", rol="01.015").replace(",", ";"),
        ),
    )
    dry = cli("import", staff, "--dry-run", code=1)
    assert "semicolon-separated, detected from the header" in dry
    assert "line 3: rejected: big_nummer: role 01.015 requires a BIG number" in dry
    assert "dry run: nothing was changed" in dry
    report = cli.tmp / "report.csv"
    out = cli("import", staff, "--report", str(report), code=1)
    assert "created 1, updated 0, unchanged 0, rejected 1" in out
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert [(r["line"], r["outcome"]) for r in rows] == [("2", "created"), ("3", "rejected")]
    assert rows[0]["dezi_nummer"].isdigit() and len(rows[0]["dezi_nummer"]) == 9
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    assert "unchanged 1" in cli("import", staff, code=1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "error: the file is empty"),
        (b"naam;ura\n", "error: line 1: unknown header"),
        ("ura,naam,agb_code,categorie\nü\n".encode("utf-16"), "error: not UTF-8"),
    ],
)
def test_unusable_files_exit_2(cli: Cli, data: bytes, message: str) -> None:
    result = runner.invoke(cli.app, ["import", cli.file("bad.csv", data)])
    assert result.exit_code == 2
    assert result.output.strip().startswith(message)
    assert len(result.output.strip().splitlines()) == 1


def test_missing_file_and_bad_arguments(cli: Cli) -> None:
    assert "cannot be read" in cli("import", str(cli.tmp / "nope.csv"), code=2)
    assert "organisations or staff" in cli("export", "people", code=2)
    assert "ura: must be exactly 8 digits" in cli("organisation", "suspend", "123", code=1)
    assert "organisation 90000199 not found" in cli("organisation", "end", "90000199", code=1)


def test_export_reimports_unchanged_and_guards_formulas(cli: Cli) -> None:
    cli("organisation", "add", "--ura", HOME_CARE, "--naam", '=HYPERLINK("x")', "--categorie", "T2")
    staff = cli.file(
        "staff.csv",
        csv_bytes(
            STAFF_HEADER,
            staff_line(HOME_CARE, "-1", "@SUM(1)", voorletters="+J.", tot="2026-12-31"),
            staff_line(HOME_CARE, "P2", "Müller-Lüdenscheidt", rol="01.015", big="19022222201"),
        ),
    )
    cli("import", staff)
    out_orgs, out_staff = cli.tmp / "o.csv", cli.tmp / "s.csv"
    cli("export", "organisations", "--output", str(out_orgs))
    cli("export", "staff", "--ura", HOME_CARE, "--output", str(out_staff))
    assert out_orgs.read_text(encoding="utf-8").splitlines()[1] == (
        f'{HOME_CARE},"\'=HYPERLINK(""x"")",,T2'
    )
    exported = out_staff.read_text(encoding="utf-8").splitlines()
    assert exported[0] == STAFF_HEADER
    assert exported[1] == f"{HOME_CARE},'-1,'+J.,,'@SUM(1),,86.000,2025-01-01,2026-12-31"
    assert stat.S_IMODE(os.stat(out_staff).st_mode) == 0o600
    assert "unchanged 1" in cli("import", str(out_orgs))
    assert "unchanged 2" in cli("import", str(out_staff))
    assert cli("export", "staff", "--ura", "90000999").strip().splitlines()[0] == STAFF_HEADER


def test_records_commands(cli: Cli) -> None:
    cli(
        "organisation",
        "add",
        "--ura",
        HOME_CARE,
        "--naam",
        "Thuiszorg 't Hof",
        "--categorie",
        "T2",
        "--pending",
    )
    assert f"{HOME_CARE}\tpending\tT2\t-\tThuiszorg 't Hof" in cli("organisation", "list")
    assert "active" in cli("organisation", "activate", HOME_CARE)
    assert cli("organisation", "list", "--search", "%") == ""  # literal, not a wildcard
    assert HOME_CARE in cli("organisation", "list", "--search", "'t H", "--status", "active")
    out = cli(
        "professional",
        "add",
        "--voorletters",
        "I.",
        "--voorvoegsel",
        "van 't",
        "--achternaam",
        "Hoff",
        "--ura",
        HOME_CARE,
        "--personeelsnummer",
        "HR-1",
    )
    dezi = out.split()[-1]
    listed = cli("professional", "list", "--ura", HOME_CARE)
    assert f"{dezi}\t-\tI. van 't Hoff\t{HOME_CARE}/HR-1" in listed
    assert dezi in cli("professional", "list", "--search", "hoff")
    declared = cli(
        "declaration",
        "add",
        "--dezi-nummer",
        dezi,
        "--ura",
        HOME_CARE,
        "--rol-code",
        "86.000",
        "--geldig-vanaf",
        "2025-01-01",
        "--geldig-tot",
        "2026-12-31",
    )
    declaration_id = declared.split()[-1]
    line = cli("declaration", "list", "--dezi-nummer", dezi)
    assert f"{declaration_id}\tactive\t{HOME_CARE}\t{dezi}\t86.000\t2025-01-01\t2026-12-31" in line
    assert "suspended" in cli("declaration", "suspend", declaration_id, "--reason", "Onderzoek")
    assert "revoked" in cli("declaration", "revoke", declaration_id, "--reason", "Vergissing")
    assert declaration_id in cli("declaration", "list", "--status", "revoked")
    assert "a revoked declaration cannot be suspended" in cli(
        "declaration", "suspend", declaration_id, "--reason", "x", code=1
    )
    assert "role 01.015 requires a BIG registration" in cli(
        "declaration",
        "add",
        "--dezi-nummer",
        dezi,
        "--ura",
        HOME_CARE,
        "--rol-code",
        "01.015",
        "--geldig-vanaf",
        "2025-01-01",
        code=1,
    )
    assert "geldig_vanaf: must be a date" in cli(
        "declaration",
        "add",
        "--dezi-nummer",
        dezi,
        "--ura",
        HOME_CARE,
        "--rol-code",
        "86.000",
        "--geldig-vanaf",
        "1-1-2025",
        code=1,
    )
    assert "granted" in cli("admin", "grant", dezi, "org_admin", "--ura", HOME_CARE)
    assert "revoked" in cli("admin", "revoke", dezi, "org_admin", "--ura", HOME_CARE)
    assert "suspended" in cli("organisation", "suspend", HOME_CARE, "--reason", "Audit")
    assert "ended" in cli("organisation", "end", HOME_CARE)


def test_audit_verify_and_export(cli: Cli, engine: Engine) -> None:
    assert cli("audit", "verify").startswith("OK 0 records")
    cli(
        "organisation", "add", "--ura", HOME_CARE, "--naam", "A\u2028B", "--categorie", "T2", code=1
    )
    cli("organisation", "add", "--ura", HOME_CARE, "--naam", 'Zorg "aan" huis', "--categorie", "T2")
    cli("organisation", "add", "--ura", "90000102", "--naam", "Twee", "--categorie", "T2")
    verified = cli("audit", "verify")
    assert verified.startswith("OK 2 records, head ")
    out = cli.tmp / "audit.jsonl"
    cli("audit", "export", "--output", str(out))
    lines = out.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2]
    assert records[0]["actor"].startswith("cli:") and records[0]["source"] == "cli"
    assert records[1]["hash"] == verified.split()[-1]
    assert all(line.isascii() for line in lines)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_record DISABLE TRIGGER USER")
            connection.exec_driver_sql("UPDATE audit_record SET actor = 'x' WHERE seq = 2")
            connection.exec_driver_sql("ALTER TABLE audit_record ENABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_record_no_update")
            connection.exec_driver_sql("UPDATE audit_record SET actor = 'x' WHERE seq = 2")
    assert cli("audit", "verify", code=1).strip() == "BROKEN at seq 2"


def test_zorg_idp_has_the_registry_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idp.cli import app
    from tests.support_database import migrated_sqlite

    monkeypatch.setenv("IDP_DATABASE_URL", migrated_sqlite(tmp_path / "r.db"))
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path / "data"))
    orgs = tmp_path / "orgs.csv"
    orgs.write_bytes(csv_bytes(ORG_HEADER, f"{HOME_CARE},Thuiszorg,,T2"))
    result = runner.invoke(app, ["registry", "import", str(orgs)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["registry", "organisation", "list"])
    assert f"{HOME_CARE}\tactive" in listed.output
    monkeypatch.setenv("IDP_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    failed = runner.invoke(app, ["registry", "audit", "verify"])
    assert failed.exit_code == 3 and failed.output.startswith("error: database postgresql")
    assert "Connection refused" in failed.output and failed.output.count("\n") == 1
    monkeypatch.setenv("IDP_DATABASE_URL", "mysql://x@127.0.0.1/none")
    wrong = runner.invoke(app, ["registry", "audit", "verify"])
    assert wrong.exit_code == 2 and "unsupported database 'mysql'" in wrong.output
