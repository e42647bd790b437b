"""Signing keys: next → active → retired, file modes, JWKS contents (OIDC Core §10.1.1)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from idp.keys import KeyRing, load_or_create_secrets
from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path, rsa_key_size=2048, grace_period=100)


def states(ring: KeyRing) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for stored in ring.keys():
        result.setdefault(stored.family, []).append(stored.state)
    return result


def test_first_start_creates_active_and_next(ring: KeyRing, tmp_path: Path) -> None:
    assert states(ring) == {"EC": ["active", "next"], "RSA": ["active", "next"]}
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    for path in (tmp_path / "keys").glob("*.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reopening_reuses_keys(ring: KeyRing, tmp_path: Path) -> None:
    again = KeyRing(tmp_path, rsa_key_size=2048)
    assert {k.kid for k in again.keys()} == {k.kid for k in ring.keys()}


def test_next_key_is_published_before_it_signs(ring: KeyRing) -> None:
    next_rsa = next(k for k in ring.keys() if k.state == "next" and k.family == "RSA")
    assert next_rsa.kid in {k["kid"] for k in ring.public_jwks()["keys"]}
    ring.rotate()
    assert ring.active("RSA").kid == next_rsa.kid


def test_rotation_keeps_old_tokens_verifiable_for_the_grace_period(ring: KeyRing) -> None:
    old_token = ring.sign({"x": 1}, "PS256")
    old_kid = ring.active("RSA").kid
    t0 = int(time.time())
    ring.rotate(now=t0)
    assert states(ring)["RSA"] == ["active", "next", "retired"]
    assert verify_jwt(old_token, ring.verification_keys(), SIGNING_ALGS)[1] == {"x": 1}
    assert old_kid in {k["kid"] for k in ring.public_jwks(now=t0 + 50)["keys"]}
    assert old_kid not in {k["kid"] for k in ring.public_jwks(now=t0 + 200)["keys"]}
    ring.rotate(now=t0 + 200)  # the expired retired key is deleted from disk
    assert old_kid not in {k.kid for k in ring.keys()}
    with pytest.raises(JoseRejected):
        verify_jwt(old_token, ring.verification_keys(), SIGNING_ALGS)


def test_each_algorithm_signs_with_its_family(ring: KeyRing) -> None:
    for alg in SIGNING_ALGS:
        header, claims = verify_jwt(
            ring.sign({"a": alg}, alg), ring.verification_keys(), SIGNING_ALGS
        )
        assert header["alg"] == alg and claims == {"a": alg}


def test_other_processes_see_a_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import idp.keys

    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 0.0)
    first = KeyRing(tmp_path, rsa_key_size=2048)
    second = KeyRing(tmp_path, rsa_key_size=2048)
    first.rotate()
    assert second.active("RSA").kid == first.active("RSA").kid


def test_secrets_file(tmp_path: Path) -> None:
    first = load_or_create_secrets(tmp_path)
    assert load_or_create_secrets(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    assert len(first["pairwise_secret"]) >= 40
