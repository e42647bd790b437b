"""Our own compact JWS signer (``idp.protocol.jose.sign_jwt``) against joserfc and jwcrypto.

RFC 7515 §7.1 compact serialisation; RFC 7518 §3.3 (RS256), §3.4 (ES256: R || S, 64 bytes, not
DER) and §3.5 (PS256). RS256 is deterministic, so its bytes can be compared with joserfc's; the
randomised ones are checked with an independent JOSE stack (jwcrypto).
"""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

from idp.protocol.jose import SIGNING_ALGS, JoseRejected, sign_jwt, verify_jwt

CLAIMS = {"iss": "https://idp.example", "name": "Zoë Müller", "n": [1, 2], "exp": 5}


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


@pytest.fixture(scope="module")
def ec() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


def _part(token: str, index: int) -> bytes:
    part = token.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_rs256_is_byte_for_byte_what_joserfc_writes(rsa: RSAKey) -> None:
    ours = sign_jwt(CLAIMS, rsa, "RS256", extra_header={"jku": "https://idp.example/jwks"})
    header = {"alg": "RS256", "typ": "JWT", "kid": rsa.kid, "jku": "https://idp.example/jwks"}
    assert ours == jwt.encode(header, CLAIMS, rsa, algorithms=["RS256"])


@pytest.mark.parametrize("alg", ["PS256", "ES256", "RS256"])
def test_an_independent_stack_verifies_it(alg: str, rsa: RSAKey, ec: ECKey) -> None:
    key = ec if alg == "ES256" else rsa
    token = sign_jwt(CLAIMS, key, alg, typ="at+jwt")
    verifier = jc_jws.JWS()
    verifier.deserialize(token)
    verifier.verify(jc_jwk.JWK(**key.as_dict(private=False)), alg=alg)
    assert json.loads(verifier.payload) == CLAIMS
    assert json.loads(_part(token, 0)) == {"typ": "at+jwt", "alg": alg, "kid": key.kid}
    header, claims = verify_jwt(token, KeySet([rsa, ec]), SIGNING_ALGS)
    assert header["alg"] == alg and claims == CLAIMS


def test_es256_signature_is_raw_r_and_s(ec: ECKey) -> None:
    assert len(_part(sign_jwt(CLAIMS, ec, "ES256"), 2)) == 64


def test_a_changed_payload_fails(ec: ECKey) -> None:
    head, _, sig = sign_jwt(CLAIMS, ec, "ES256").split(".")
    other = base64.urlsafe_b64encode(b'{"iss":"x"}').rstrip(b"=").decode()
    with pytest.raises(JoseRejected):
        verify_jwt(f"{head}.{other}.{sig}", KeySet([ec]), SIGNING_ALGS)


def test_refusals(rsa: RSAKey, ec: ECKey) -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        sign_jwt(CLAIMS, rsa, "ES256")
    with pytest.raises(ValueError, match="cannot sign"):
        sign_jwt(CLAIMS, ec, "HS256")
    with pytest.raises(ValueError, match="cannot sign"):
        sign_jwt(CLAIMS, rsa, "none")
    public = RSAKey.import_key(rsa.as_dict(private=False))
    with pytest.raises(ValueError, match="private key"):
        sign_jwt(CLAIMS, public, "PS256")
    with pytest.raises(ValueError, match="must not replace"):
        sign_jwt(CLAIMS, rsa, "PS256", extra_header={"alg": "none"})
    p384 = ECKey.generate_key("P-384", private=True)
    with pytest.raises(ValueError, match="P-256"):
        sign_jwt(CLAIMS, p384, "ES256")
    # NumericDate (RFC 7519 §2) is a number: a datetime is refused, not written as a string.
    with pytest.raises(TypeError):
        sign_jwt({"exp": datetime.datetime.now(datetime.UTC)}, rsa, "PS256")
