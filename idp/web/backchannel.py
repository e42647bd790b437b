"""Delivers back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5) without blocking the
user: each delivery is a background task with a bounded number of retries and a short timeout."""

from __future__ import annotations

import asyncio

import httpx

from idp.audit import get_logger
from idp.protocol.logout import BackchannelMessage

log = get_logger("idp.backchannel")

RETRY_DELAYS: tuple[float, ...] = (0.0, 1.0, 4.0)
TIMEOUT = 5.0


class BackchannelSender:
    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._transport = transport
        self._delays = delays
        self._tasks: set[asyncio.Task[bool]] = set()

    def dispatch(self, messages: list[BackchannelMessage]) -> list[asyncio.Task[bool]]:
        tasks = []
        for message in messages:
            task = asyncio.get_running_loop().create_task(self._deliver(message))
            self._tasks.add(task)  # keep a reference until done
            task.add_done_callback(self._tasks.discard)
            tasks.append(task)
        return tasks

    async def drain(self) -> None:
        """Wait for deliveries in flight (tests, and shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, message: BackchannelMessage) -> bool:
        async with httpx.AsyncClient(
            transport=self._transport, timeout=TIMEOUT, follow_redirects=False
        ) as client:
            for attempt, delay in enumerate(self._delays, start=1):
                if delay:
                    await asyncio.sleep(delay)
                try:
                    response = await client.post(
                        message.uri,
                        data={"logout_token": message.logout_token},
                        headers={"Cache-Control": "no-store"},
                    )
                except httpx.HTTPError as exc:
                    log.info(
                        "backchannel_failed",
                        client_id=message.client_id,
                        attempt=attempt,
                        error=type(exc).__name__,
                    )
                    continue
                # §2.8: 200 (or 204) is success; 400 means the RP refused it: do not retry.
                if response.status_code in (200, 204):
                    log.info("backchannel_delivered", client_id=message.client_id, attempt=attempt)
                    return True
                log.info(
                    "backchannel_refused",
                    client_id=message.client_id,
                    attempt=attempt,
                    status=response.status_code,
                )
                if response.status_code == 400:
                    return False
        return False
