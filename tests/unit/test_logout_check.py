"""The RP-side logout-token checker (Back-Channel Logout 1.0 §2.6)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from idp.keys import KeyRing
from idp.logout_check import LogoutTokenChecker, LogoutTokenRejected
from idp.protocol.logout import BACKCHANNEL_EVENT

ISSUER = "https://idp.example"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("keys"), rsa_key_size=2048)


def token(ring: KeyRing, typ: str = "logout+jwt", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "epd",
        "iat": now,
        "exp": now + 120,
        "jti": f"j-{time.monotonic_ns()}",
        "events": {BACKCHANNEL_EVENT: {}},
        "sid": "session-1",
        "sub": "pairwise",
    }
    claims.update(overrides)
    return ring.sign({k: v for k, v in claims.items() if v is not None}, "PS256", typ=typ)


def checker(ring: KeyRing) -> LogoutTokenChecker:
    return LogoutTokenChecker(ISSUER, "epd", ring.verification_keys)


def test_valid_token_then_replay(ring: KeyRing) -> None:
    check = checker(ring)
    value = token(ring)
    assert check.check(value).sid == "session-1"
    with pytest.raises(LogoutTokenRejected, match="replayed"):
        check.check(value)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://other.example"}, "issuer"),
        ({"aud": "someone-else"}, "client"),
        ({"nonce": "n"}, "nonce"),
        ({"events": {}}, "event"),
        ({"events": None}, "event"),
        ({"sid": None, "sub": None}, "neither"),
        ({"iat": int(time.time()) - 3600}, "recent"),
        ({"jti": None}, "jti"),
    ],
)
def test_bad_tokens(ring: KeyRing, overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(LogoutTokenRejected, match=reason):
        checker(ring).check(token(ring, **overrides))


def test_an_id_token_is_not_a_logout_token(ring: KeyRing) -> None:
    with pytest.raises(LogoutTokenRejected, match="typ"):
        checker(ring).check(token(ring, typ="JWT"))


def test_foreign_signature(ring: KeyRing, tmp_path: Path) -> None:
    other = KeyRing(tmp_path, rsa_key_size=2048)
    with pytest.raises(LogoutTokenRejected, match="signature"):
        checker(ring).check(token(other))
