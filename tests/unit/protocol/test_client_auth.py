"""private_key_jwt and public clients (RFC 7523 §3, OIDC Core §9, FAPI 2.0 Final 5.3.2.1-8;
security checklist group E)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.protocol.client_auth import JWT_BEARER, ClientAuthenticator, ClientKeyCache
from idp.protocol.errors import OAuthError
from idp.state import MemoryStateStore
from tests.support import RelyingParty
from tests.unit.protocol.fakes import FakeClient, FakeClients

ISSUER = "https://idp.example"


@pytest.fixture(scope="module")
def rp() -> RelyingParty:
    return RelyingParty.confidential("rp", ISSUER)


@pytest.fixture
def auth(rp: RelyingParty) -> ClientAuthenticator:
    clients = FakeClients()
    clients.add(FakeClient(client_id="rp", jwks=rp.jwks()))
    clients.add(FakeClient(client_id="public", auth_method="none"))
    clients.add(FakeClient(client_id="fetched", jwks_uri="https://rp.example/jwks"))
    return ClientAuthenticator(
        issuer=ISSUER,
        clients=clients,
        state=MemoryStateStore(),
        keys=ClientKeyCache(lambda url: rp.jwks()),
    )


def form(assertion: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **extra}


def rejected(auth: ClientAuthenticator, data: dict[str, str], header: str | None = None) -> str:
    with pytest.raises(OAuthError) as info:
        auth.authenticate(data, header)
    assert info.value.error == "invalid_client"
    assert info.value.status_code == 401
    return info.value.log_detail


def test_valid_assertion(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    assert auth.authenticate(form(rp.assertion()), None).client_id == "rp"


def test_client_id_form_parameter_must_match(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    assert auth.authenticate(form(rp.assertion(), client_id="rp"), None).client_id == "rp"
    rejected(auth, form(rp.assertion(), client_id="other"))


def test_e1_secrets_and_missing_auth(auth: ClientAuthenticator) -> None:
    rejected(auth, {"client_id": "rp", "client_secret": "x"})
    rejected(auth, {"client_id": "rp"}, header="Basic cnA6eA==")
    rejected(auth, {"client_id": "rp"})  # confidential client without authentication
    rejected(auth, {})


def test_public_client(auth: ClientAuthenticator) -> None:
    assert auth.authenticate({"client_id": "public"}, None).client_id == "public"
    rejected(auth, {"client_id": "nobody"})


def test_e2_replay(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    assertion = rp.assertion()
    auth.authenticate(form(assertion), None)
    assert "replayed" in rejected(auth, form(assertion))


def test_e3_times(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    now = int(time.time())
    rejected(auth, form(rp.assertion(exp=now - 300)))
    auth.authenticate(form(rp.assertion(iat=now + 9, nbf=now + 9)), None)
    rejected(auth, form(rp.assertion(nbf=now + 120)))
    rejected(auth, form(rp.assertion(iat=now + 120)))
    rejected(auth, form(rp.assertion(exp=None)))
    rejected(auth, form(rp.assertion(exp=now + 7200)))
    rejected(auth, form(rp.assertion(exp="soon")))


@pytest.mark.parametrize(
    "aud",
    [
        f"{ISSUER}/token",
        f"{ISSUER}/par",
        [ISSUER],
        [ISSUER, f"{ISSUER}/token"],
        ISSUER + "/",
        None,
    ],
)
def test_e4_audience_is_the_issuer_string_only(
    auth: ClientAuthenticator, rp: RelyingParty, aud: Any
) -> None:
    rejected(auth, form(rp.assertion(aud=aud)))


def test_e5_iss_sub(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    rejected(auth, form(rp.assertion(sub=None)))
    rejected(auth, form(rp.assertion(sub="someone-else")))
    rejected(auth, form(rp.assertion(iss=None)))
    rejected(auth, form(rp.assertion(jti=None)))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_e6_algorithms_and_keys(auth: ClientAuthenticator, rp: RelyingParty) -> None:
    now = int(time.time())
    claims = {"iss": "rp", "sub": "rp", "aud": ISSUER, "exp": now + 60, "jti": "j-none"}
    # alg none
    rejected(auth, form(f"{_b64({'alg': 'none'})}.{_b64(claims)}."))
    # HS256 keyed with the client's public key (algorithm confusion)
    assert rp.key is not None
    public_pem = rp.key.as_pem(private=False)
    signing_input = f"{_b64({'alg': 'HS256'})}.{_b64({**claims, 'jti': 'j-hs'})}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    hs = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    rejected(auth, form(hs))
    # A key the client never registered, with and without a jwk header pointing at it
    stranger = RSAKey.generate_key(2048, private=True)
    for header in ({"alg": "PS256"}, {"alg": "PS256", "jwk": stranger.as_dict(private=False)}):
        token = jwt.encode(
            header, {**claims, "jti": f"j-{len(header)}"}, stranger, algorithms=["PS256"]
        )
        rejected(auth, form(token))
    # jku / x5u headers are refused outright
    assert rp.key is not None
    for extra in ({"jku": "https://evil.example/jwks"}, {"x5u": "https://evil.example/c"}):
        header = {"alg": "PS256", "kid": rp.key.kid, **extra}
        token = jwt.encode(
            header, {**claims, "jti": f"j-{next(iter(extra))}"}, rp.key, algorithms=["PS256"]
        )
        rejected(auth, form(token))


def test_e8_oversized_and_malformed(auth: ClientAuthenticator) -> None:
    rejected(auth, form("a" * 20000))
    rejected(auth, form("." * 10000))
    rejected(auth, form("not-a-jwt"))
    rejected(auth, {"client_assertion_type": "urn:other", "client_assertion": "x.y.z"})


def test_jwks_uri_keys_are_fetched(rp: RelyingParty) -> None:
    calls: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        calls.append(url)
        return rp.jwks()

    clients = FakeClients()
    clients.add(FakeClient(client_id="rp", jwks_uri="https://rp.example/jwks"))
    auth = ClientAuthenticator(ISSUER, clients, MemoryStateStore(), ClientKeyCache(fetch, ttl=300))
    auth.authenticate(form(rp.assertion()), None)
    auth.authenticate(form(rp.assertion()), None)
    assert calls == ["https://rp.example/jwks"]  # cached


def test_e7_rotated_client_key_is_refetched_once() -> None:
    old = RelyingParty.confidential("rp", ISSUER)
    new = RelyingParty.confidential("rp", ISSUER)
    served = [old.jwks()]

    clients = FakeClients()
    clients.add(FakeClient(client_id="rp", jwks_uri="https://rp.example/jwks"))
    auth = ClientAuthenticator(
        ISSUER, clients, MemoryStateStore(), ClientKeyCache(lambda url: served[0], ttl=300)
    )
    auth.authenticate(form(old.assertion()), None)
    served[0] = new.jwks()
    auth.authenticate(form(new.assertion()), None)
