"""Emergency key revocation (``KeyRing.revoke``, ``zorg-idp keys revoke KID``).

A revoked key leaves the JWKS and use at once: nothing it signed validates here any more, an
active key's place is taken by the next one (published already, so relying parties that cache
the JWKS know it), and another process on the same data directory follows within its reload
interval.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import idp.keys
from idp.cli import app
from idp.keys import KeyRing
from idp.protocol.jose import SIGNING_ALGS, JoseRejected, verify_jwt


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path, rsa_key_size=2048, grace_period=100)


def published(ring: KeyRing) -> set[str]:
    return {k["kid"] for k in ring.public_jwks()["keys"]}


def test_revoking_the_active_key_promotes_next_and_stops_its_tokens(ring: KeyRing) -> None:
    active = ring.active("EC").kid
    upcoming = next(s.kid for s in ring.keys() if s.family == "EC" and s.state == "next")
    token = ring.sign({"x": 1}, "ES256")
    revoked = ring.revoke(active)
    assert revoked.kid == active and revoked.state == "active"
    assert active not in published(ring)
    assert ring.active("EC").kid == upcoming
    assert any(s.family == "EC" and s.state == "next" for s in ring.keys())  # a new next key
    with pytest.raises(JoseRejected):
        verify_jwt(token, ring.verification_keys(), SIGNING_ALGS)
    fresh = ring.sign({"y": 2}, "ES256")
    assert verify_jwt(fresh, ring.verification_keys(), SIGNING_ALGS)[0]["kid"] == upcoming


def test_revoking_a_retired_key_ends_its_grace_at_once(ring: KeyRing) -> None:
    old = ring.active("RSA").kid
    token = ring.sign({"x": 1}, "PS256")
    ring.rotate()
    assert verify_jwt(token, ring.verification_keys(), SIGNING_ALGS)  # within the grace period
    ring.revoke(old)
    assert old not in published(ring)
    with pytest.raises(JoseRejected):
        verify_jwt(token, ring.verification_keys(), SIGNING_ALGS)


def test_another_instance_follows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 0.0)
    serving = KeyRing(tmp_path, rsa_key_size=2048)
    token = serving.sign({"x": 1}, "PS256")
    KeyRing(tmp_path, rsa_key_size=2048).revoke(serving.active("RSA").kid)  # the CLI's ring
    with pytest.raises(JoseRejected):
        verify_jwt(token, serving.verification_keys(), SIGNING_ALGS)
    assert serving.active("RSA").kid in published(serving)


def test_an_unknown_kid_is_refused(ring: KeyRing) -> None:
    before = published(ring)
    with pytest.raises(LookupError):
        ring.revoke("no-such-kid")
    assert published(ring) == before


def test_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 0.0)
    monkeypatch.setenv("IDP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_RSA_KEY_SIZE", "2048")
    ring = KeyRing(tmp_path, rsa_key_size=2048)
    eseal = KeyRing(tmp_path, rsa_key_size=2048, subdir="verklaring-keys", families=("RSA",))
    runner = CliRunner()
    done = runner.invoke(app, ["keys", "revoke", ring.active("EC").kid])
    assert done.exit_code == 0, done.output
    assert "revoked" in done.output
    verklaring_key = eseal.active("RSA").kid
    done = runner.invoke(app, ["keys", "revoke", verklaring_key])
    assert done.exit_code == 0, done.output
    assert verklaring_key not in published(eseal)
    missing = runner.invoke(app, ["keys", "revoke", "nope"])
    assert missing.exit_code == 1
    assert "no key with kid" in missing.output
