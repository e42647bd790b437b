"""One-time state of login methods in the in-process store
(``idp.protocol.ports.LoginMethodState``): WebAuthn challenges, upstream OIDC logins, SAML
post-backs and outstanding SAML requests. Each is taken at most once (get and delete under the
lock)."""

from __future__ import annotations

from idp.protocol.models import UpstreamLogin
from idp.state import _keys
from idp.state.memory._base import MemoryBase


class MemoryLoginMethodState(MemoryBase):
    # -- WebAuthn challenges (W3C WebAuthn L2 §13.4.3) -------------------------------------------

    def put_challenge(self, key: str, challenge: str, ttl: int) -> None:
        self._put(_keys.challenge_key(key), challenge, ttl)

    def take_challenge(self, key: str) -> str | None:
        """A challenge is answered at most once."""
        return self._take(_keys.challenge_key(key))

    # -- upstream OIDC logins ----------------------------------------------------------------------

    def put_upstream_login(self, state: str, login: UpstreamLogin, ttl: int) -> None:
        self._put(_keys.upstream_login_key(state), login.to_json(), ttl)

    def take_upstream_login(self, state: str) -> UpstreamLogin | None:
        """A replayed ``state`` finds nothing."""
        raw = self._take(_keys.upstream_login_key(state))
        return None if raw is None else UpstreamLogin.from_json(raw)

    # -- SAML: post-back relay and outstanding requests ----------------------------------------

    def stash_postback(self, ticket: str, payload: str, ttl: int) -> None:
        self._put(_keys.postback_key(ticket), payload, ttl)

    def take_postback(self, ticket: str) -> str | None:
        """A ticket is redeemed at most once."""
        return self._take(_keys.postback_key(ticket))

    def put_saml_request(self, tx_id: str, request_id: str, ttl: int) -> None:
        self._put(_keys.saml_request_key(tx_id), request_id, ttl)

    def take_saml_request(self, tx_id: str) -> str | None:
        """One response per request (SAML Profiles §4.1.4.3)."""
        return self._take(_keys.saml_request_key(tx_id))
