"""Grants behind access tokens on Redis (``idp.protocol.ports.GrantStore``).

A grant and its revocation marker share a Cluster hash tag, so one ``MGET`` reads both.
"""

from __future__ import annotations

from collections.abc import Sequence

from idp.protocol.models import Grant
from idp.state import _keys
from idp.state.redis._base import RedisBase
from idp.state.redis.revocations import mark_keys


class RedisGrants(RedisBase):
    def put_grant(self, grant: Grant, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(_keys.grant_key(grant.grant_id), grant.to_json(), ex=ttl)

    def get_grant(self, grant_id: str) -> Grant | None:
        raw, revoked = self._client.mget(
            [_keys.grant_key(grant_id), _keys.grant_revoked_key(grant_id)]
        )
        return None if raw is None or revoked is not None else Grant.from_json(raw)

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke the grant: tokens issued under it stop working (RFC 6749 §10.5). A marker
        makes the revocation win even if it arrives before ``put_grant`` (RFC 9700 §4.2.4)."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(_keys.grant_revoked_key(grant_id), "1", ex=_keys.REVOKED_MARKER_TTL)
            pipe.delete(_keys.grant_key(grant_id))
            pipe.execute()

    def get_live_grant(self, grant_id: str, revocation_keys: Sequence[str]) -> Grant | None:
        """``MGET`` of the grant and its marker (one slot) and ``EXISTS`` of the revocation marks
        in one pipeline: one round trip. The marks lie in other Cluster slots: fine on
        standalone and Sentinel; on Cluster redis-py splits the pipeline per slot."""
        with self._client.pipeline(transaction=False) as pipe:
            pipe.mget([_keys.grant_key(grant_id), _keys.grant_revoked_key(grant_id)])
            if revocation_keys:
                pipe.exists(*mark_keys(revocation_keys))
            replies = pipe.execute()
        raw, revoked = replies[0]
        if raw is None or revoked is not None or (revocation_keys and replies[1]):
            return None
        return Grant.from_json(raw)
