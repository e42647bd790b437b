"""The one place that calls joserfc: algorithm allow-lists and hardened decoding.

RFC 8725 §3.1 (algorithm verification), §3.2 (use appropriate algorithms) and ASVS 9.1.2/9.1.3:
only named algorithms, never ``none`` or HMAC, and never a key taken from the token itself
(``jwk``, ``jku``, ``x5u`` headers; authlib CVE-2026-27962). Sizes are bounded before parsing
(authlib CVE-2025-61920).

Signing our own tokens and verifying compact JWS (client assertions, our access tokens) is done
here with ``cryptography`` directly (RFC 7515 §5.2 and §7.1, RFC 7518 §3.3-3.5): both are on the
hot path of every token and userinfo request, and joserfc's generic checks cost more than an
ES256 operation itself there. The signatures are byte for byte what joserfc writes, and
verification makes the same checks (tests compare the two and use an independent JOSE stack);
JWE and JWK parsing stay with joserfc.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.protocol import untrusted_json

# DECISIONS.md #1.
SIGNING_ALGS: tuple[str, ...] = ("PS256", "RS256", "ES256")
CLIENT_ASSERTION_ALGS: tuple[str, ...] = ("PS256", "ES256", "RS256")
JWE_KEY_ALGS: tuple[str, ...] = ("RSA-OAEP", "RSA-OAEP-256")
JWE_ENC_ALGS: tuple[str, ...] = ("A256GCM", "A256CBC-HS512")
ALG_KEY_TYPE: dict[str, str] = {"PS256": "RSA", "RS256": "RSA", "ES256": "EC"}

MAX_JWT_BYTES = 16 * 1024
MAX_JWE_BYTES = 32 * 1024
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})

SigningKey = RSAKey | ECKey


class JoseRejected(Exception):
    """A JOSE object failed a check. ``reason`` is for logs, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unverified_header(token: str, max_bytes: int = MAX_JWT_BYTES) -> dict[str, Any]:
    """Parse the protected header of a compact JWS after size and shape checks."""
    if len(token) > max_bytes:
        raise JoseRejected("token too large")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JoseRejected("not a compact JWS")
    # RFC 7515 §5.2 step 4: a header with duplicate member names MUST be rejected; the depth
    # bound keeps a hostile header cheap to refuse (idp.protocol.untrusted_json).
    try:
        header = untrusted_json.loads(_unb64(parts[0]), unique_keys=True)
    except ValueError as exc:  # base64 (binascii.Error) or JSON (UntrustedJson)
        raise JoseRejected("malformed header") from exc
    if not isinstance(header, dict):
        raise JoseRejected("header is not an object")
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims of a compact JWS without verifying it: only to find which key to verify with."""
    unverified_header(token)
    return _claims(token.split(".")[1])


def _claims(payload: str) -> dict[str, Any]:
    # RFC 7519 §4: a claim set naming a claim twice is rejected, not read last-one-wins.
    try:
        claims = untrusted_json.loads(_unb64(payload), unique_keys=True)
    except ValueError as exc:
        raise JoseRejected("malformed payload") from exc
    if not isinstance(claims, dict):
        raise JoseRejected("payload is not an object")
    return claims


def verify_jwt(
    token: str,
    keys: KeySet,
    algorithms: tuple[str, ...],
    *,
    allowed_headers: frozenset[str] = frozenset(),
    max_bytes: int = MAX_JWT_BYTES,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS against ``keys`` with an allow-list; return (header, claims).

    Claims are not checked here (time, audience): callers check what their spec requires.
    ``allowed_headers`` admits a key-naming header (the verklaring's ``jku``, Dezi v0.7 §2.6)
    only for a caller that has already checked it against its own allow-list and fetched
    ``keys`` from there: the header never supplies the key itself. ``max_bytes`` raises the size
    bound for a large signed document (the revocation list, Dezi v0.7 §6).
    """
    header = unverified_header(token, max_bytes)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        # A fixed reason: client_auth shows it to the client; ``alg`` is what the token said.
        raise JoseRejected("algorithm not allowed")
    if (FORBIDDEN_HEADERS - allowed_headers) & header.keys():
        raise JoseRejected("key-carrying header not allowed")
    if header.get("crit"):
        raise JoseRejected("unsupported crit header")
    kid = header.get("kid")
    candidates = [k for k in keys.keys if kid is None or k.kid == kid]
    candidates = [k for k in candidates if k.key_type == ALG_KEY_TYPE[alg]]
    if not candidates:
        raise JoseRejected("no matching key")
    signing_input, _, encoded_signature = token.rpartition(".")
    if not _BASE64URL.fullmatch(token.replace(".", "")):
        raise JoseRejected("not base64url")
    signature = _unb64(encoded_signature)
    message = signing_input.encode("ascii")
    for key in candidates:
        if _verified(message, signature, key, alg):
            return header, _claims(token.split(".")[1])
    raise JoseRejected("bad signature")


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verified(message: bytes, signature: bytes, key: Any, alg: str) -> bool:
    """RFC 7515 §5.2 step 8 with ``cryptography`` directly (RFC 7518 §3.3-3.5): the same checks
    joserfc makes (the key's ``use``/``key_ops`` allow verifying; ES256 needs P-256 and a
    64-byte R||S signature; PS256 a 32-byte salt), at a fraction of its cost per token."""
    if key.get("use") == "enc":  # RFC 7517 §4.2: not a signature key
        return False
    try:
        op_key = key.get_op_key("verify")
    except (JoseError, ValueError):
        return False
    try:
        if isinstance(op_key, ec.EllipticCurvePublicKey):
            if alg != "ES256" or op_key.curve.name != "secp256r1" or len(signature) != 64:
                return False
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            op_key.verify(encode_dss_signature(r, s), message, _ECDSA)
        elif isinstance(op_key, rsa.RSAPublicKey):
            if alg not in ("PS256", "RS256"):
                return False
            op_key.verify(signature, message, _PSS if alg == "PS256" else _PKCS1, _SHA256)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def sign_jwt(
    claims: dict[str, Any],
    key: SigningKey,
    alg: str,
    typ: str = "JWT",
    extra_header: dict[str, Any] | None = None,
) -> str:
    """``extra_header`` adds members such as ``jku`` (the verklaring, Dezi v0.7 §2.6)."""
    if alg not in SIGNING_ALGS or key.key_type != ALG_KEY_TYPE[alg]:
        raise ValueError(f"cannot sign {alg} with a {key.key_type} key")
    # Member order as joserfc writes it (typ first), so the bytes do not change with the signer.
    header: dict[str, Any] = {"typ": typ, "alg": alg, "kid": key.kid}
    if extra_header and header.keys() & extra_header.keys():
        raise ValueError("extra_header must not replace alg, typ or kid")
    header.update(extra_header or {})
    # RFC 7519 §7.1: the claims as UTF-8 JSON. Datetimes are refused rather than written as
    # strings: NumericDate (RFC 7519 §2) is a number, and callers pass integers.
    payload = orjson.dumps(claims, option=orjson.OPT_PASSTHROUGH_DATETIME)
    signing_input = _b64(orjson.dumps(header)) + b"." + _b64(payload)
    return (signing_input + b"." + _b64(_signature(signing_input, key, alg))).decode("ascii")


