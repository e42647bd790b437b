"""The Health contract, against the in-process and the Redis store alike (readiness probe)."""

from __future__ import annotations

from idp.protocol.ports import Health


def test_ping(store: Health) -> None:
    assert store.ping() is True
