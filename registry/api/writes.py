"""Changes through the REST API: conditional requests and idempotent retries.

- RFC 7232 §3.1 ``If-Match`` guards every update against lost updates: it is required (RFC 6585
  §3: 428 when missing) and compared, strongly, with the entity tag of the row as it is when the
  change runs: the row is read (and locked, on PostgreSQL) inside the service call's own
  transaction (``registry.db.transaction_hooks``), so no other writer can slip in between the
  check and the change. No match: 412, and nothing changes.
- ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header §2; security-checklist.md
  "nothing lost" §3.3, NL2): the answer to a POST is stored in the SAME transaction as the change,
  so either both exist or neither does. The same key with the same request (method, path, JSON
  body) gets the stored answer again, with no second effect; with another request, 422. Two
  concurrent requests with one key: the unique index lets one commit, the other is rolled back
  and answered from the winner's record. Keys belong to the caller (``Principal.actor``).

Every change itself goes through ``registry.service`` (or ``registry.staff``), which writes the
audit record in that same transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.requests import Request

from registry import audit
from registry.api.problems import ApiProblem, bad_request
from registry.db import TransactionHooks, read_session, transaction_hooks
from registry.errors import Conflict
from registry.models import ApiIdempotencyRecord, utcnow

__all__ = [
    "IDEMPOTENCY_TTL",
    "Answer",
    "Idempotency",
    "IfMatch",
    "idempotency_of",
    "if_match_of",
    "perform",
]

IDEMPOTENCY_TTL = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
_ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str


def idempotency_of(request: Request, body: dict[str, Any]) -> Idempotency | None:
    """The ``Idempotency-Key`` (a quoted sf-string or a bare token) and the fingerprint of the
    request it is bound to; ``None`` without the header."""
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if _KEY.fullmatch(value) is None:
        raise bad_request(
            "Idempotency-Key must be 1-255 visible ASCII characters", "Idempotency-Key"
        )
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{request.method}\n{request.url.path}\n{canonical}".encode())
    return Idempotency(value, digest.hexdigest())


@dataclass(frozen=True)
class IfMatch:
    """RFC 7232 §3.1: ``*`` or a list of entity tags, compared strongly (§2.3.2)."""

    any: bool
    tags: tuple[str, ...]

    def check(self, current: str) -> None:
        if self.any or current in self.tags:
            return
        raise ApiProblem(
            412,
            "The object changed since it was read (If-Match does not match its ETag)",
            code="precondition_failed",
            headers={"ETag": current},
        )


def if_match_of(request: Request) -> IfMatch:
    """The ``If-Match`` condition of an update; 428 when there is none (RFC 6585 §3)."""
    raw = request.headers.get("if-match")
    if raw is None or not raw.strip():
        raise ApiProblem(
            428,
            "Updates need If-Match with the ETag from a GET of the object",
            code="precondition_required",
        )
    value = raw.strip()
    if value == "*":
        return IfMatch(any=True, tags=())
    # Weak tags never match in a strong comparison; unreadable ones match nothing.
    tags = tuple(
        tag
        for tag in (part.strip() for part in value.split(","))
        if _ENTITY_TAG.fullmatch(tag) and not tag.startswith("W/")
    )
    return IfMatch(any=False, tags=tags)


def _stored(engine: Engine, principal: str, key: str) -> ApiIdempotencyRecord | None:
    with read_session(engine) as session:
        row = session.exec(
            select(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.principal == principal,
                ApiIdempotencyRecord.idempotency_key == key,
            )
        ).first()
    if row is None or row.created_at < utcnow() - IDEMPOTENCY_TTL:
        return None
    return row


def _replay(row: ApiIdempotencyRecord, idempotency: Idempotency) -> Answer:
    if row.fingerprint != idempotency.fingerprint:
        raise ApiProblem(
            422,
            "This Idempotency-Key was used for another request",
            code="idempotency_key_reused",
        )
    return Answer(
        status=row.status_code,
        body=dict(row.response.get("body", {})),
        headers=dict(row.response.get("headers", {})),
        replayed=True,
    )


def _store(session: Session, principal: str, idempotency: Idempotency, answer: Answer) -> None:
    earlier = session.exec(
        select(ApiIdempotencyRecord).where(
            ApiIdempotencyRecord.principal == principal,
            ApiIdempotencyRecord.idempotency_key == idempotency.key,
        )
    ).first()
    # A record past its lifetime makes way; a fresh one (a concurrent request that committed
    # first) stays, and the insert below then fails on the unique index: this change rolls back.
    if earlier is not None and earlier.created_at < utcnow() - IDEMPOTENCY_TTL:
        session.delete(earlier)
        session.flush()
    session.add(
        ApiIdempotencyRecord(
            principal=principal,
            idempotency_key=idempotency.key,
            fingerprint=idempotency.fingerprint,
            status_code=answer.status,
            response={"body": answer.body, "headers": answer.headers},
        )
    )
    session.flush()


def perform(
    engine: Engine,
    principal: str,
    *,
    change: Callable[[], object],
    answer: Callable[[Session], Answer],
    precondition: Callable[[Session], None] | None = None,
    idempotency: Idempotency | None = None,
) -> Answer:
    """Run ``change`` (one service call) with ``precondition`` checked first and ``answer``
    built last, both inside its transaction; store the answer under the key, if any."""
    if idempotency is not None:
        row = _stored(engine, principal, idempotency.key)
        if row is not None:
            return _replay(row, idempotency)
    answers: list[Answer] = []

    def before_commit(session: Session) -> None:
        result = answer(session)
        if idempotency is not None:
            _store(session, principal, idempotency, result)
        answers.append(result)

    def after_begin(session: Session) -> None:
        audit.track(session)  # ``answer`` finds what the change created in ``audit.appended``
        if precondition is not None:
            precondition(session)

    try:
        with transaction_hooks(TransactionHooks(after_begin, before_commit)):
            change()
    except Conflict:
        # Perhaps a concurrent request with the same key committed first.
        row = None if idempotency is None else _stored(engine, principal, idempotency.key)
        if row is None or idempotency is None:
            raise
        return _replay(row, idempotency)
    if not answers:  # pragma: no cover - every service call opens its transaction
        raise RuntimeError("the change ran no transaction")
    return answers[0]