_SHA256 = hashes.SHA256()
# RFC 7518 §3.5: PS256 is RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
_PSS = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=32)
_PKCS1 = padding.PKCS1v15()
_ECDSA = ec.ECDSA(_SHA256)


def _signature(signing_input: bytes, key: SigningKey, alg: str) -> bytes:
    if isinstance(key, RSAKey):
        rsa_key = key.private_key
        if rsa_key is None:
            raise ValueError("signing needs a private key")
        return rsa_key.sign(signing_input, _PSS if alg == "PS256" else _PKCS1, _SHA256)
    ec_key = key.private_key
    if ec_key is None:
        raise ValueError("signing needs a private key")
    if ec_key.curve.name != "secp256r1":
        raise ValueError("ES256 needs a P-256 key")
    # RFC 7518 §3.4: R and S as two fixed-width 32-byte big-endian integers, not DER.
    r, s = decode_dss_signature(ec_key.sign(signing_input, _ECDSA))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_bytes(payload: bytes, key: SigningKey, alg: str, typ: str) -> str:
    """A compact JWS over arbitrary bytes (for payloads that are not JWT claim sets)."""
    header: dict[str, Any] = {"alg": alg, "typ": typ, "kid": key.kid}
    return jws.serialize_compact(header, payload, key, algorithms=[alg])


