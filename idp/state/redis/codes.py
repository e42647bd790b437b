"""Authorization codes on Redis (``idp.protocol.ports.CodeStore``).

Keys hold the code's SHA-256, never the code; the record and its reuse marker share a Cluster
hash tag, so the one Lua script that redeems them works on Cluster too.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script

from idp.protocol.models import CodeRecord, CodeRedemption
from idp.state import _keys
from idp.state.redis._base import RedisBase, text

# KEYS[1] = zorg:code:{sha}, KEYS[2] = zorg:codeused:{sha} (same slot through the hash tag).
# Reply: {1, record} on first redemption, {2, grant_id} on reuse, {0} otherwise.
REDEEM_CODE_LUA = """
local record = redis.call('GETDEL', KEYS[1])
local marker = redis.call('GET', KEYS[2])
if record then
  if marker and string.sub(marker, 1, #ARGV[1]) == ARGV[1] then
    redis.call('SET', KEYS[2], ARGV[2] .. string.sub(marker, #ARGV[1] + 1), 'KEEPTTL')
  end
  return {1, record}
end
if marker and string.sub(marker, 1, #ARGV[2]) == ARGV[2] then
  return {2, string.sub(marker, #ARGV[2] + 1)}
end
return {0}
"""


def queue_code(pipe: Pipeline, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
    """The record and its ``pending`` reuse marker, both with ``EX``; the caller checked the
    TTLs."""
    digest = _keys.code_digest(code)
    pipe.set(_keys.code_key(digest), record.to_json(), ex=ttl)
    pipe.set(_keys.code_used_key(digest), _keys.MARKER_PENDING + record.grant_id, ex=reuse_window)


class RedisCodes(RedisBase):
    _redeem_script: Script  # REDEEM_CODE_LUA, registered by RedisStateStore

    def store_code(self, code: str, record: CodeRecord, ttl: int, reuse_window: int) -> None:
        """Record and reuse marker in one MULTI/EXEC, both with ``EX``, keyed by the SHA-256."""
        _keys.check_code_ttls(ttl, reuse_window)
        with self._client.pipeline(transaction=True) as pipe:
            queue_code(pipe, code, record, ttl, reuse_window)
            pipe.execute()

    def redeem_code(self, code: str) -> CodeRedemption:
        """Single use in one Lua script, atomic on the server (RFC 6749 §4.1.2: a code MUST NOT
        be used more than once). A later attempt within the reuse window reports the grant id so
        the caller can revoke what the first redemption issued (RFC 6749 §4.1.2; RFC 9700
        §4.2.4)."""
        digest = _keys.code_digest(code)
        reply: Any = self._redeem_script(
            keys=[_keys.code_key(digest), _keys.code_used_key(digest)],
            args=[_keys.MARKER_PENDING, _keys.MARKER_REDEEMED],
        )
        if not isinstance(reply, list) or not reply:
            raise redis.ResponseError(f"unexpected reply from the redeem script: {reply!r}")
        outcome: int = reply[0]
        if outcome == 1:
            return CodeRedemption(record=CodeRecord.from_json(reply[1]))
        if outcome == 2:
            return CodeRedemption(reused_grant_id=text(reply[1]))
        return CodeRedemption()
