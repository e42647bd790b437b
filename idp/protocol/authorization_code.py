"""The authorization code grant: issuing codes and redeeming them.

RFC 6749 §4.1.2-4.1.4 and §10.5; OIDC Core §3.1.3.2; RFC 7636 §4.6; RFC 9700 §4.2.4 and
§4.8.2; FAPI 2.0 §5.3.2.1-11 (codes live at most 60 s). Redemption is atomic in the state store:
of concurrent redemptions exactly one wins, and any later attempt revokes what the first issued.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from idp.protocol import pkce
from idp.protocol.client_auth import ClientAuthenticator
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError, invalid_grant, invalid_request
from idp.protocol.models import (
    ActingAs,
    AuthorizationRequest,
    CodeRecord,
    DeclarationSnapshot,
    Grant,
)
from idp.protocol.ports import (
    ClientStore,
    ClientView,
    CodeStore,
    DeclarationView,
    GrantStore,
    Register,
    RevocationMarks,
    Signer,
)
from idp.protocol.redirect import with_query
from idp.protocol.snapshots import current_declaration
from idp.protocol.subject import pairwise_sub
from idp.protocol.tokens import (
    access_token,
    id_token,
    identity_claims,
    is_administrator,
    new_id,
    person_claims,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code, what it stands for, and the redirect URI that carries it (+ ``iss``)."""

    code: str
    record: CodeRecord
    location: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    body: dict[str, Any]
    grant: Grant


class CodeGrantState(CodeStore, GrantStore, RevocationMarks, Protocol):
    """What the code grant keeps: codes, the grants a redemption creates or a reuse revokes
    (RFC 6749 §4.1.2), and the revocation marks that stop a token for a declaration revoked
    since login (DECISIONS.md #11)."""


@dataclass(frozen=True, slots=True)
class AuthorizationCodeGrant:
    config: ProviderConfig
    state: CodeGrantState
    clients: ClientStore
    register: Register
    signer: Signer
    authenticator: ClientAuthenticator
    clock: Callable[[], float] = time.time

    # ---- authorization endpoint side ------------------------------------------------------

    def new_code(
        self,
        request: AuthorizationRequest,
        *,
        dezi_nummer: str,
        acting_as: ActingAs,
        declaration: DeclarationSnapshot | None,
        acr: str,
        auth_time: int,
        sid: str | None = None,
    ) -> IssuedCode:
        """A fresh code for ``request``, not stored yet: the caller stores it together with the
        OP session in one state-store operation (``SessionStore.save_login``)."""
        code = new_id()
        record = CodeRecord(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            dezi_nummer=dezi_nummer,
            declaration_id=None if declaration is None else declaration.declaration_id,
            acr=acr,
            auth_time=auth_time,
            grant_id=new_id(),
            issued_at=int(self.clock()),
            claims=request.claims,
            sid=sid,
            acting_as=acting_as,
            declaration=declaration,
        )
        params = [("code", code)]
        if request.state is not None:
            params.append(("state", request.state))
        params.append(("iss", self.config.issuer))  # RFC 9207 §2
        return IssuedCode(code, record, with_query(request.redirect_uri, params))

    # ---- token endpoint side --------------------------------------------------------------

    def token(self, form: Mapping[str, str], authorization_header: str | None) -> TokenResponse:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise invalid_request("grant_type is required")
        client = self.authenticator.authenticate(form, authorization_header)
        if grant_type != "authorization_code":
            raise OAuthError(
                "unsupported_grant_type", "Only the authorization_code grant is supported"
            )
        return self.exchange(form, client)

    def exchange(self, form: Mapping[str, str], client: ClientView) -> TokenResponse:
        """RFC 6749 §4.1.3 for an already authenticated client (``token_endpoint``)."""
        code = form.get("code")
        if not code or len(code) > 256:
            raise invalid_request("code is required")
        redemption = self.state.redeem_code(code)
        if redemption.record is None:
            if redemption.reused_grant_id is not None:
                # RFC 9700 §4.2.4, ASVS 10.4.2: revoke what the first redemption issued.
                self.state.revoke_grant(redemption.reused_grant_id)
                raise invalid_grant(
                    "The authorization code was already used",
                    log_detail=f"code reuse by {client.client_id}; grant revoked",
                )
            raise invalid_grant("The authorization code is invalid or expired")
        record = redemption.record
        self._check_code(record, client, form)
        return self._issue(record, client)

    def _check_code(self, record: CodeRecord, client: ClientView, form: Mapping[str, str]) -> None:
        now = int(self.clock())
        if record.client_id != client.client_id:
            # RFC 6749 §4.1.3. The code is burnt; documented policy (README, "Codes").
            raise invalid_grant(
                "The authorization code was not issued to this client",
                log_detail=f"code of {record.client_id} presented by {client.client_id}",
            )
        if now > record.issued_at + self.config.code_ttl:
            raise invalid_grant("The authorization code is invalid or expired")
        if form.get("redirect_uri") != record.redirect_uri:
            raise invalid_grant("redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier")
        if not verifier:
            # FAPI 2.0 CS expects invalid_grant here (anchors.md §5, finding 2).
            raise invalid_grant("code_verifier is required")
        if not pkce.verify(verifier, record.code_challenge, record.code_challenge_method):
            raise invalid_grant("PKCE verification failed")

    def _issue(self, record: CodeRecord, client: ClientView) -> TokenResponse:
        now = int(self.clock())
        identity: dict[str, Any]
        if record.acting_as == "administrator":
            # An administrator's login for the register API: the rights are read again now.
            professional = self.register.find_professional(record.dezi_nummer)
            if professional is None or not is_administrator(self.register, record.dezi_nummer):
                raise invalid_grant(
                    "The administrator rights are no longer valid",
                    log_detail="admin login without admin rights at issuance",
                )
            identity = person_claims(professional)
        else:
            declaration = self._declaration(record, now)
            identity = identity_claims(declaration)
        sector = client.sector_identifier or client.client_id
        grant = Grant(
            grant_id=record.grant_id,
            client_id=client.client_id,
            sub=pairwise_sub(self.config.pairwise_secret, sector, record.dezi_nummer),
            dezi_nummer=record.dezi_nummer,
            declaration_id=record.declaration_id,
            scope=record.scope,
            acr=record.acr,
            auth_time=record.auth_time,
            issued_at=now,
            claims=record.claims,
            sid=record.sid,
            acting_as=record.acting_as,
            declaration=record.declaration,
        )
        self.state.put_grant(grant, self.config.access_token_ttl)
        token_value, _claims = access_token(self.config, self.signer, grant, now)
        alg = client.id_token_signed_response_alg or self.config.default_signing_alg
        body: dict[str, Any] = {
            "access_token": token_value,
            "token_type": "Bearer",
            "expires_in": self.config.access_token_ttl,
            "scope": " ".join(record.scope),
            "id_token": id_token(
                self.config,
                self.signer,
                grant=grant,
                nonce=record.nonce,
                alg=alg,
                access_token_value=token_value,
                identity=identity,
                now=now,
            ),
        }
        return TokenResponse(body=body, grant=grant)

    def _declaration(self, record: CodeRecord, now: int) -> DeclarationView:
        """The declaration the code was issued for, if it is still usable: no token for a
        declaration revoked or suspended since login (``idp.protocol.snapshots``)."""
        found = current_declaration(
            record.declaration,
            record.declaration_id,
            record.dezi_nummer,
            now,
            self.state,
            self.register,
        )
        if found is not None:
            return found
        raise invalid_grant(
            "The declaration is no longer valid",
            log_detail=f"declaration {record.declaration_id} not usable at issuance",
        )
