"""The client under every part of the Redis store, and reply helpers they share."""

from __future__ import annotations

import redis


def text(value: bytes | str) -> str:
    """A reply as text, whether the client decodes responses or not."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def seconds(pttl: int, fallback: int) -> int:
    """A ``PTTL`` reply in whole seconds, rounded up; ``fallback`` if the key just expired."""
    return -(-int(pttl) // 1000) if pttl > 0 else fallback


class RedisBase:
    """The client shared by the concern mixins of :class:`RedisStateStore`."""

    _client: redis.Redis
