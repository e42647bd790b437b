"""Our compact JWS verifier (``idp.protocol.jose.verify_jwt``) against tokens joserfc signs.

RFC 7515 §5.2 (validation), RFC 7518 §3.3-3.5, RFC 8725 §3.1-3.2: only allow-listed algorithms,
a key of the right type and curve whose ``use``/``key_ops`` allow verifying, the exact R || S
length for ES256, and strict base64url.
"""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.protocol.jose import JoseRejected, verify_jwt

CLAIMS = {"iss": "https://client.example", "aud": "https://idp.example", "exp": 5, "n": [1]}
ALGS = ("PS256", "ES256", "RS256")


def key(kind: str, **params: str) -> RSAKey | ECKey:
    made: RSAKey | ECKey = (
        RSAKey.generate_key(2048, parameters=params, private=True)
        if kind == "RSA"
        else ECKey.generate_key(kind, parameters=params, private=True)
    )
    made.ensure_kid()
    return made


@pytest.fixture(scope="module")
def rsa() -> RSAKey | ECKey:
    return key("RSA")


@pytest.fixture(scope="module")
def ec() -> RSAKey | ECKey:
    return key("P-256")


def public(*keys: RSAKey | ECKey) -> KeySet:
    return KeySet.import_key_set({"keys": [k.as_dict(private=False) for k in keys]})


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_rsa_tokens_signed_by_joserfc_verify(rsa: RSAKey, alg: str) -> None:
    token = jwt.encode({"alg": alg, "kid": rsa.kid}, CLAIMS, rsa, algorithms=[alg])
    header, claims = verify_jwt(token, public(rsa), ALGS)
    assert header["alg"] == alg and claims == CLAIMS


def test_es256_tokens_signed_by_joserfc_verify(ec: ECKey) -> None:
    token = jwt.encode({"alg": "ES256", "kid": ec.kid}, CLAIMS, ec, algorithms=["ES256"])
    assert verify_jwt(token, public(ec), ALGS)[1] == CLAIMS


def test_a_changed_payload_is_refused(rsa: RSAKey) -> None:
    token = jwt.encode({"alg": "PS256", "kid": rsa.kid}, CLAIMS, rsa, algorithms=["PS256"])
    other = jwt.encode({"alg": "PS256", "kid": rsa.kid}, {"iss": "x"}, rsa, algorithms=["PS256"])
    forged = ".".join([*token.split(".")[:1], other.split(".")[1], token.split(".")[2]])
    with pytest.raises(JoseRejected, match="bad signature"):
        verify_jwt(forged, public(rsa), ALGS)


def test_an_algorithm_outside_the_list_is_refused(rsa: RSAKey) -> None:
    token = jwt.encode({"alg": "RS256", "kid": rsa.kid}, CLAIMS, rsa, algorithms=["RS256"])
    with pytest.raises(JoseRejected, match="algorithm not allowed"):
        verify_jwt(token, public(rsa), ("PS256", "ES256"))


def test_es256_needs_p256(ec: ECKey) -> None:
    p384 = key("P-384")
    token = jwt.encode({"alg": "ES384", "kid": p384.kid}, CLAIMS, p384, algorithms=["ES384"])
    _header, payload, signature = token.split(".")
    relabelled = jwt.encode({"alg": "ES256", "kid": p384.kid}, CLAIMS, ec, algorithms=["ES256"])
    spoofed = ".".join([relabelled.split(".")[0], payload, signature])
    with pytest.raises(JoseRejected):
        verify_jwt(spoofed, public(p384), ALGS)


def test_an_es256_signature_of_the_wrong_length_is_refused(ec: ECKey) -> None:
    token = jwt.encode({"alg": "ES256", "kid": ec.kid}, CLAIMS, ec, algorithms=["ES256"])
    with pytest.raises(JoseRejected, match="bad signature"):
        verify_jwt(token + "AAAA", public(ec), ALGS)


def test_a_key_for_encryption_does_not_verify(rsa: RSAKey) -> None:
    """RFC 7517 §4.2: a key published with ``use: enc`` is not a signature key."""
    token = jwt.encode({"alg": "PS256", "kid": rsa.kid}, CLAIMS, rsa, algorithms=["PS256"])
    as_enc = KeySet.import_key_set({"keys": [{**rsa.as_dict(private=False), "use": "enc"}]})
    with pytest.raises(JoseRejected, match="bad signature"):
        verify_jwt(token, as_enc, ALGS)


def test_characters_outside_base64url_are_refused(rsa: RSAKey) -> None:
    token = jwt.encode({"alg": "PS256", "kid": rsa.kid}, CLAIMS, rsa, algorithms=["PS256"])
    header, payload, signature = token.split(".")
    with pytest.raises(JoseRejected, match="base64url"):
        verify_jwt(f"{header}.{payload}.{signature[:-2]}+/", public(rsa), ALGS)


def test_claims_that_are_not_an_object_are_refused(rsa: RSAKey) -> None:
    from joserfc import jws

    token = jws.serialize_compact(
        {"alg": "PS256", "kid": rsa.kid}, b"[1,2]", rsa, algorithms=["PS256"]
    )
    with pytest.raises(JoseRejected, match="not an object"):
        verify_jwt(token, public(rsa), ALGS)
