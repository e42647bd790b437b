"""Revocation marks on Redis (``idp.protocol.ports.RevocationMarks``).

The marks carry no Cluster hash tag: they spread over the slots, and redis-py's cluster client
splits the multi-key ``EXISTS`` and ``DEL`` per slot (a count and a delete, so the split is
harmless).
"""

from __future__ import annotations

from collections.abc import Sequence

from idp.state import _keys
from idp.state.redis._base import RedisBase


def mark_keys(keys: Sequence[str]) -> list[str]:
    return [_keys.revocation_mark_key(key) for key in keys]


class RedisRevocationMarks(RedisBase):
    def mark_revoked(self, keys: Sequence[str], ttl: int) -> None:
        """One ``SET EX`` per key in one pipeline (one round trip). Not MULTI/EXEC: each mark
        stands on its own, and the marks lie in different Cluster slots."""
        _keys.check_ttl(ttl)
        if not keys:
            return
        with self._client.pipeline(transaction=False) as pipe:
            for key in mark_keys(keys):
                pipe.set(key, "1", ex=ttl)
            pipe.execute()

    def any_revoked(self, keys: Sequence[str]) -> bool:
        """``EXISTS k1 k2 …`` counts the marked keys in one command."""
        if not keys:
            return False
        return bool(self._client.exists(*mark_keys(keys)))
