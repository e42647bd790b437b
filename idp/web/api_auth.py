"""``Authorization: Bearer`` → the registry API's ``Principal`` (``registry.api.Authenticate``).

RFC 6750 §2.1: the token only in the header. The token is validated by the protocol core
(``idp.protocol.api_access``: RFC 9068 §4, audience ``{issuer}/api/v1``, grant still in the state
store); the rights come from the register at THIS request, so a revoked admin grant, a removed
organisation link or a deactivated client takes effect at once:

- a client's own token (client credentials) acts as organisation administrator of exactly the
  client's organisations: none means nothing, never everything. The client must still be
  active and registered for ``client_credentials`` and the ``registry`` scope.
- a user's token (authorization code flow with scope ``registry``) carries the professional's
  admin grants: registry administrator (everything) or organisation administrator (their URAs).
  The client it was issued to must still be active and registered for the ``registry`` scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Mount

from idp.audit import get_logger
from idp.protocol.api_access import SCOPE_REGISTRY, ApiTokenValidator
from idp.protocol.client_credentials import GRANT_TYPE as CLIENT_CREDENTIALS
from idp.protocol.config import API_PATH, ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.ports import ClientStore, Signer, StateStore
from idp.web.outage import OUTAGES
from registry.api import Principal, create_api
from registry.repository import SqlRegister

log = get_logger("idp.api_auth")
MAX_TOKEN = 16 * 1024


class AdminDirectory(Protocol):
    """Admin grants in the register (``registry.SqlRegister`` satisfies it)."""

    def is_registry_admin(self, dezi_nummer: str) -> bool: ...

    def admin_organisations(self, dezi_nummer: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class ApiAuthenticator:
    validator: ApiTokenValidator
    clients: ClientStore
    admins: AdminDirectory

    async def __call__(self, request: Request) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
            return None
        return await run_in_threadpool(self.principal, token)

    def principal(self, token: str) -> Principal | None:
        try:
            access = self.validator.validate(token)
        except OAuthError as exc:
            log.info("api_token_rejected", error=exc.error, detail=exc.log_detail)
            return None
        client = self.clients.get_client(access.client_id)
        if client is None or not client.active or SCOPE_REGISTRY not in client.scopes:
            log.info("api_token_rejected", error="invalid_token", detail="client not allowed")
            return None
        if access.dezi_nummer is None:
            if CLIENT_CREDENTIALS not in client.grant_types:
                return None
            return Principal(
                actor=f"client:{client.client_id}",
                organisations=frozenset(client.organisations),
            )
        return Principal(
            actor=f"dezi:{access.dezi_nummer}",
            registry_admin=self.admins.is_registry_admin(access.dezi_nummer),
            organisations=frozenset(self.admins.admin_organisations(access.dezi_nummer)),
        )


def mount_api(config: ProviderConfig, state: StateStore, signer: Signer, engine: Engine) -> Mount:
    """The registry API at ``/api/v1``, authenticated with this OP's access tokens."""
    register = SqlRegister(engine)
    authenticate = ApiAuthenticator(
        validator=ApiTokenValidator(config=config, state=state, signer=signer),
        clients=register,
        admins=register,
    )
    api = create_api(engine, authenticate, base_path=API_PATH, outages=OUTAGES)
    mount = Mount(API_PATH, app=api)
    # Starlette's pattern stops at a newline (``.*``); an encoded one in a path would then
    # escape to the site's HTML 404 instead of the API's problem details.
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount
