"""A 10 MB staff file with bad rows mixed in (issue 4, "Bad input and faults"): every bad row is
reported with its line and reason, every good row is applied, and a second run changes nothing.

Most of the 10 MB is bad rows (long, malformed or breaking a rule), so the test stays fast; the
good rows go through the same batches and savepoints as in a real import. SQLite only: the
PostgreSQL path of the same code is covered by ``test_bulk`` and ``test_import_crash``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from registry import audit, db
from registry.bulk import load_import_file, run_import
from tests.unit.registry.bulk_support import (
    ADMIN,
    STAFF_HEADER,
    audit_count,
    import_organisations,
    staff_line,
)

TARGET_BYTES = 10 * 1024 * 1024
GOOD_ROWS = 300
URAS = ("90000101", "90000102")
LONG = "x" * 129  # one past the name limit
PAD = {"voorletters": "J." * 60, "voorvoegsel": "van der " * 15}  # long but valid: fewer rows


def bad_line(n: int) -> tuple[str, str]:
    """A bad row and the start of its reason."""
    ura, number, name = URAS[n % 2], f"B{n}", "Jansen-" + "de Vries" * 14
    kind = n % 8
    if kind == 0:
        return staff_line(ura, number, LONG, **PAD), "achternaam: must be at most 128 characters"
    if kind == 1:
        line = staff_line(ura, number, name, rol="12.345", **PAD)
        return line, "rol_code: unknown role code"
    if kind == 2:
        return staff_line("9000010", number, name, **PAD), "ura: must be exactly 8 digits"
    if kind == 3:
        line = staff_line(ura, number, name, rol="01.015", **PAD)
        return line, "big_nummer: role 01.015"
    if kind == 4:
        line = staff_line("90000999", number, name, **PAD)
        return line, "ura: organisation 90000999 is not"
    if kind == 5:
        line = staff_line(ura, number, "<script>alert(1)</script>", vanaf="2025-13-01", **PAD)
        return line, "geldig_vanaf: must be a date"
    if kind == 6:
        return f"{ura},{number},J.,,{name},,86.000", "expected 9 fields, found 7"
    return staff_line(
        URAS[0], "G0", "Jansen 0", voorvoegsel="van 't"
    ), "rol_code: duplicate of line 2"


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[Path, dict[int, str], int]:
    rng = random.Random(7513)
    lines = [STAFF_HEADER, staff_line(URAS[0], "G0", "Jansen 0", voorvoegsel="van 't")]
    reasons: dict[int, str] = {}
    good = 1
    size = len(STAFF_HEADER) + 2
    n = 0
    while size < TARGET_BYTES or good < GOOD_ROWS:
        if good < GOOD_ROWS and (rng.random() < 0.01 or size > TARGET_BYTES * 0.9):
            line = staff_line(URAS[good % 2], f"G{good}", f"Jansen {good}", voorvoegsel="van 't")
            good += 1
        else:
            line, reason = bad_line(n)
            reasons[len(lines) + 1] = reason
            n += 1
        lines.append(line)
        size += len(line.encode()) + 2
    path = tmp_path / "staff.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path, reasons, good


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'large.db'}")
    db.upgrade(engine)
    return engine


def test_ten_megabytes_with_bad_rows(
    sqlite_engine: Engine, big_file: tuple[Path, dict[int, str], int]
) -> None:
    path, reasons, good = big_file
    assert path.stat().st_size >= TARGET_BYTES
    import_organisations(sqlite_engine, *URAS)
    parsed = load_import_file(path)
    report = run_import(sqlite_engine, parsed, ADMIN)
    assert report.counts == {
        "created": good,
        "updated": 0,
        "unchanged": 0,
        "rejected": len(reasons),
    }
    assert report.exit_code == 1
    for result in report.results:
        if result.outcome == "rejected":
            assert result.reasons[0].startswith(reasons[result.line]), result
    records = audit_count(sqlite_engine)
    again = run_import(sqlite_engine, parsed, ADMIN)
    assert again.counts["unchanged"] == good
    assert audit_count(sqlite_engine) == records
    with db.read_session(sqlite_engine) as session:
        assert audit.verify(session) is None
    sqlite_engine.dispose()
