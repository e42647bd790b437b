"""Build the state store named by one URL from the settings (ARCHITECTURE.md "idp/state")."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from idp.protocol.ports import StateStore
from idp.state.memory import MemoryStateStore
from idp.state.redis import RedisStateStore

__all__ = ["create_state_store"]

# Short timeouts: a slow Redis must fail a request fast, not exhaust the threadpool.
_SOCKET_TIMEOUT = 2
_HEALTH_CHECK_INTERVAL = 30
_DB_PATH = re.compile(r"/[0-9]+")


def create_state_store(url: str) -> StateStore:
    """``memory://`` for the in-process store; ``redis://host:port/db`` or ``rediss://`` (TLS)
    for Redis. Anything else raises :class:`ValueError`.

    The URL may hold a password, so error messages name only its scheme.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("state store URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme == "memory":
        if parts.netloc or parts.path or parts.query or parts.fragment:
            raise ValueError("state store URL: use exactly 'memory://' for the in-process store")
        return MemoryStateStore()
    if scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ValueError(
                f"state store URL: {scheme}:// needs a host, e.g. {scheme}://host:6379/0"
            )
        # redis-py silently falls back to db 0 on a path such as "/x"; refuse it instead.
        if parts.path not in ("", "/") and not _DB_PATH.fullmatch(parts.path):
            raise ValueError(f"state store URL: the path of a {scheme}:// URL must be /<db number>")
        client = redis.Redis.from_url(
            url,
            socket_timeout=_SOCKET_TIMEOUT,
            socket_connect_timeout=_SOCKET_TIMEOUT,
            health_check_interval=_HEALTH_CHECK_INTERVAL,
            # One quick retry, no exponential backoff: a readiness probe must answer fast.
            retry=Retry(NoBackoff(), 1),
        )
        return RedisStateStore(client)
    shown = f"{scheme}://" if scheme else "a URL without a scheme"
    raise ValueError(
        f"unsupported state store URL ({shown}): expected memory://, redis://host:port/db "
        "or rediss://host:port/db"
    )
