"""Grants behind access tokens on Redis (``idp.protocol.ports.GrantStore``).

A grant and its revocation marker share a Cluster hash tag, so one ``MGET`` reads both.
"""

from __future__ import annotations

from idp.protocol.models import Grant
from idp.state import _keys
from idp.state.redis._base import RedisBase


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
