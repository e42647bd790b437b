"""Grants behind access tokens in the in-process store (``idp.protocol.ports.GrantStore``)."""

from __future__ import annotations

from idp.protocol.models import Grant
from idp.state import _keys
from idp.state.memory._base import MemoryBase


class MemoryGrants(MemoryBase):
    def put_grant(self, grant: Grant, ttl: int) -> None:
        self._put(_keys.grant_key(grant.grant_id), grant.to_json(), ttl)

    def get_grant(self, grant_id: str) -> Grant | None:
        with self._lock:
            now = self._clock()
            if self._live(_keys.grant_revoked_key(grant_id), now) is not None:
                return None
            entry = self._live(_keys.grant_key(grant_id), now)
        return None if entry is None else Grant.from_json(entry[1])

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke the grant: tokens issued under it stop working (RFC 6749 §10.5). A marker
        makes the revocation win even if it arrives before ``put_grant`` (RFC 9700 §4.2.4)."""
        with self._lock:
            now = self._clock()
            self._set(_keys.grant_revoked_key(grant_id), "1", _keys.REVOKED_MARKER_TTL, now)
            self._entries.pop(_keys.grant_key(grant_id), None)
