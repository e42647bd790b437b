"""Revocation of verklaringen: Dezi v0.7 §6 (dezi-interface.md §2.7).

**Status per verklaring** (``GET /status/v1/verklaring/{verklaring_id}``): ``{"verklaringId":
…, "status": …}``. v0.7 names only ``actief``; the other values are ours, in this order of
precedence:

- ``ingetrokken`` (revoked): the declaration was revoked, or its organisation has ended;
- ``geschorst`` (suspended): the declaration or its organisation is suspended; may return to
  ``actief``;
- ``verlopen`` (expired): the declaration's status is expired or its ``valid_until`` has passed;
- ``nog_niet_geldig`` (not yet valid): ``valid_from`` lies ahead, or the organisation is still
  pending; no verklaring can exist yet;
- ``actief``: usable now, exactly when the login path would use it (``Register.usable_*``).

**Signed list** (``GET /revocatiecontrole/v1``, ``application/jose``): a JWS signed with the
eSeal key (header ``jku`` + ``kid``), payload ``jti iss exp nbf json_schema ververs_tijdstip
revocaties[{verklaringId, revocatieTijdstip}]``. It lists every declaration that is not usable
for a reason other than time (its own status is not active, or its organisation is suspended or
ended), so that a relying party that checks only the list never accepts what the status endpoint
would refuse. Entries leave the list
once every verklaring they could cover has expired (revocation older than the verklaring
lifetime, or ``valid_until`` passed), which keeps the list small.

Freshness (DECISIONS.md #11): the list is made on request and reused for at most
``cache_seconds`` (30 s), so it reflects a change within 30 s, well inside the 60 s the decision
allows; ``ververs_tijdstip`` tells relying parties to fetch again 60 s after ``nbf``, and ``exp``
(15 min) is when they must stop relying on a list they could not refresh. ``exp``/``nbf`` are
RFC 7519 NumericDates: v0.7's example shows strings, which standard JWT validators refuse; a
consumer that follows the example with ``int(...)`` reads both. Times inside the list are ISO 8601
with an offset (UTC), as in v0.7's ``revocatieTijdstip`` example.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from idp.protocol.errors import IdpError
from idp.protocol.ports import DeclarationStatusView, RevocationSource
from idp.protocol.verklaring import REVOCATION_LIST_SCHEMA, VerklaringIssuer, canonical_uuid

ACTIEF = "actief"
INGETROKKEN = "ingetrokken"
GESCHORST = "geschorst"
VERLOPEN = "verlopen"
NOG_NIET_GELDIG = "nog_niet_geldig"
STATUS_VALUES: tuple[str, ...] = (ACTIEF, INGETROKKEN, GESCHORST, VERLOPEN, NOG_NIET_GELDIG)

LIST_CACHE_SECONDS = 30
LIST_REFRESH_SECONDS = 60
LIST_VALIDITY_SECONDS = 15 * 60


class MalformedVerklaringId(IdpError):
    """The path does not hold a UUID (answered 400, RFC 9457 problem)."""


def verklaring_status(record: DeclarationStatusView, at: datetime) -> str:
    """The Dezi status word for a declaration at ``at`` (precedence in the module docstring)."""
    if record.status == "revoked" or record.organisation_status == "ended":
        return INGETROKKEN
    if record.status == "suspended" or record.organisation_status == "suspended":
        return GESCHORST
    if record.status == "expired" or (record.valid_until is not None and record.valid_until <= at):
        return VERLOPEN
    if record.valid_from > at or record.organisation_status == "pending":
        return NOG_NIET_GELDIG
    return ACTIEF


def iso_time(moment: datetime | float) -> str:
    """ISO 8601 with offset, whole seconds, UTC (``2026-01-05T09:00:00+00:00``)."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class SignedList:
    """One generation of the revocation list."""

    token: str
    claims: dict[str, Any]
    generated_at: float

    @property
    def etag(self) -> str:
        return f'"{self.claims["jti"]}"'


class RevocationService:
    """The status endpoint's answer and the cached signed list, on the register's read side."""

    def __init__(
        self,
        register: RevocationSource,
        verklaring: VerklaringIssuer,
        *,
        clock: Callable[[], float] = time.time,
        cache_seconds: int = LIST_CACHE_SECONDS,
    ) -> None:
        if not 0 <= cache_seconds <= LIST_CACHE_SECONDS:
            raise ValueError("the list may be reused for at most 30 s (DECISIONS.md #11)")
        self._register = register
        self._verklaring = verklaring
        self._clock = clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._current: SignedList | None = None

    def status(self, raw_id: str) -> dict[str, str] | None:
        """The status body for ``raw_id``; ``None`` when the register does not know it."""
        verklaring_id = canonical_uuid(raw_id)
        if verklaring_id is None:
            raise MalformedVerklaringId("verklaring_id must be a UUID")
        record = self._register.declaration_status(verklaring_id)
        if record is None:
            return None
        at = datetime.fromtimestamp(self._clock(), UTC)
        return {"verklaringId": verklaring_id, "status": verklaring_status(record, at)}

    def current(self) -> SignedList:
        """The list, regenerated when the cached one is ``cache_seconds`` old."""
        now = self._clock()
        with self._lock:
            cached = self._current
            if cached is not None and 0 <= now - cached.generated_at < self.cache_seconds:
                return cached
        fresh = self._generate(now)
        with self._lock:
            self._current = fresh
        return fresh

    def max_age(self, signed: SignedList) -> int:
        """Seconds a cache may keep this generation (never more than it is reused here)."""
        age = self._clock() - signed.generated_at
        return max(0, int(self.cache_seconds - age))

    def invalidate(self) -> None:
        """Forget the cached list: the next request regenerates it (e.g. after a revocation)."""
        with self._lock:
            self._current = None

    def _generate(self, now: float) -> SignedList:
        at = datetime.fromtimestamp(now, UTC)
        since = at - timedelta(seconds=self._verklaring.ttl)
        entries = [
            {"verklaringId": r.declaration_id, "revocatieTijdstip": iso_time(r.revoked_at)}
            for r in self._register.revocations(since, at)
        ]
        issued = int(now)
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(32),
            "iss": self._verklaring.issuer,
            "exp": issued + LIST_VALIDITY_SECONDS,
            "nbf": issued,
            "json_schema": self._verklaring.schema_url(REVOCATION_LIST_SCHEMA),
            "ververs_tijdstip": iso_time(issued + LIST_REFRESH_SECONDS),
            "revocaties": entries,
        }
        return SignedList(self._verklaring.sign(claims), claims, now)
