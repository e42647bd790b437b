"""The Dezi userinfo JWE (v0.7 §2.5): key choice, algorithms, the envelope, nested JWT."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from joserfc.jwk import KeySet, RSAKey

from idp.keys import KeyRing
from idp.protocol.client_auth import ClientKeyCache
from idp.protocol.config import ProviderConfig
from idp.protocol.errors import OAuthError
from idp.protocol.jose import (
    SIGNING_ALGS,
    JoseRejected,
    decrypt_jwe,
    encrypt_to,
    unverified_header,
    verify_jwt,
)
from idp.protocol.models import LOA_HIGH, Grant
from idp.protocol.userinfo_jwe import (
    DeziUserinfo,
    check_encryption_keys,
    jwe_algorithms,
    pick_encryption_key,
)
from idp.protocol.verklaring import VerklaringIssuer
from tests.dezi_support import public_jwk, rp_encryption_key, validate
from tests.unit.protocol.fakes import FakeClient, FakeDeclaration

ISSUER = "https://idp.example.nl"
NOW = 1_790_000_000
DECLARATION = FakeDeclaration(declaration_id="8539f75d-634c-47db-bb41-28791dfd1f8d")
GRANT = Grant(
    grant_id="g",
    client_id="epd",
    sub="pairwise",
    dezi_nummer="900000019",
    declaration_id=DECLARATION.declaration_id,
    scope=("openid",),
    acr=LOA_HIGH,
    auth_time=NOW - 5,
    issued_at=NOW - 5,
)


@pytest.fixture(scope="module")
def rings(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyRing, KeyRing]:
    tmp = tmp_path_factory.mktemp("keys")
    return (
        KeyRing(tmp, rsa_key_size=2048),
        KeyRing(tmp, rsa_key_size=2048, subdir="verklaring-keys", families=("RSA",)),
    )


def dezi(rings: tuple[KeyRing, KeyRing], cache: ClientKeyCache | None = None) -> DeziUserinfo:
    signer, eseal = rings
    config = ProviderConfig(issuer=ISSUER, pairwise_secret=b"x" * 32)
    return DeziUserinfo(config, signer, VerklaringIssuer(ISSUER, eseal), cache)


def test_only_an_rsa_enc_key_is_picked() -> None:
    sig = rp_encryption_key().as_dict(private=False) | {"use": "sig", "kid": "s"}
    enc = public_jwk(rp_encryption_key())
    assert pick_encryption_key(KeySet.import_key_set({"keys": [sig]})) is None
    picked = pick_encryption_key(KeySet.import_key_set({"keys": [sig, enc]}))
    assert picked is not None and picked.kid == enc["kid"]
    odd = public_jwk(rp_encryption_key()) | {"alg": "RSA1_5"}
    assert pick_encryption_key(KeySet.import_key_set({"keys": [odd]})) is None


@pytest.mark.parametrize(
    ("alg", "profile", "expected"),
    [
        (None, "dezi", ("RSA-OAEP", "A256CBC-HS512")),
        (None, "nlgov", ("RSA-OAEP", "A256GCM")),
        ("RSA-OAEP-256", "dezi", ("RSA-OAEP-256", "A256CBC-HS512")),
        ("RSA-OAEP-256", "nlgov", ("RSA-OAEP-256", "A256GCM")),
    ],
)
def test_algorithms_follow_the_key_and_the_profile(
    alg: str | None, profile: str, expected: tuple[str, str]
) -> None:
    assert jwe_algorithms(rp_encryption_key(alg), profile) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kty": "EC", "use": "enc", "crv": "P-256"}, "RSA"),
        ({"kty": "RSA", "use": "enc", "alg": "RSA1_5"}, "alg"),
    ],
)
def test_registration_refuses_unusable_encryption_keys(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_encryption_keys({"keys": [entry]})
    check_encryption_keys({"keys": [public_jwk(rp_encryption_key("RSA-OAEP-256"))]})


@pytest.mark.parametrize("profile", ["dezi", "nlgov"])
def test_nested_jwt_round_trip(rings: tuple[KeyRing, KeyRing], profile: str) -> None:
    key = rp_encryption_key()
    client = FakeClient(client_id="epd", profile=profile, id_token_signed_response_alg="RS256")
    body = dezi(rings).respond(GRANT, client, DECLARATION, key, NOW)
    header, plaintext = decrypt_jwe(body, KeySet([key]))
    assert header == {
        "alg": "RSA-OAEP",
        "enc": jwe_algorithms(key, profile)[1],
        "cty": "JWT",
        "typ": "JWT",
        "kid": key.kid,
    }
    signed = plaintext.decode()
    signer, eseal = rings
    assert unverified_header(signed) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": signer.active("RSA").kid,
    }
    _, envelope = verify_jwt(signed, signer.verification_keys(), SIGNING_ALGS)
    assert set(envelope) == {
        "jti",
        "iat",
        "exp",
        "iss",
        "aud",
        "loa_authn",
        "json_schema",
        "verklaring_id",
        "verklaring",
    }
    assert (envelope["iss"], envelope["aud"], envelope["loa_authn"]) == (ISSUER, "epd", LOA_HIGH)
    assert envelope["exp"] - envelope["iat"] == 300
    assert envelope["verklaring_id"] == DECLARATION.declaration_id
    assert envelope["json_schema"] == f"{ISSUER}/json_schemas/v1/userinfo.json"
    validate(envelope, "userinfo.json")
    # The verklaring inside is signed with the other (eSeal) key.
    assert unverified_header(envelope["verklaring"])["kid"] == eseal.active("RSA").kid


def test_envelope_uses_the_registered_userinfo_alg(rings: tuple[KeyRing, KeyRing]) -> None:
    key = rp_encryption_key()
    client = FakeClient(userinfo_signed_response_alg="ES256")
    body = dezi(rings).respond(GRANT, client, DECLARATION, key, NOW)
    signed = decrypt_jwe(body, KeySet([key]))[1].decode()
    assert unverified_header(signed)["alg"] == "ES256"


def test_encryption_key_from_inline_jwks_or_jwks_uri(rings: tuple[KeyRing, KeyRing]) -> None:
    key = rp_encryption_key()
    jwks = {"keys": [public_jwk(key)]}
    inline = dezi(rings).encryption_key(FakeClient(jwks=jwks))
    assert inline is not None and inline.kid == key.kid
    assert dezi(rings).encryption_key(FakeClient(jwks={"keys": [{"kty": "oct"}]})) is None
    fetched: list[str] = []

    def fetch(url: str) -> Mapping[str, Any]:
        fetched.append(url)
        return jwks

    remote = FakeClient(jwks_uri="https://rp.example/jwks")
    found = dezi(rings, ClientKeyCache(fetch)).encryption_key(remote)
    assert found is not None and found.kid == key.kid and fetched == [remote.jwks_uri]
    assert dezi(rings).encryption_key(remote) is None  # no cache wired: no fetching


def test_unreachable_jwks_uri_is_temporarily_unavailable(rings: tuple[KeyRing, KeyRing]) -> None:
    def fetch(url: str) -> Mapping[str, Any]:
        raise OSError("connection refused")

    client = replace(FakeClient(), jwks_uri="https://rp.example/jwks")
    with pytest.raises(OAuthError) as caught:
        dezi(rings, ClientKeyCache(fetch)).encryption_key(client)
    assert (caught.value.error, caught.value.status_code) == ("temporarily_unavailable", 503)


def test_decrypt_refuses_other_algorithms_and_the_wrong_key() -> None:
    key = rp_encryption_key()
    token = encrypt_to("a.b.c", key, "RSA-OAEP", "A256GCM")
    assert decrypt_jwe(token, KeySet([key]))[1] == b"a.b.c"
    rest = token[token.index(".") :]
    for header in ('{"alg":"RSA1_5","enc":"A256GCM"}', '{"alg":"RSA-OAEP","enc":"A128GCM"}'):
        forged = base64.urlsafe_b64encode(header.encode()).decode().rstrip("=") + rest
        with pytest.raises(JoseRejected, match="not allowed"):
            decrypt_jwe(forged, KeySet([key]))
    zipped = '{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF"}'
    with pytest.raises(JoseRejected, match="unsupported"):
        decrypt_jwe(base64.urlsafe_b64encode(zipped.encode()).decode() + rest, KeySet([key]))
    # Another private key under the same kid: a clean refusal, not a crash.
    impostor = RSAKey.import_key(rp_encryption_key().as_dict(private=True) | {"kid": key.kid})
    with pytest.raises(JoseRejected, match="cannot decrypt"):
        decrypt_jwe(token, KeySet([impostor]))
    with pytest.raises(JoseRejected, match="no matching"):
        decrypt_jwe(token, KeySet([rp_encryption_key()]))
    with pytest.raises(JoseRejected, match="not a compact JWE"):
        decrypt_jwe("a.b.c", KeySet([key]))
