"""One-time state of login methods on Redis (``idp.protocol.ports.LoginMethodState``): WebAuthn
challenges, upstream OIDC logins, SAML post-backs and outstanding SAML requests. Each is taken
with ``GETDEL``, so at most once."""

from __future__ import annotations

from idp.protocol.models import UpstreamLogin
from idp.state import _keys
from idp.state.redis._base import RedisBase, text


class RedisLoginMethodState(RedisBase):
    def _keep(self, key: str, value: str, ttl: int) -> None:
        _keys.check_ttl(ttl)
        self._client.set(key, value, ex=ttl)

    def _take(self, key: str) -> str | None:
        raw = self._client.getdel(key)
        return None if raw is None else text(raw)

    # -- WebAuthn challenges (W3C WebAuthn L2 §13.4.3) -------------------------------------------

    def put_challenge(self, key: str, challenge: str, ttl: int) -> None:
        self._keep(_keys.challenge_key(key), challenge, ttl)

    def take_challenge(self, key: str) -> str | None:
        """A challenge is answered at most once."""
        return self._take(_keys.challenge_key(key))

    # -- upstream OIDC logins ----------------------------------------------------------------------

    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None:
        self._keep(_keys.upstream_login_key(state), login.to_json(), ttl)

    def take_upstream_login(self, state: str) -> UpstreamLogin | None:
        """A replayed ``state`` finds nothing."""
        raw = self._take(_keys.upstream_login_key(state))
        return None if raw is None else UpstreamLogin.from_json(raw)

    # -- SAML: post-back relay and outstanding requests ----------------------------------------

    def stash_postback(self, ticket: str, payload: str, ttl: int) -> None:
        self._keep(_keys.postback_key(ticket), payload, ttl)

    def take_postback(self, ticket: str) -> str | None:
        """A ticket is redeemed at most once."""
        return self._take(_keys.postback_key(ticket))

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None:
        self._keep(_keys.saml_request_key(tx_id), request_id, ttl)

    def take_saml_request(self, tx_id: str) -> str | None:
        """One response per request (SAML Profiles §4.1.4.3)."""
        return self._take(_keys.saml_request_key(tx_id))
