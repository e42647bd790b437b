"""Signing keys: next → active → retired, file modes, JWKS contents (OIDC Core §10.1.1)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
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


# ---- parsed once, cached, and still rotating across processes ------------------------------


class Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, keys_dir: Path) -> None:
        import idp.keys

        self.imports = 0
        self.reads = 0
        counts = self
        real_read_text = Path.read_text

        def read_text(path: Path, *args: object, **kwargs: object) -> str:
            if path.parent == keys_dir:
                counts.reads += 1
            return real_read_text(path, *args, **kwargs)  # type: ignore[arg-type]

        for cls in (idp.keys.RSAKey, idp.keys.ECKey):
            real_import = cls.import_key

            def import_key(value: object, _real: object = real_import) -> object:
                counts.imports += 1
                return _real(value)  # type: ignore[operator]

            monkeypatch.setattr(cls, "import_key", import_key)
        monkeypatch.setattr(Path, "read_text", read_text)


def test_signing_reads_no_file_and_parses_no_key(
    ring: KeyRing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.keys

    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 0.0)  # every call checks for a rotation
    counts = Counts(monkeypatch, tmp_path / "keys")
    for alg in SIGNING_ALGS * 20:
        ring.sign({"a": 1}, alg)
    ring.verification_keys()
    ring.public_jwks()
    ring.public_jwks_json()
    assert (counts.reads, counts.imports) == (0, 0)  # a stat per call, nothing more


def test_published_forms_are_built_once_per_key_set(ring: KeyRing) -> None:
    assert ring.verification_keys() is ring.verification_keys()
    assert ring.public_jwks_json() is ring.public_jwks_json()
    assert json.loads(ring.public_jwks_json()) == ring.public_jwks()
    assert all(entry["use"] == "sig" for entry in ring.public_jwks()["keys"])
    ring.public_jwks()["keys"].clear()  # callers get copies: the cache is not theirs to change
    assert len(ring.public_jwks()["keys"]) == 4
    before = ring.verification_keys()
    ring.rotate()
    assert ring.verification_keys() is not before
    assert {k.kid for k in ring.verification_keys().keys} == {k.kid for k in ring.keys()}


def test_rotation_by_another_process_is_picked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.keys

    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 3600.0)
    ring = KeyRing(tmp_path, rsa_key_size=2048)
    old = {family: ring.active(family).kid for family in ("RSA", "EC")}
    upcoming = {s.family: s.kid for s in ring.keys() if s.state == "next"}
    token = ring.sign({"x": 1}, "ES256")
    script = (
        "import sys; from pathlib import Path; from idp.keys import KeyRing; "
        "KeyRing(Path(sys.argv[1]), rsa_key_size=2048).rotate()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env)
    counts = Counts(monkeypatch, tmp_path / "keys")
    assert ring.active("EC").kid == old["EC"]  # not looked at again within the interval
    monkeypatch.setattr(idp.keys, "RELOAD_INTERVAL", 0.0)
    assert {family: ring.active(family).kid for family in ("RSA", "EC")} == upcoming
    assert counts.imports == 2  # only the two new next keys; the others were parsed already
    assert verify_jwt(token, ring.verification_keys(), SIGNING_ALGS)[1] == {"x": 1}
    header, _ = verify_jwt(ring.sign({"y": 2}, "ES256"), ring.verification_keys(), SIGNING_ALGS)
    assert header["kid"] == upcoming["EC"]


def test_a_retired_key_leaves_the_cached_sets_when_its_grace_ends(
    ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    retiring = ring.active("EC").kid
    t0 = time.time()
    ring.rotate(now=int(t0))
    assert retiring in {k.kid for k in ring.verification_keys().keys}
    assert retiring in ring.public_jwks_json().decode()
    monkeypatch.setattr(time, "time", lambda: t0 + 101)  # grace_period=100 in the fixture
    assert retiring not in {k.kid for k in ring.verification_keys().keys}
    assert retiring not in ring.public_jwks_json().decode()
