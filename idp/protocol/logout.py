"""Logout: OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.

- RP-initiated (§2, §3): an ``id_token_hint`` must be an ID token this OP signed (an expired
  one is fine: it identifies, it does not authorise); ``post_logout_redirect_uri`` must equal a
  registered one exactly, otherwise there is no redirect (checklist I1).
- Back-channel (§2.4-2.6): a logout token per relying party of the session, ``typ: logout+jwt``,
  with ``iss sub aud iat exp jti events sid`` and never a ``nonce``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from idp.protocol.config import ProviderConfig
from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt
from idp.protocol.models import SsoSession
from idp.protocol.ports import ClientStore, ClientView, Signer
from idp.protocol.subject import pairwise_sub
from idp.protocol.tokens import new_id

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120


class LogoutRejected(Exception):
    """The logout request cannot be honoured as asked; ``description`` is safe to show."""

    def __init__(self, description: str, log_detail: str) -> None:
        super().__init__(description)
        self.description = description
        self.log_detail = log_detail


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: ClientView | None
    hint_sid: str | None
    redirect_uri: str | None  # validated; None means: show the logged-out page
    state: str | None


@dataclass(frozen=True, slots=True)
class BackchannelMessage:
    client_id: str
    uri: str
    logout_token: str


@dataclass(frozen=True, slots=True)
class LogoutService:
    config: ProviderConfig
    clients: ClientStore
    signer: Signer
    clock: Callable[[], float] = time.time

    def validate(self, params: Mapping[str, str]) -> LogoutRequest:
        hint = params.get("id_token_hint")
        client_id = params.get("client_id")
        hint_sid: str | None = None
        if hint:
            claims = self._hint_claims(hint)
            aud = claims.get("aud")
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if client_id is not None and client_id not in audiences:
                raise LogoutRejected(
                    "The logout request is inconsistent.", "client_id not in id_token_hint aud"
                )
            client_id = client_id or (audiences[0] if audiences else None)
            sid = claims.get("sid")
            hint_sid = sid if isinstance(sid, str) else None
        client = self.clients.get_client(client_id) if client_id else None
        redirect = params.get("post_logout_redirect_uri")
        if redirect is not None:
            if client is None:
                raise LogoutRejected(
                    "The application that asked for this logout is unknown.",
                    "post_logout_redirect_uri without an identifiable client",
                )
            if redirect not in client.post_logout_redirect_uris:
                raise LogoutRejected(
                    "The address to return to after logout is not registered.",
                    f"unregistered post_logout_redirect_uri for {client.client_id}",
                )
        state = params.get("state")
        if state is not None and len(state) > 512:
            raise LogoutRejected("The logout request is invalid.", "state too long")
        return LogoutRequest(client, hint_sid, redirect, state)

    def _hint_claims(self, hint: str) -> dict[str, Any]:
        try:
            _header, claims = verify_jwt(hint, self.signer.verification_keys(), SIGNING_ALGS)
        except JoseRejected as exc:
            raise LogoutRejected(
                "The logout request could not be verified.", f"id_token_hint: {exc.reason}"
            ) from None
        if claims.get("iss") != self.config.issuer:
            raise LogoutRejected(
                "The logout request could not be verified.", "id_token_hint from another issuer"
            )
        return claims

    def backchannel_messages(
        self, session: SsoSession, only: Collection[str] | None = None
    ) -> list[BackchannelMessage]:
        """One signed logout token per relying party of the session that registered a URI
        (or only those named in ``only``)."""
        now = int(self.clock())
        messages: list[BackchannelMessage] = []
        for client_id in session.clients:
            if only is not None and client_id not in only:
                continue
            client = self.clients.get_client(client_id)
            if client is None or not client.backchannel_logout_uri:
                continue
            sector = client.sector_identifier or client.client_id
            claims = {
                "iss": self.config.issuer,
                "sub": pairwise_sub(self.config.pairwise_secret, sector, session.dezi_nummer),
                "aud": client.client_id,
                "iat": now,
                "exp": now + LOGOUT_TOKEN_TTL,
                "jti": new_id(),
                "events": {BACKCHANNEL_EVENT: {}},
                "sid": session.sid,
            }
            alg = client.id_token_signed_response_alg or self.config.default_signing_alg
            token = self.signer.sign(claims, alg, typ="logout+jwt")
            messages.append(
                BackchannelMessage(client.client_id, client.backchannel_logout_uri, token)
            )
        return messages
