"""RFC 7636 (PKCE), S256 only (NL GOV OIDC; RFC 9700 §2.1.1; FAPI 2.0 §5.3.2.2).

The authorization server requires a ``code_challenge`` from every client and never accepts
``plain``; a ``code_verifier`` without an earlier challenge cannot occur because no code is ever
issued without one (RFC 9700 §4.8.2, downgrade).
"""

from __future__ import annotations

import hmac
import re

from authlib.oauth2.rfc7636 import create_s256_code_challenge as _authlib_s256

S256 = "S256"
# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
S256_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256_challenge(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), RFC 7636 §4.2."""
    result: str = _authlib_s256(verifier)
    return result


def valid_challenge(challenge: str) -> bool:
    return bool(S256_CHALLENGE_RE.fullmatch(challenge))


def verify(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6, in constant time."""
    if method != S256 or not VERIFIER_RE.fullmatch(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier), challenge)
