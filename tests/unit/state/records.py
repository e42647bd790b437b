"""Sample records for the state-store tests."""

from __future__ import annotations

from idp.protocol.models import (
    AuthorizationRequest,
    CodeRecord,
    Grant,
    LoginTransaction,
    SsoSession,
)

DEZI_NUMMER = "900000009"


def transaction(tx_id: str = "tx-1") -> LoginTransaction:
    request = AuthorizationRequest(
        client_id="epd-a",
        redirect_uri="https://epd-a.example/cb",
        scope=("openid", "profile"),
        state="s-1",
        nonce="n-1",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        acr_values=("http://eidas.europa.eu/LoA/high",),
    )
    return LoginTransaction(
        tx_id=tx_id,
        request=request.to_json(),
        browser_binding="b" * 64,
        created_at=1_700_000_000,
        dezi_nummer=DEZI_NUMMER,
        acr="http://eidas.europa.eu/LoA/high",
        auth_time=1_700_000_010,
        login_method="uzi",
        declaration_ids=("decl-1", "decl-2"),
    )


def code_record(grant_id: str = "grant-1") -> CodeRecord:
    return CodeRecord(
        client_id="epd-a",
        redirect_uri="https://epd-a.example/cb",
        scope=("openid", "profile"),
        nonce="n-1",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        dezi_nummer=DEZI_NUMMER,
        declaration_id="decl-1",
        acr="http://eidas.europa.eu/LoA/high",
        auth_time=1_700_000_010,
        grant_id=grant_id,
        issued_at=1_700_000_011,
        claims='{"id_token":{"acr":{"essential":true}}}',
        sid="sid-1",
    )


def grant(grant_id: str = "grant-1") -> Grant:
    return Grant(
        grant_id=grant_id,
        client_id="epd-a",
        sub="pairwise-sub",
        dezi_nummer=DEZI_NUMMER,
        declaration_id="decl-1",
        scope=("openid",),
        acr="http://eidas.europa.eu/LoA/high",
        auth_time=1_700_000_010,
        issued_at=1_700_000_012,
        sid="sid-1",
    )


def session(sid: str = "sid-1") -> SsoSession:
    return SsoSession(
        sid=sid,
        dezi_nummer=DEZI_NUMMER,
        acr="http://eidas.europa.eu/LoA/high",
        auth_time=1_700_000_010,
        login_method="uzi",
        created_at=1_700_000_010,
        last_seen=1_700_000_020,
        clients=("epd-a", "epd-b"),
    )
