"""Ending relying-party sessions when a declaration stops being usable (issue 6 item 8;
eIDAS CIR 2015/1502 §2.2.3 "timely and effective"; ASVS 7.4.2).

A background task asks the register every ``revocation_poll_interval`` seconds which
declarations were revoked or suspended (or whose organisation was suspended) since the last
look. For each, the grants that use it are revoked at once (their access tokens stop working)
and the relying parties that held them get a back-channel logout token for the session. The
worker's OP session goes on for her other organisations. Several workers may run the task: a
``first_use`` marker in the shared state store lets exactly one of them act on each revocation.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from idp.audit import get_logger
from idp.journey import sessions
from idp.protocol.ports import RevocationSource
from idp.web.services import Services

log = get_logger("idp.revocation")
LOOKBACK = timedelta(minutes=5)
HANDLED_TTL = 2 * 24 * 3600


async def end_declaration(svc: Services, dezi_nummer: str, declaration_id: str) -> int:
    """Revoke every live grant that uses the declaration and notify those relying parties."""
    affected, messages = await run_in_threadpool(
        sessions.end_declaration, svc.journey, dezi_nummer, declaration_id
    )
    svc.backchannel.dispatch(messages)
    return affected


class RevocationWatcher:
    def __init__(self, svc: Services, source: RevocationSource, interval: float) -> None:
        self._svc = svc
        self._source = source
        self._interval = interval
        self._last: datetime | None = None

    async def check_once(self) -> int:
        now = datetime.now(UTC)
        since = (self._last or now) - LOOKBACK
        revoked = await run_in_threadpool(self._source.revocations, since, now)
        ended = 0
        for item in revoked:
            marker = f"{item.declaration_id}|{item.revoked_at.isoformat()}"
            first = await run_in_threadpool(
                self._svc.state.first_use, "revocation-ended", marker, HANDLED_TTL
            )
            if first and item.dezi_nummer:
                count = await end_declaration(self._svc, item.dezi_nummer, item.declaration_id)
                if count:
                    log.info(
                        "declaration_sessions_ended", declaration=item.declaration_id[:8], rps=count
                    )
                ended += count
        self._last = now
        return ended

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check_once()
            except Exception as exc:  # keep watching; the next round looks back again
                log.error("revocation_watch_failed", error=type(exc).__name__)
