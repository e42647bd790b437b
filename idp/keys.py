"""Signing keys in IDP_DATA_DIR, with the states next → active → retired.

OIDC Core §10.1.1: the JWKS publishes the next key before it signs anything, and keeps retired
keys for a grace period, so relying parties that cache the JWKS never meet an unknown ``kid``.
Files: ``<data_dir>/keys/<kid>.json`` (mode 0600) in a directory of mode 0700. Several workers
share the directory; creation and rotation take an exclusive ``flock``, and every process reloads
when the directory's generation file changes (seen by ``stat``, at most once a second).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.protocol.jose import ALG_KEY_TYPE, SigningKey, sign_jwt

KeyState = Literal["next", "active", "retired"]
FAMILIES: tuple[str, ...] = ("RSA", "EC")
# How stale another process's rotation may be here: one stat of the generation file per interval.
RELOAD_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: SigningKey
    state: KeyState
    created_at: int
    retired_at: int | None = None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def family(self) -> str:
        return self.key.key_type


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private_file(path: Path, content: str) -> None:
    """Write atomically with mode 0600 (never readable by others, not even briefly)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(tmp, path)


def load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """Per-installation secrets (pairwise ``sub`` key, cookie key), created once."""
    ensure_private_dir(data_dir)
    path = data_dir / "secrets.json"
    with _locked(data_dir / ".secrets.lock"):
        if path.exists():
            data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = {}
        wanted = ("pairwise_secret", "cookie_secret", "bsn_hash_secret")
        if any(name not in data for name in wanted):
            for name in wanted:
                data.setdefault(name, secrets.token_urlsafe(32))
            write_private_file(path, json.dumps(data, indent=2))
    return data


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class KeyRing:
    """The OP's signing keys: one active RSA key (PS256, RS256) and one active EC key (ES256).

    Each private key is parsed once, when this process first meets its ``kid`` (a kid names
    one key for good: it is the RFC 7638 thumbprint), so signing never touches a file or a JWK.
    What is published is computed once per set of keys: the verification ``KeySet``, the JWKS
    and its serialised bytes. Another process's rotation is seen within ``RELOAD_INTERVAL``
    seconds through one ``stat`` of the generation file, and only a changed generation reads
    the directory again.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        rsa_key_size: int = 3072,
        grace_period: int = 7 * 24 * 3600,
        subdir: str = "keys",
        families: tuple[str, ...] = FAMILIES,
    ) -> None:
        """``families`` limits the key types kept: the verklaring's eSeal ring is RSA only."""
        if not families or set(families) - set(FAMILIES):
            raise ValueError(f"families must be a subset of {FAMILIES}")
        self._dir = ensure_private_dir(data_dir / subdir)
        self._families = families
        self._rsa_key_size = rsa_key_size
        self._grace = grace_period
        self._lock = threading.Lock()
        self._keys: tuple[StoredKey, ...] = ()
        self._active: dict[str, StoredKey] = {}
        self._parsed: dict[str, SigningKey] = {}
        self._published: dict[tuple[str, ...], _Published] = {}
        self._latest: tuple[float, _Published] | None = None
        self._generation = ""
        self._generation_stat: tuple[int, int, int] | None = None
        self._checked_at = 0.0
        with _locked(self._dir / ".lock"):
            self._load()
            if self._complete_families():
                self._bump()
        self._load()

    # ---- reading -------------------------------------------------------------------------

    def keys(self) -> list[StoredKey]:
        self._maybe_reload()
        return list(self._keys)

    def active(self, family: str) -> StoredKey:
        self._maybe_reload()
        try:
            return self._active[family]
        except KeyError:
            raise LookupError(f"no active {family} key") from None

    def public_jwks(self, now: int | None = None) -> dict[str, Any]:
        """JWKS of next, active and not-yet-expired retired keys (public parts only)."""
        return {"keys": [dict(entry) for entry in self._current(now).jwks]}

    def public_jwks_json(self) -> bytes:
        """The same JWKS as UTF-8 JSON, serialised once per set of keys (the JWKS endpoint)."""
        return self._current(None).jwks_json

    def verification_keys(self) -> KeySet:
        return self._current(None).key_set

    def sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        return sign_jwt(claims, self.active(ALG_KEY_TYPE[alg]).key, alg, typ)

    # ---- changing ------------------------------------------------------------------------

    def rotate(self, now: int | None = None) -> None:
        """next → active, active → retired, a new next; expired retired keys are deleted."""
        now = int(time.time()) if now is None else now
        with _locked(self._dir / ".lock"):
            self._load()
            for stored in self._keys:
                if stored.state == "retired" and self._expired(stored, now):
                    (self._dir / f"{stored.kid}.json").unlink(missing_ok=True)
                elif stored.state == "active":
                    self._write(StoredKey(stored.key, "retired", stored.created_at, now))
                elif stored.state == "next":
                    self._write(StoredKey(stored.key, "active", stored.created_at))
            self._load()
            self._complete_families()
            self._bump()
        self._load()

    def revoke(self, kid: str) -> StoredKey:
        """Emergency: take the key out of the JWKS and out of use at once (its private key may
        have leaked). Its file is deleted; an active key is replaced by the next one, and a new
        next key is made, so signing never stops. Other processes on this data directory pick
        the change up within ``RELOAD_INTERVAL``; tokens the key signed stop validating here,
        because it is no longer among our verification keys. ``LookupError`` for an unknown kid.
        """
        with _locked(self._dir / ".lock"):
            self._load()
            found = next((s for s in self._keys if s.kid == kid), None)
            if found is None:
                raise LookupError(f"no key with kid {kid!r}")
            (self._dir / f"{kid}.json").unlink()
            if found.state == "active":
                successor = next(
                    (s for s in self._keys if s.family == found.family and s.state == "next"),
                    None,
                )
                if successor is not None:
                    self._write(StoredKey(successor.key, "active", successor.created_at))
            self._load()
            self._complete_families()
            self._bump()
        self._load()
        return found

    # ---- internals -----------------------------------------------------------------------

    def _expired(self, stored: StoredKey, now: int) -> bool:
        return stored.retired_at is not None and stored.retired_at + self._grace <= now

    def _current(self, now: int | None) -> _Published:
        """What is published at ``now``: built once per set of kids, then looked up. For the
        present moment the answer is kept until the next retired key's grace period ends."""
        self._maybe_reload()
        latest = self._latest
        if now is None and latest is not None and time.time() < latest[0]:
            return latest[1]
        at = int(time.time()) if now is None else now
        keys = tuple(s for s in self._keys if not (s.state == "retired" and self._expired(s, at)))
        kids = tuple(s.kid for s in keys)
        published = self._published.get(kids)
        if published is None:
            published = _Published.build(keys)
            self._published[kids] = published
        if now is None:
            ends = [s.retired_at + self._grace for s in keys if s.retired_at is not None]
            self._latest = (min(ends, default=float("inf")), published)
        return published

    def _complete_families(self) -> bool:
        """Create whatever active/next key a family lacks; True when something was created."""
        created = False
        for family in self._families:
            states = {s.state for s in self._keys if s.family == family}
            for state in ("active", "next"):
                if state not in states:
                    self._write(StoredKey(self._generate(family), state, int(time.time())))
                    created = True
        if created:
            self._load()
        return created

    def _generate(self, family: str) -> SigningKey:
        if family == "RSA":
            key: SigningKey = RSAKey.generate_key(self._rsa_key_size, private=True)
        else:
            key = ECKey.generate_key("P-256", private=True)
        key.ensure_kid()
        return key

    def _write(self, stored: StoredKey) -> None:
        record = {
            "jwk": stored.key.as_dict(private=True),
            "state": stored.state,
            "created_at": stored.created_at,
            "retired_at": stored.retired_at,
        }
        write_private_file(self._dir / f"{stored.kid}.json", json.dumps(record))

    def _bump(self) -> None:
        write_private_file(self._dir / "generation", secrets.token_hex(8))

    def _stat_generation(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._dir / "generation")
        except FileNotFoundError:
            return None
        # A bump replaces the file (new inode, new mtime); size guards a coarse clock.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read_generation(self) -> str:
        try:
            return (self._dir / "generation").read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def _import(self, jwk: dict[str, Any]) -> SigningKey:
        """The parsed key for ``jwk``: imported the first time its kid is met, then reused."""
        kid = jwk.get("kid")
        known = self._parsed.get(kid) if isinstance(kid, str) else None
        if known is not None:
            return known
        key: SigningKey = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
        key.ensure_kid()
        self._parsed[str(key.kid)] = key
        return key

    def _load(self) -> None:
        generation_stat = self._stat_generation()
        generation = self._read_generation()
        loaded: list[StoredKey] = []
        for path in sorted(self._dir.glob("*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            loaded.append(
                StoredKey(
                    self._import(record["jwk"]),
                    record["state"],
                    record["created_at"],
                    record["retired_at"],
                )
            )
        order = {"active": 0, "next": 1, "retired": 2}
        loaded.sort(key=lambda s: (s.family, order[s.state], -(s.retired_at or 0)))
        active: dict[str, StoredKey] = {}
        for stored in loaded:
            if stored.state == "active":
                active.setdefault(stored.family, stored)
        present = {s.kid for s in loaded}
        with self._lock:
            self._keys = tuple(loaded)
            self._active = active
            self._published = {}
            self._latest = None
            self._parsed = {kid: k for kid, k in self._parsed.items() if kid in present}
            self._generation = generation
            self._generation_stat = generation_stat
            self._checked_at = time.monotonic()

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_INTERVAL:
            return
        self._checked_at = now
        current = self._stat_generation()
        if current == self._generation_stat:
            return
        if self._read_generation() != self._generation:
            self._load()
        else:
            self._generation_stat = current


@dataclass(frozen=True, slots=True)
class _Published:
    """The public face of one set of keys, computed once."""

    key_set: KeySet
    jwks: tuple[dict[str, Any], ...]
    jwks_json: bytes

    @classmethod
    def build(cls, keys: tuple[StoredKey, ...]) -> _Published:
        entries = []
        for stored in keys:
            public = stored.key.as_dict(private=False)
            public["use"] = "sig"
            entries.append(public)
        return cls(
            key_set=KeySet([s.key for s in keys]),
            jwks=tuple(entries),
            jwks_json=orjson.dumps({"keys": entries}),
        )
