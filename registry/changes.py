"""What the register's writes changed, for the IdP's caches and revocation marks.

ARCHITECTURE.md "The hot path": relying parties and the declarations carried in a session are
read from caches, so every change that can make them stale must reach every instance. The audit
trail already records every change, in the same transaction as the change (NEN 7513), so it is
the change feed too:

- in this process, ``subscribe`` calls a listener right after the commit of a transaction that
  appended audit records (a revoke through the REST API or the CLI is visible before the call
  returns);
- across processes and hosts, ``changes_since`` reads the audit records after a sequence number,
  for a poller that runs every fraction of a second.

Listeners are keyed by the database URL, so an engine made by the CLI in the same process (tests,
``zorg-idp`` commands run in-process) notifies the app's listener as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

from registry.models import AuditRecord

__all__ = ["Change", "Listener", "changes_since", "last_seq", "subscribe"]

_PENDING = "registry_changes_pending"


@dataclass(frozen=True, slots=True)
class Change:
    """One audited change: ``seq`` is its audit sequence number (0 before it is known)."""

    seq: int
    action: str
    object_type: str
    object_id: str
    actor: str
    detail: dict[str, Any]


Listener = Callable[[Sequence[Change]], None]

_lock = threading.Lock()
_listeners: dict[str, list[Listener]] = {}


def _key(bind: Engine | sa.Connection) -> str:
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def subscribe(engine: Engine, listener: Listener) -> Callable[[], None]:
    """Call ``listener`` after every commit in this process that changed this database.
    Returns the function that unsubscribes."""
    key = _key(engine)
    with _lock:
        _listeners.setdefault(key, []).append(listener)

    def unsubscribe() -> None:
        with _lock:
            found = _listeners.get(key, [])
            if listener in found:
                found.remove(listener)
            if not found:
                _listeners.pop(key, None)

    return unsubscribe


def _wanted(session: OrmSession) -> str | None:
    if not _listeners:
        return None
    key = _key(session.get_bind())
    return key if key in _listeners else None


@event.listens_for(OrmSession, "before_flush")
def _collect(session: OrmSession, flush_context: object, instances: object) -> None:
    if _wanted(session) is None:
        return
    pending: list[AuditRecord] = session.info.setdefault(_PENDING, [])
    pending.extend(obj for obj in session.new if isinstance(obj, AuditRecord))


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction: object) -> None:
    if getattr(transaction, "parent", None) is None:  # the outermost one: committed or not
        session.info.pop(_PENDING, None)


@event.listens_for(OrmSession, "after_commit")
def _publish(session: OrmSession) -> None:
    # Records of a rolled-back savepoint were expunged (transient again): not published.
    records = [r for r in session.info.pop(_PENDING, []) if not sa.inspect(r).transient]
    key = _wanted(session) if records else None
    if key is None:
        return
    changes = [_change(r) for r in records]
    with _lock:
        listeners = list(_listeners.get(key, ()))
    for listener in listeners:
        listener(changes)


def _change(record: AuditRecord) -> Change:
    return Change(
        seq=record.seq or 0,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        actor=record.actor,
        detail=dict(record.detail or {}),
    )


def last_seq(engine: Engine) -> int:
    """The newest audit sequence number (0 for an empty trail)."""
    with engine.connect() as connection:
        value = connection.execute(sa.select(sa.func.max(AuditRecord.seq))).scalar()
    return int(value or 0)


def changes_since(engine: Engine, seq: int, *, limit: int = 1000) -> list[Change]:
    """The audited changes after ``seq``, oldest first, at most ``limit``."""
    table = AuditRecord.__table__  # type: ignore[attr-defined]
    statement = (
        sa.select(
            table.c.seq,
            table.c.action,
            table.c.object_type,
            table.c.object_id,
            table.c.actor,
            table.c.detail,
        )
        .where(table.c.seq > seq)
        .order_by(table.c.seq)
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    return [
        Change(
            seq=int(row.seq),
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            actor=row.actor,
            detail=dict(row.detail or {}),
        )
        for row in rows
    ]
