"""A process killed during an import, then the same import run again, ends in the same state as
one clean run, and the audit chain still verifies (issue 4, "Bad input and faults";
security-checklist.md §3, NL1).

The import runs as ``python -m idp registry import`` in a subprocess that is SIGKILLed once a
few batches have committed, so the database holds committed batches and one cut-off transaction.
The reference clean run goes to a separate SQLite database; the snapshots compare natural keys,
Dezi numbers included, not ids or timestamps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from registry import audit, db
from registry.bulk import parse_import_file, run_import
from registry.models import Declaration
from tests.unit.registry.bulk_support import (
    ADMIN,
    STAFF_HEADER,
    csv_bytes,
    import_organisations,
    register_state,
    staff_line,
)

ROOT = Path(__file__).resolve().parents[3]
URAS = ("90000101", "90000102", "90000103")
ROWS = 240
BATCH = 20
KILL_AFTER = 3 * BATCH  # declarations committed before the kill


def staff_file() -> bytes:
    lines = []
    for n in range(ROWS):
        ura = URAS[n % len(URAS)]
        if n % 37 == 5:
            lines.append(staff_line(ura, f"HR{n}", "Kapot", rol="99.999"))  # rejected
        elif n % 10 == 0:
            big = f"{n:011d}"  # same person at two organisations
            lines.append(staff_line(ura, f"HR{n}", f"Arts{n}", rol="01.015", big=big))
            lines.append(staff_line(URAS[(n + 1) % 3], f"X{n}", f"Arts{n}", rol="01.015", big=big))
        else:
            lines.append(staff_line(ura, f"HR{n}", f"Verzorger{n}", voorvoegsel="van 't"))
    return csv_bytes(STAFF_HEADER, *lines)


def declarations(engine: Engine) -> int:
    with db.read_session(engine) as session:
        return len(session.exec(select(Declaration.id)).all())


def cli(url: str, path: Path) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environment["IDP_DATABASE_URL"] = url
    environment["IDP_DATA_DIR"] = str(path.parent / "data")
    command = [sys.executable, "-m", "idp", "registry", "import", str(path)]
    return subprocess.Popen(
        [*command, "--batch-size", str(BATCH)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_killed_import_then_rerun_equals_one_clean_run(engine: Engine, tmp_path: Path) -> None:
    data = staff_file()
    path = tmp_path / "staff.csv"
    path.write_bytes(data)
    import_organisations(engine, *URAS)
    url = engine.url.render_as_string(hide_password=False)

    process = cli(url, path)
    deadline = time.monotonic() + 120
    while declarations(engine) < KILL_AFTER:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the import did not get going"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # reaps it and closes the pipes
    assert process.returncode == -signal.SIGKILL
    half = declarations(engine)
    expected = parse_import_file(data)

    rerun = cli(url, path)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 1, err.decode()  # some rows are rejected on purpose
    summary = out.decode().strip().splitlines()[-1]

    reference = db.create_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    db.upgrade(reference)
    import_organisations(reference, *URAS)
    clean = run_import(reference, expected, ADMIN, batch_size=BATCH)
    reference_state = register_state(reference)
    reference.dispose()

    assert 0 < half < declarations(engine) == clean.count("created")
    created_after_kill = clean.count("created") - int(summary.split(",")[0].split()[-1])
    assert created_after_kill > 0  # the rerun found committed rows as unchanged
    assert f"rejected {clean.count('rejected')}" in summary
    assert register_state(engine) == reference_state
    with db.read_session(engine) as session:
        assert audit.verify(session) is None
