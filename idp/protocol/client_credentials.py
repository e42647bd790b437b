"""The client credentials grant: RFC 6749 §4.4, for the registry API only.

- §4.4 / §2.1: only confidential clients; here only ``private_key_jwt`` (DECISIONS.md #3), checked
  by ``ClientAuthenticator`` before this grant sees the request (``token_endpoint``).
- §4.4.2: the client must be registered for ``client_credentials`` (RFC 7591 §2 ``grant_types``),
  else ``unauthorized_client`` (§5.2).
- §3.3: the only scope is ``registry``, and only for clients registered with it; no ``scope``
  parameter means ``registry``. Anything else is ``invalid_scope``.
- §4.4.3: "A refresh token SHOULD NOT be included": none is, and no ID token.
- RFC 9068 §2.2: the access token is a JWT with ``typ: at+jwt``, ``aud`` the registry API
  (``{issuer}/api/v1``) alone, ``sub`` = ``client_id`` (no resource owner), at most one hour
  (DECISIONS.md #8). Its grant is kept in the state store so that it can be revoked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from idp.protocol.api_access import SCOPE_REGISTRY
from idp.protocol.authorization_code import TokenResponse
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.models import Grant
from idp.protocol.ports import ClientView, GrantStore, Signer
from idp.protocol.tokens import new_id

GRANT_TYPE = "client_credentials"
MAX_SCOPE = 256


def unauthorized_client(description: str, log_detail: str | None = None) -> OAuthError:
    """RFC 6749 §5.2."""
    return OAuthError("unauthorized_client", description, log_detail=log_detail)


def invalid_scope(description: str) -> OAuthError:
    return OAuthError("invalid_scope", description)


@dataclass(frozen=True, slots=True)
class ClientCredentialsGrant:
    config: ProviderConfig
    state: GrantStore
    signer: Signer
    clock: Callable[[], float] = time.time

    def exchange(self, form: Mapping[str, str], client: ClientView) -> TokenResponse:
        """Issue an API access token to an authenticated confidential client."""
        if client.auth_method != "private_key_jwt":
            raise unauthorized_client(
                "The client credentials grant is for confidential clients only",
                log_detail=f"{client.client_id} authenticates with {client.auth_method}",
            )
        if GRANT_TYPE not in client.grant_types:
            raise unauthorized_client(
                "The client is not registered for the client credentials grant",
                log_detail=f"{client.client_id} has grant_types {client.grant_types}",
            )
        scope = self._scope(form.get("scope"), client)
        now = int(self.clock())
        ttl = min(self.config.access_token_ttl, 3600)
        grant = Grant(
            grant_id=new_id(),
            client_id=client.client_id,
            sub=client.client_id,
            # No resource owner: the client acts on its own.
            dezi_nummer="",
            declaration_id=None,
            acting_as="client",
            scope=scope,
            acr="",
            auth_time=now,
            issued_at=now,
        )
        self.state.put_grant(grant, ttl)
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": client.client_id,
            "aud": self.config.api_audience,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": new_id(),
            "scope": " ".join(scope),
            "gid": grant.grant_id,
        }
        token = self.signer.sign(claims, self.config.access_token_signing_alg, typ="at+jwt")
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(scope),
        }
        return TokenResponse(body=body, grant=grant)

    @staticmethod
    def _scope(requested: str | None, client: ClientView) -> tuple[str, ...]:
        if SCOPE_REGISTRY not in client.scopes:
            raise invalid_scope("The client is not registered for the registry scope")
        if requested is None:
            return (SCOPE_REGISTRY,)
        if len(requested) > MAX_SCOPE:
            raise invalid_scope("The scope is too long")
        values = requested.split()
        if not values or any(value != SCOPE_REGISTRY for value in values):
            raise invalid_scope("Only the registry scope can be requested with this grant")
        return (SCOPE_REGISTRY,)
