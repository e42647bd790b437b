"""The register's append-only, hash-chained audit log.

Each record carries the NEN 7513 fields of security-checklist.md §4 (time, actor, on whose
behalf, action, object, access point, outcome) and is written in the SAME transaction as the
change it records, so both commit or neither does (§3.2). Records form a SHA-256 chain: each
``hash`` covers the canonical JSON of the record including ``prev_hash`` and ``seq``, so an
altered, inserted or deleted row breaks the chain at a point ``verify`` names (§3.5, test L2).
Removing the newest rows is only visible against a copy of the head kept elsewhere
(``head``), which is why records are shipped off the box.

Appends are serial: SQLite write transactions are (``registry.db``), and on PostgreSQL the
writer takes a transaction-scoped advisory lock before it reads the last hash. That read sees the
previous writer's commit under READ COMMITTED, PostgreSQL's default isolation; under a stricter
level a lost race shows up as a ``Conflict`` on ``seq``, never as a forked chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from registry.models import AuditRecord, utcnow

__all__ = [
    "GENESIS_HASH",
    "REDACTED_KEYS",
    "Entry",
    "append",
    "appended",
    "chain",
    "head",
    "lock",
    "record_hash",
    "track",
    "verify",
]

GENESIS_HASH = "0" * 64
_APPEND_LOCK_KEY = 0x61756474  # "audt"; any constant shared by all writers
_APPENDED = "registry.audit.appended"  # key in Session.info
# Session.info: (seq, hash) of the record this transaction appended last. Appends are serial
# (the lock above, or SQLite's write lock, is held to the end of the transaction), so the head
# need not be read again until the transaction ends or a savepoint rolls back (the bulk import
# appends thousands of records per transaction, one savepoint per row).
_HEAD = "registry.audit.head"

# Never in an audit record in clear (security-checklist.md L3; DECISIONS.md #12).
REDACTED_KEYS = frozenset(
    {
        "access_token",
        "bsn",
        "client_assertion",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "password",
        "refresh_token",
        "secret",
        "token",
    }
)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(k): "[redacted]" if str(k).lower() in REDACTED_KEYS else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _canonical_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """Redacted, and exactly what the JSON column gives back (tuples become lists; NaN is
    refused), so the hash computed now matches the one recomputed after a reload. A detail of
    plain values with no key to redact comes back as a copy without the JSON round trip (the
    bulk import appends tens of thousands per second)."""
    detail = detail or {}
    plain: dict[str, Any] = {}
    for key, value in detail.items():
        kind = type(value)
        if type(key) is not str or key.lower() in REDACTED_KEYS:
            break
        if kind is list and all(type(item) is str for item in value):
            plain[key] = list(value)
        elif kind is str or kind is bool or kind is int or value is None:
            plain[key] = value
        else:
            break
    else:  # text, booleans, ints, None and lists of text: what the JSON column gives back
        return plain
    result: dict[str, Any] = json.loads(json.dumps(_redact(detail), allow_nan=False))
    return result


def record_hash(record: AuditRecord) -> str:
    """SHA-256 (hex) over the canonical JSON of every field but ``hash``."""
    return _fields_hash({name: getattr(record, name) for name in _HASHED})


_HASHED = (
    "seq",
    "at",
    "actor",
    "on_behalf_of",
    "action",
    "object_type",
    "object_id",
    "source",
    "outcome",
    "detail",
    "prev_hash",
)


# One encoder, built once: json.dumps with options builds a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fields_hash(fields: dict[str, Any]) -> str:
    body = {name: fields[name] for name in _HASHED}
    body["at"] = fields["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = _CANONICAL.encode(body)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One record for ``chain`` (the bulk import's batched appends)."""

    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    on_behalf_of: str | None = None
    source: str | None = None
    detail: dict[str, Any] | None = None


def lock(connection: sa.Connection) -> None:
    """Take the append lock for the rest of ``connection``'s transaction (PostgreSQL; on
    SQLite the write transaction's lock serialises appends already). Take it BEFORE reading
    what the records will describe, so no other audited writer commits in between."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})


def chain(connection: sa.Connection, entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """The column values of the next records after the current head, in order, each with its
    ``seq``, ``prev_hash`` and ``hash`` exactly as ``append`` makes them (same canonical detail,
    same hash rule), for the caller to insert in one statement. Needs ``lock`` first."""
    table: sa.Table = AuditRecord.__table__  # type: ignore[attr-defined]
    last = connection.execute(
        sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))
    records: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        fields: dict[str, Any] = {
            "seq": seq,
            "at": utcnow(),
            "actor": entry.actor,
            "on_behalf_of": entry.on_behalf_of,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "source": entry.source,
            "outcome": entry.outcome,
            "detail": _canonical_detail(entry.detail),
            "prev_hash": prev_hash,
        }
        fields["hash"] = prev_hash = _spelled_out_hash(fields)
        records.append(fields)
    return records


_TEXT = json.encoder.encode_basestring  # what JSONEncoder uses for text with ensure_ascii=False


def _text_or_null(value: str | None) -> str:
    return "null" if value is None else _TEXT(value)


def _spelled_out_hash(fields: dict[str, Any]) -> str:
    """``_fields_hash`` for a record whose fields have the types of the columns, with the
    canonical JSON spelled out in its sorted key order instead of sorting a new dict per record
    (a quarter of the bulk import's time otherwise). A test holds the two equal."""
    at = fields["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = "".join(
        (
            '{"action":',
            _TEXT(fields["action"]),
            ',"actor":',
            _TEXT(fields["actor"]),
            ',"at":"',
            at,
            '","detail":',
            _CANONICAL.encode(fields["detail"]),
            ',"object_id":',
            _TEXT(fields["object_id"]),
            ',"object_type":',
            _TEXT(fields["object_type"]),
            ',"on_behalf_of":',
            _text_or_null(fields["on_behalf_of"]),
            ',"outcome":',
            _TEXT(fields["outcome"]),
            ',"prev_hash":',
            _TEXT(fields["prev_hash"]),
            ',"seq":',
            str(int(fields["seq"])),
            ',"source":',
            _text_or_null(fields["source"]),
            "}",
        )
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _last(session: Session) -> AuditRecord | None:
    return session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(1)).first()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    on_behalf_of: str | None = None,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add the next chained record to ``session``'s transaction and flush it.

    Call it last in a service function, after the change itself, so that the append lock is
    held for as short a time as possible and never while waiting on another lock.
    """
    head: tuple[int, str] | None = session.info.get(_HEAD)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            session.connection().execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
            )
        last = _last(session)
        head = (0, GENESIS_HASH) if last is None or last.seq is None else (last.seq, last.hash)
    record = AuditRecord(
        seq=head[0] + 1,
        at=utcnow(),
        actor=actor,
        on_behalf_of=on_behalf_of,
        action=action,
        object_type=object_type,
        object_id=object_id,
        source=source,
        outcome=outcome,
        detail=_canonical_detail(detail),
        prev_hash=head[1],
        hash="",
    )
    record.hash = record_hash(record)
    session.add(record)
    session.flush()
    session.info[_HEAD] = (head[0] + 1, record.hash)
    tracked: list[AuditRecord] | None = session.info.get(_APPENDED)
    if tracked is not None:
        tracked.append(record)
    return record


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_head_after_rollback(session: OrmSession, previous_transaction: object) -> None:
    session.info.pop(_HEAD, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_head_after_transaction(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: the lock is gone
        session.info.pop(_HEAD, None)


def track(session: Session) -> None:
    """From now on, remember the records ``append`` adds in ``session`` (``appended``). Opt-in,
    so that a bulk import's thousands of records per transaction are not held in memory."""
    session.info.setdefault(_APPENDED, [])


def appended(session: Session) -> list[AuditRecord]:
    """The records ``append`` added in ``session`` since ``track`` (what this change did)."""
    records: list[AuditRecord] = session.info.get(_APPENDED, [])
    return list(records)


def verify(session: Session, *, batch: int = 1000) -> int | None:
    """The ``seq`` of the first record whose link is broken, or ``None`` when the chain holds.

    A record is broken when its ``seq`` is not the previous one plus 1, its ``prev_hash`` is
    not the previous record's ``hash``, or its ``hash`` does not match its content.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    after = 0
    while True:
        rows = session.exec(
            select(AuditRecord)
            .where(col(AuditRecord.seq) > after)
            .order_by(col(AuditRecord.seq))
            .limit(batch)
        ).all()
        if not rows:
            return None
        for record in rows:
            seq = record.seq if record.seq is not None else -1
            if seq != expected_seq or record.prev_hash != prev_hash:
                return seq
            if record_hash(record) != record.hash:
                return seq
            expected_seq, prev_hash, after = seq + 1, record.hash, seq
            session.expunge(record)


def head(session: Session) -> tuple[int, str] | None:
    """``(seq, hash)`` of the newest record, to anchor outside the database."""
    last = _last(session)
    if last is None or last.seq is None:
        return None
    return last.seq, last.hash
