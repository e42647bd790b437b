"""The register's changes, applied to this instance's caches and to the state store's marks.

ARCHITECTURE.md "The hot path" and DECISIONS.md #11. The login path answers from what it read
once per login (``DeclarationSnapshot``) and from the client cache. A change in the register
that could make those stale becomes, before the call that made it returns,

- a *revocation mark* in the shared state store for the declaration, its organisation or its
  professional (``decl:``, ``org:``, ``prof:``), or for the person's consents (``consents:``):
  whoever finds a mark on a snapshot reads the register again instead of trusting it, so a
  revoked or suspended declaration yields no new code, token or userinfo answer;
- an invalidation of the client cache.

A change made in this process arrives through ``registry.changes.subscribe`` at its commit. A
change made by another process (the CLI, another host) reaches the state store directly when
that process is configured with the same shared store (the CLI wires this feed too), and every
instance also polls the audit trail every ``interval`` seconds (``poll_once``): that covers the
in-process store of a single-process demo and any writer that had no state store at hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from idp.audit import get_logger
from idp.client_cache import ClientCache
from idp.protocol.ports import StateStore
from registry.changes import Change, changes_since, last_seq, subscribe

__all__ = ["RegisterFeed", "marks_for"]

log = get_logger("idp.register_feed")

# Audit action → the kind of mark its object id gets.
_MARKED: dict[str, str] = {
    "declaration.revoke": "decl",
    "declaration.suspend": "decl",
    "declaration.update": "decl",
    "organisation.status": "org",
    "organisation.update": "org",
    "professional.update": "prof",
}


def marks_for(changes: Sequence[Change]) -> list[str]:
    """The revocation marks that these changes call for."""
    marks: list[str] = []
    for change in changes:
        kind = _MARKED.get(change.action)
        if kind is not None:
            marks.append(f"{kind}:{change.object_id}")
        elif change.action == "consent.withdraw":
            marks.append(f"consents:{change.actor}")
    return marks


class RegisterFeed:
    def __init__(
        self,
        engine: Engine,
        state: StateStore,
        clients: ClientCache | None,
        mark_ttl: int,
    ) -> None:
        self._engine = engine
        self._state = state
        self._clients = clients
        self._mark_ttl = mark_ttl
        self._seq = 0
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Listen to this process's commits and remember where the audit trail stands
        (again after ``close``: an app's lifespan may run several times in tests)."""
        if self._unsubscribe is not None:
            return
        self._seq = last_seq(self._engine)
        self._unsubscribe = subscribe(self._engine, self.apply)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def apply(self, changes: Sequence[Change]) -> None:
        marks = marks_for(changes)
        if marks:
            self._state.mark_revoked(marks, self._mark_ttl)
        if self._clients is not None and any(c.action.startswith("client.") for c in changes):
            self._clients.invalidate()
        if marks:
            log.info("register_changes_marked", marks=len(marks))

    def poll_once(self) -> int:
        """Apply the changes other processes made since the last look; returns how many."""
        changes = changes_since(self._engine, self._seq)
        if changes:
            self._seq = changes[-1].seq
            self.apply(changes)
        return len(changes)

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                while await run_in_threadpool(self.poll_once) >= 1000:
                    pass  # a burst (a bulk import): catch up before sleeping again
            except Exception as exc:  # keep polling; the next round starts where this one did
                log.error("register_feed_failed", error=type(exc).__name__)
