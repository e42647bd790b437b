"""The token endpoint's dispatcher: one client authentication, then the grant named by
``grant_type`` (RFC 6749 §3.2, §4.1.3, §4.4.2; errors per §5.2).

The client is authenticated exactly once (a client assertion's ``jti`` is single use), before the
grant type is judged, so that an unauthenticated caller learns nothing about which grants exist.
A grant the client is not registered for (RFC 7591 §2 ``grant_types``) is ``unauthorized_client``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from idp.protocol.authorization_code import TokenResponse
from idp.protocol.client_auth import ClientAuthenticator
from idp.protocol.client_credentials import unauthorized_client
from idp.protocol.errors import OAuthError, invalid_request
from idp.protocol.ports import ClientView


class GrantHandler(Protocol):
    def exchange(self, form: Mapping[str, str], client: ClientView) -> TokenResponse: ...


@dataclass(frozen=True, slots=True)
class TokenEndpoint:
    authenticator: ClientAuthenticator
    grants: Mapping[str, GrantHandler]

    def token(self, form: Mapping[str, str], authorization_header: str | None) -> TokenResponse:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise invalid_request("grant_type is required")
        client = self.authenticator.authenticate(form, authorization_header)
        handler = self.grants.get(grant_type)
        if handler is None:
            raise OAuthError("unsupported_grant_type", "This grant type is not supported")
        if grant_type not in client.grant_types:
            raise unauthorized_client(
                "The client is not registered for this grant type",
                log_detail=f"{client.client_id} asked for {grant_type}",
            )
        return handler.exchange(form, client)
