"""Redis state store, shared by every worker on every host (ARCHITECTURE.md "Scale").

Uses the synchronous redis-py client: the protocol core runs in Starlette's threadpool. Every
key is written with ``EX`` so nothing outlives its purpose, and every single-use operation is one
atomic server-side command (``GETDEL``, ``SET NX``, one Lua script), never "read then delete".
Keys that one script touches share a Redis Cluster hash tag. Pipelines that span slots say so
where they are built: plain pipelines are split per slot by redis-py's cluster client, but a
MULTI/EXEC across slots (``put_session``, ``save_login``) works
on standalone and Sentinel only; ``create_state_store`` builds no Cluster client today.

Each module here implements one port of ``idp.protocol.ports``; :class:`RedisStateStore`
composes them.
"""

from __future__ import annotations

import redis

from idp.state.redis.codes import REDEEM_CODE_LUA, RedisCodes
from idp.state.redis.counters import RedisCounters
from idp.state.redis.grants import RedisGrants
from idp.state.redis.login_methods import RedisLoginMethodState
from idp.state.redis.replay import RedisReplayCache
from idp.state.redis.revocations import RedisRevocationMarks
from idp.state.redis.sessions import RedisSessions
from idp.state.redis.transactions import RedisTransactions

__all__ = ["RedisStateStore"]


class RedisStateStore(
    RedisTransactions,
    RedisCodes,
    RedisGrants,
    RedisSessions,
    RedisReplayCache,
    RedisCounters,
    RedisLoginMethodState,
    RedisRevocationMarks,
):
    """:class:`idp.protocol.ports.StateStore` on Redis (standalone, Sentinel or Cluster).

    The store owns ``client``: :meth:`close` closes its connection pool. Responses may be bytes
    or str (``decode_responses`` either way).
    """

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._redeem_script = client.register_script(REDEEM_CODE_LUA)

    # -- Health ------------------------------------------------------------------------------------

    def ping(self) -> bool:
        """False, not an exception, when Redis cannot be reached (readiness probe)."""
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()
