"""RP 1: requests-oauth2client (its own JOSE stack, jwskate) against the real server.

Discovery, authorization request with PKCE S256 + state + nonce, the browser steps (driven with
httpx), token request with ``private_key_jwt``, the library's own ID-token validation against the
OP's JWKS, then userinfo. The assertion audience is the issuer identifier: the OP refuses the
token endpoint URL (FAPI 2.0 Final 5.3.2.1-8), which is this library's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import attrs
import pytest
import requests
from jwskate import Jwk, SignedJwt
from requests_oauth2client import (
    AuthorizationRequest,
    AuthorizationResponse,
    BearerToken,
    IdToken,
    InvalidClient,
    OAuth2Client,
    PrivateKeyJwt,
)
from requests_oauth2client.tokens import MismatchingIdTokenNonce

from tests.interop.live import LiveServer, new_client_key
from tests.support import CARER, PHYSICIAN, login_through_forms

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CHOSEN_URA = "90000107"  # one of the carer's 15 organisations
CARER_ROLE = "86.000"


@dataclass(frozen=True)
class PythonRp:
    client_id: str
    redirect_uri: str
    key: Jwk  # private
    id_token_alg: str


@pytest.fixture(scope="module")
def python_rps(live_server: LiveServer) -> dict[str, PythonRp]:
    """One client per client-key algorithm; the ES256 one also asks for ES256 ID tokens."""
    rps: dict[str, PythonRp] = {}
    for alg in ("PS256", "ES256"):
        key = new_client_key(alg)
        client_id = f"interop-roc-{alg.lower()}"
        rp = PythonRp(client_id, f"https://roc.example/{client_id}/cb", key, alg)
        live_server.register_client(
            rp.client_id,
            rp.redirect_uri,
            jwks={"keys": [dict(key.public_jwk())]},
            organisations=("90000001", *(f"900001{n:02d}" for n in range(1, 16))),
            name=f"requests-oauth2client {alg}",
            id_token_alg=rp.id_token_alg,
        )
        rps[alg] = rp
    return rps


@dataclass
class Flow:
    client: OAuth2Client
    request: AuthorizationRequest
    response: AuthorizationResponse
    token_requests: list[dict[str, str]]


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def start_flow(
    server: LiveServer,
    rp: PythonRp,
    session: requests.Session,
    *,
    assertion_aud: str | None,
    dezi_nummer: str = CARER,
    choose: str | None = CHOSEN_URA,
) -> Flow:
    """Discovery, authorization request, browser steps, callback validation."""
    token_requests: list[dict[str, str]] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        body = response.request.body
        if response.request.url == server.url("/token") and isinstance(body, str):
            token_requests.append(dict(parse_qsl(body)))

    session.hooks["response"].append(record)
    client = OAuth2Client.from_discovery_endpoint(
        issuer=server.issuer,
        auth=PrivateKeyJwt(rp.client_id, rp.key, aud=assertion_aud),
        session=session,
        testing=True,  # only because the loopback issuer is plain http
        redirect_uri=rp.redirect_uri,
        id_token_signed_response_alg=rp.id_token_alg,
    )
    assert client.issuer == server.issuer
    assert client.authorization_response_iss_parameter_supported  # RFC 9207, from discovery
    assert len(client.authorization_server_jwks) >= 2

    request = client.authorization_request(scope="openid")
    assert request.code_challenge_method == "S256"
    assert request.state and request.nonce and request.code_verifier

    with server.browser() as browser:
        final = login_through_forms(browser, str(request.uri), dezi_nummer, choose=choose)
    assert final.status_code == 303, final.text
    location = final.headers["location"]
    assert location.startswith(f"{rp.redirect_uri}?")
    # Checks state and (RFC 9207) iss against the discovered issuer.
    response = request.validate_callback(location)
    return Flow(client, request, response, token_requests)


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
def test_code_flow_with_private_key_jwt(
    live_server: LiveServer, python_rps: dict[str, PythonRp], session: requests.Session, alg: str
) -> None:
    rp = python_rps[alg]
    flow = start_flow(live_server, rp, session, assertion_aud=live_server.issuer)

    token: BearerToken = flow.client.authorization_code(flow.response)  # validates the ID token

    assert flow.token_requests, "no token request seen"
    sent = flow.token_requests[-1]
    assert sent["code_verifier"] == flow.request.code_verifier
    assertion = SignedJwt(sent["client_assertion"])
    assert assertion.alg == alg
    assert assertion.audiences == [live_server.issuer]

    id_token = token.id_token
    assert isinstance(id_token, IdToken)
    # What validate_id_token checked, asserted again on the validated token.
    assert id_token.alg == rp.id_token_alg
    verification_key = flow.client.authorization_server_jwks.get_jwk_by_kid(id_token.kid)
    assert id_token.verify_signature(verification_key, alg=rp.id_token_alg)
    assert id_token.issuer == live_server.issuer
    assert id_token.audiences == [rp.client_id]
    assert id_token.nonce == flow.request.nonce
    assert not id_token.is_expired()
    assert id_token.subject and id_token.subject != CARER  # pairwise, not the Dezi number

    # The library's validation really runs: a different nonce is refused.
    other = attrs.evolve(flow.response, nonce="not-the-nonce-we-sent")
    with pytest.raises(MismatchingIdTokenNonce):
        token.validate_id_token(flow.client, other)

    info = flow.client.userinfo(token)
    assert info["sub"] == id_token.subject
    assert info["dezi_nummer"] == CARER
    assert info["abonnee_nummer"] == CHOSEN_URA
    assert info["rol_code"] == CARER_ROLE


def test_physician_without_organisation_choice(
    live_server: LiveServer, python_rps: dict[str, PythonRp], session: requests.Session
) -> None:
    rp = python_rps["PS256"]
    # The physician has a single declaration (URA 90000001): the choice step is skipped.
    flow = start_flow(
        live_server,
        rp,
        session,
        assertion_aud=live_server.issuer,
        dezi_nummer=PHYSICIAN,
        choose=None,
    )
    token = flow.client.authorization_code(flow.response)
    info = flow.client.userinfo(token)
    assert info["dezi_nummer"] == PHYSICIAN
    assert info["abonnee_nummer"] == "90000001"


def test_token_endpoint_as_assertion_audience_is_rejected(
    live_server: LiveServer, python_rps: dict[str, PythonRp], session: requests.Session
) -> None:
    """The library's default audience (the token endpoint URL) is refused: 401 invalid_client."""
    rp = python_rps["PS256"]
    flow = start_flow(live_server, rp, session, assertion_aud=None)

    with pytest.raises(InvalidClient) as caught:
        flow.client.authorization_code(flow.response)

    assert caught.value.response.status_code == 401
    assert caught.value.response.json()["error"] == "invalid_client"
    assert caught.value.response.headers["cache-control"] == "no-store"
    sent = flow.token_requests[-1]
    assert SignedJwt(sent["client_assertion"]).audiences == [live_server.url("/token")]
