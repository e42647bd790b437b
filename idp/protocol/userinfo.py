"""The UserInfo endpoint: OIDC Core §5.3, RFC 6750 §2.1 and §3.1, NL GOV OIDC (UserInfo).

The access token must be one of ours (RFC 9068 §4: ``typ: at+jwt``, audience, expiry), its grant
must still exist (revoked on code reuse or logout), and the declaration must still be usable
(DECISIONS.md #11). The response is the Dezi JWE with the verklaring when the client registered
an encryption key (Dezi v0.7 §2.5, ``userinfo_jwe.py``), else JSON, or a signed JWT when the
client registered ``userinfo_signed_response_alg`` (OIDC Core §5.3.2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from idp.protocol.api_access import audience_includes
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import invalid_token
from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt
from idp.protocol.models import Grant
from idp.protocol.ports import (
    ClientStore,
    DeclarationView,
    GrantStore,
    Register,
    RevocationMarks,
    Signer,
)
from idp.protocol.snapshots import current_declaration
from idp.protocol.tokens import (
    identity_claims,
    is_administrator,
    new_id,
    person_claims,
)
from idp.protocol.userinfo_jwe import DeziUserinfo

CLOCK_SKEW = 30


class UserinfoState(GrantStore, RevocationMarks, Protocol):
    """Grants, and the marks that end them early (DECISIONS.md #11)."""


@dataclass(frozen=True, slots=True)
class UserInfoResponse:
    content_type: str  # application/json or application/jwt
    json_body: dict[str, Any] | None = None
    jwt_body: str | None = None


@dataclass(frozen=True, slots=True)
class UserInfoEndpoint:
    config: ProviderConfig
    state: UserinfoState
    clients: ClientStore
    register: Register
    signer: Signer
    clock: Callable[[], float] = time.time
    dezi: DeziUserinfo | None = None

    def validate_access_token(self, token: str) -> Grant:
        try:
            header, claims = verify_jwt(token, self.signer.verification_keys(), SIGNING_ALGS)
        except JoseRejected as exc:
            raise invalid_token(f"access token rejected: {exc.reason}") from None
        now = int(self.clock())
        # RFC 9068 §4 and RFC 8725 §3.11: an ID token or any other JWT is not an access token.
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise invalid_token("not an access token (typ)")
        if claims.get("iss") != self.config.issuer:
            raise invalid_token("wrong issuer")
        if not audience_includes(claims.get("aud"), self.config.userinfo_audience):
            raise invalid_token("wrong audience")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp + CLOCK_SKEW < now:
            raise invalid_token("expired")
        grant_id = claims.get("gid")
        grant = self.state.get_grant(grant_id) if isinstance(grant_id, str) else None
        if grant is None:
            raise invalid_token("grant revoked or expired")
        if grant.sub != claims.get("sub") or grant.client_id != claims.get("client_id"):
            raise invalid_token("token does not match its grant")
        return grant

    def userinfo(self, token: str) -> UserInfoResponse:
        grant = self.validate_access_token(token)
        now = int(self.clock())
        if grant.acting_as == "administrator":
            return self._administrator(grant, now)
        declaration = self._declaration(grant, now)
        claims: dict[str, Any] = {"sub": grant.sub, **identity_claims(declaration)}
        client = self.clients.get_client(grant.client_id)
        enc_key = self.dezi.encryption_key(client) if self.dezi and client else None
        if enc_key is not None and self.dezi is not None and client is not None:
            body = self.dezi.respond(grant, client, declaration, enc_key, now)  # Dezi v0.7 §2.5
            return UserInfoResponse("application/jwt", jwt_body=body)
        alg = client.userinfo_signed_response_alg if client is not None else None
        if alg:
            signed = dict(claims)
            signed.update(
                {"iss": self.config.issuer, "aud": grant.client_id, "iat": now, "jti": new_id()}
            )
            return UserInfoResponse("application/jwt", jwt_body=self.signer.sign(signed, alg))
        return UserInfoResponse("application/json", json_body=claims)

    def _declaration(self, grant: Grant, now: int) -> DeclarationView:
        """DECISIONS.md #11: the declaration as read at login, unless it was revoked,
        suspended or changed since, or its validity ended (``idp.protocol.snapshots``)."""
        found = current_declaration(
            grant.declaration,
            grant.declaration_id,
            grant.dezi_nummer,
            now,
            self.state,
            self.register,
        )
        if found is None:
            self.state.revoke_grant(grant.grant_id)
            raise invalid_token(f"declaration {grant.declaration_id} no longer usable")
        return found

    def _administrator(self, grant: Grant, now: int) -> UserInfoResponse:
        """An administrator's login acts for no organisation: identity only, no verklaring."""
        professional = self.register.find_professional(grant.dezi_nummer)
        if professional is None or not is_administrator(self.register, grant.dezi_nummer):
            self.state.revoke_grant(grant.grant_id)
            raise invalid_token("administrator rights no longer valid")
        claims: dict[str, Any] = {"sub": grant.sub, **person_claims(professional)}
        client = self.clients.get_client(grant.client_id)
        alg = client.userinfo_signed_response_alg if client is not None else None
        if alg:
            signed = {**claims, "iss": self.config.issuer, "aud": grant.client_id, "iat": now}
            return UserInfoResponse("application/jwt", jwt_body=self.signer.sign(signed, alg))
        return UserInfoResponse("application/json", json_body=claims)