def encrypt_to(plaintext: str, key: RSAKey, alg: str, enc: str, cty: str = "JWT") -> str:
    """Nested JWT: encrypt a signed JWT to the client's key (RFC 7519 §5.2, §11.2)."""
    if alg not in JWE_KEY_ALGS or enc not in JWE_ENC_ALGS:
        raise ValueError("JWE algorithm not allowed")
    header: dict[str, Any] = {"alg": alg, "enc": enc, "cty": cty, "typ": "JWT"}
    if key.kid:
        header["kid"] = key.kid
    return jwe.encrypt_compact(header, plaintext, key, algorithms=[alg, enc])


def decrypt_jwe(token: str, keys: KeySet) -> tuple[dict[str, Any], bytes]:
    """Decrypt a compact JWE (RFC 7516 §7.1) with one of ``keys``; return (header, plaintext).

    Only the key-management and content algorithms of the allow-lists above; the key is chosen
    by ``kid`` when the header names one, else every RSA key is tried.
    """
    if len(token) > MAX_JWE_BYTES:
        raise JoseRejected("JWE too large")
    parts = token.split(".")
    if len(parts) != 5:
        raise JoseRejected("not a compact JWE")
    try:
        header = untrusted_json.loads(_unb64(parts[0]), unique_keys=True)
    except ValueError as exc:
        raise JoseRejected("malformed JWE header") from exc
    if not isinstance(header, dict):
        raise JoseRejected("JWE header is not an object")
    alg, enc = header.get("alg"), header.get("enc")
    if alg not in JWE_KEY_ALGS or enc not in JWE_ENC_ALGS:
        raise JoseRejected("JWE algorithm not allowed")
    if FORBIDDEN_HEADERS & header.keys() or header.get("crit") or "zip" in header:
        raise JoseRejected("unsupported JWE header")
    kid = header.get("kid")
    candidates = [k for k in keys.keys if k.key_type == "RSA" and (kid is None or k.kid == kid)]
    if not candidates:
        raise JoseRejected("no matching decryption key")
    for key in candidates:
        try:
            result = jwe.decrypt_compact(token, key, algorithms=[str(alg), str(enc)])
        except (JoseError, ValueError):
            continue
        if result.plaintext is None:  # pragma: no cover - joserfc always sets it on success
            continue
        return dict(header), bytes(result.plaintext)
    raise JoseRejected("cannot decrypt")


def import_keyset(value: dict[str, Any]) -> KeySet:
    """Import a client's public JWKS, refusing private members and non-RSA/EC keys."""
    keys = value.get("keys")
    if not isinstance(keys, list) or not keys:
        raise JoseRejected("JWKS has no keys")
    for entry in keys:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
            raise JoseRejected("only RSA and EC keys are accepted")
        if {"d", "p", "q", "dp", "dq", "qi", "k"} & entry.keys():
            raise JoseRejected("JWKS contains private key material")
    try:
        return KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError) as exc:
        raise JoseRejected("malformed JWKS") from exc
