"""The private key this OP uses as a client of an upstream OP (``private_key_jwt``, RFC 7523
§2.2, OIDC Core §9), and the public JWKS to register there.

Read at start-up; every problem stops it with a message that names the file and says what to
change. PS256 needs an RSA key of at least 2048 bits, ES256 a P-256 key (DECISIONS.md #1).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, RSAKey

from idp.errors import ConfigurationError
from idp.protocol.jose import SigningKey


def load_client_key(path: Path, alg: str) -> SigningKey:
    """The private key for ``private_key_jwt``: a PEM (PKCS#8) or a JWK file, not readable by
    others, of the type ``alg`` needs (RSA of at least 2048 bits for PS256, P-256 for ES256)."""
    where = f"upstream private_key_file {path}"
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(f"{where}: cannot read it ({exc.strerror})") from None
    if os.name == "posix" and mode & 0o077:
        raise ConfigurationError(f"{where}: readable by others; chmod 600 it")
    family = RSAKey if alg == "PS256" else ECKey
    try:
        source: Any = json.loads(raw) if raw.lstrip().startswith(b"{") else raw
        with warnings.catch_warnings():
            # joserfc warns about RSA keys under 2048 bits; refused below, with a message.
            warnings.simplefilter("ignore", SecurityWarning)
            key: SigningKey = family.import_key(source)
    except (JoseError, ValueError, TypeError):
        kind = "an RSA" if alg == "PS256" else "a P-256 EC"
        raise ConfigurationError(
            f"{where}: not {kind} private key (PEM or JWK) for {alg}"
        ) from None
    if not key.is_private:
        raise ConfigurationError(f"{where}: holds a public key; the private key is needed")
    if isinstance(key, RSAKey) and key.raw_value.key_size < 2048:
        raise ConfigurationError(f"{where}: RSA keys need at least 2048 bits")
    if isinstance(key, ECKey) and key.curve_name != "P-256":
        raise ConfigurationError(f"{where}: ES256 needs a P-256 key")
    key.ensure_kid()
    return key


def public_jwks(key: SigningKey) -> dict[str, Any]:
    """The JWKS to register at the upstream OP for this key (with its ``kid`` and ``alg``)."""
    public = key.as_dict(private=False)
    public.update({"use": "sig", "alg": "PS256" if isinstance(key, RSAKey) else "ES256"})
    return {"keys": [public]}


__all__ = ["load_client_key", "public_jwks"]
