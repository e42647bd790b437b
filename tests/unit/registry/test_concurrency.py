"""Races between writers (security-checklist.md §2.6, NL3): exactly one wins, nothing is lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import Engine

from registry import audit, db, service
from registry.errors import Conflict

from .factories import ACTOR, T0, audit_actions, make_organisation, make_professional

ROUNDS = 10
THREADS = 3


def _race(calls: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> str:
        barrier.wait(timeout=30)
        try:
            call()
        except Conflict:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_same_declaration_from_several_threads(engine: Engine) -> None:
    make_professional(engine, "900000027")
    for n in range(ROUNDS):
        ura = f"9000{n:04d}"
        make_organisation(engine, ura)
        outcomes = _race(
            [
                lambda ura=ura: service.add_declaration(  # type: ignore[misc]
                    engine, "900000027", ura, "86.000", T0, actor=ACTOR
                )
            ]
            * THREADS
        )
        assert Counter(outcomes) == {"ok": 1, "conflict": THREADS - 1}, ura
    assert audit_actions(engine).count("declaration.add") == ROUNDS
    with db.read_session(engine) as session:
        assert audit.verify(session) is None


@pytest.mark.parametrize("threads", [6])
def test_issued_dezi_numbers_never_collide(engine: Engine, threads: int) -> None:
    issued: list[str] = []
    lock = threading.Lock()

    def enrol() -> None:
        record = service.enrol_professional(engine, "A.", None, "Visser", actor=ACTOR)
        with lock:
            issued.append(record.dezi_nummer)

    assert _race([enrol] * threads) == ["ok"] * threads
    assert len(set(issued)) == threads
    with db.read_session(engine) as session:
        assert audit.verify(session) is None
