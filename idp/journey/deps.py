"""The ports a journey step works with, wired once by ``idp.app`` (and by the CLI).

Every step is a plain synchronous function over these ports. ``blocking`` says whether any of
them does network or disk I/O on the hot path (Redis, a database): the web adapter then runs a
step in the threadpool, once per HTTP request; with the in-process store and the caches warm a
step runs inline, without a thread hop (ARCHITECTURE.md "idp/web").
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.authn.base import LoginMethod
from idp.protocol.authorization_code import AuthorizationCodeGrant
from idp.protocol.config import ProviderConfig
from idp.protocol.logout import LogoutService
from idp.protocol.ports import ClientStore, ClientView, ConsentStore, Register, StateStore
from idp.protocol.session import SessionPolicy
from idp.protocol.userinfo_jwe import DeziUserinfo

__all__ = ["Journey"]


@dataclass(frozen=True, slots=True)
class Journey:
    config: ProviderConfig
    policy: SessionPolicy
    transaction_ttl: int  # seconds a login transaction may take
    state: StateStore
    clients: ClientStore  # cached (idp.clients.ClientCache): no database on the hot path
    register: Register
    consents: ConsentStore
    code_grant: AuthorizationCodeGrant
    login_methods: dict[str, LoginMethod]
    logout: LogoutService
    cookie_secret: bytes
    dezi: DeziUserinfo | None
    blocking: bool = False

    def client(self, client_id: str) -> ClientView | None:
        return self.clients.get_client(client_id)

    def client_name(self, client_id: str) -> str:
        client = self.clients.get_client(client_id)
        return client.name if client is not None else client_id

    def sends_verklaring(self, client_id: str) -> bool:
        """Clients with an encryption key receive the Dezi verklaring (DECISIONS.md #14)."""
        client = self.clients.get_client(client_id)
        return client is not None and self.dezi is not None and self.dezi.has_encryption_key(client)
