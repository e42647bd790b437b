"""The streamed import on SQLite and PostgreSQL: a file found unusable half-way changes nothing
(exit 2, one line), a re-import settles every row set-based without a write, the shortcut for
unchanged rows respects who imports, and the progress bar only appears on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from registry import bulk, cli
from registry.bulk import Importer, open_import_file, run_import
from registry.cli import build_registry_app
from registry.staff import AuditContext
from tests.unit.registry.bulk_support import (
    STAFF_HEADER,
    audit_count,
    csv_bytes,
    import_organisations,
    register_state,
    run,
    staff_line,
)

HOME_CARE, OTHER = "90000101", "90000102"
runner = CliRunner()


def many(count: int, ura: str = HOME_CARE) -> list[str]:
    return [staff_line(ura, f"HR{n:05d}", f"Verzorger{n}") for n in range(count)]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            "90000101,X1,J.,,Caf\xe9,,86.000,2025-01-01,".encode("latin-1"),
            "error: not UTF-8 (line 62,",
        ),
        (b'90000101,X1,"J.,,Open,,86.000,2025-01-01,', "error: line 62: malformed CSV"),
    ],
)
def test_a_file_unusable_far_down_changes_nothing(
    engine: Engine, tmp_path: Path, tail: bytes, message: str
) -> None:
    import_organisations(engine, HOME_CARE)
    state, records = register_state(engine), audit_count(engine)
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes(STAFF_HEADER, *many(60)) + tail + b"\n")
    app = build_registry_app(lambda _config: engine)
    result = runner.invoke(app, ["import", str(path), "--batch-size", "2"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith(message)
    assert len(result.output.strip().splitlines()) == 1
    assert register_state(engine) == state and audit_count(engine) == records


def test_a_re_import_is_settled_set_based(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_organisations(engine, HOME_CARE, OTHER)
    lines = [*many(1500), *many(500, OTHER), "90000101,,,,,,,,"]
    path = tmp_path / "staff.csv"
    path.write_bytes(csv_bytes(STAFF_HEADER, *lines))
    source = open_import_file(path)
    first = run_import(engine, source, admin())
    assert first.counts == {"created": 2000, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [r.line for r in first.results if r.outcome == "rejected"] == [2002]
    state, records = register_state(engine), audit_count(engine)

    def no_planning(*args: object) -> None:
        raise AssertionError("an unchanged row was planned row by row")

    monkeypatch.setattr("registry.bulk_staff.StaffPlanner._read", no_planning)
    seen: list[bulk.RowResult] = []
    again = run_import(engine, source, admin(), batch_size=700, on_result=seen.append)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2000, "rejected": 1}
    assert [r.line for r in seen] == list(range(2, 2003))  # every row, in file order
    assert [r.dezi_nummer for r in again.results] == [None]  # only the rejected row is kept
    assert register_state(engine) == state and audit_count(engine) == records


def admin() -> Importer:
    return Importer(AuditContext("cli:tester", "cli", via="import"), registry_admin=True)


def test_the_unchanged_shortcut_respects_who_imports(engine: Engine) -> None:
    import_organisations(engine, HOME_CARE, OTHER)
    line = staff_line(OTHER, "P1", "Jansen")
    assert run(engine, STAFF_HEADER, line).counts["created"] == 1
    org_admin = Importer(
        AuditContext("dezi:900000051", "api", on_behalf_of=HOME_CARE), False, frozenset({HOME_CARE})
    )
    report = run(engine, STAFF_HEADER, line, importer=org_admin)
    assert report.results[0].reasons == ("ura: not an organisation you administer",)
    mine = run(engine, STAFF_HEADER, staff_line(HOME_CARE, "P1", "Jansen"), importer=org_admin)
    assert mine.counts["created"] == 1
    assert (
        run(engine, STAFF_HEADER, staff_line(HOME_CARE, "P1", "Jansen"), importer=org_admin).counts[
            "unchanged"
        ]
        == 1
    )


def test_the_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with cli._progress_bar() as (checked, applied):
        assert (checked, applied) == (None, None)  # stderr is not a terminal under pytest

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    with cli._progress_bar() as (checked, applied):
        assert checked is not None and applied is not None
        checked(3)
        applied(2)
        applied(1)
