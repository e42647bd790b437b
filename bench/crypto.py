"""Per-operation cost of the signing and serialisation on the token path (issue 9 item 4).

A benchmark, not a test: the numbers behind signing access tokens with ES256 while ID tokens,
userinfo JWTs and logout tokens stay PS256 (DECISIONS.md #1), and behind the caches of
``idp.keys.KeyRing``. Everything runs in-process with keys made by the product's ``KeyRing`` in
a temporary directory; no server, no network.

    .venv/bin/python bench/crypto.py            # about half a minute
    .venv/bin/python bench/crypto.py --quick    # a rough pass in a few seconds

Each line is the best of five timed runs of one operation, in microseconds per call. "ours" is
``idp.protocol.jose.sign_jwt`` (cryptography directly); "joserfc" is ``joserfc.jwt.encode`` on
the same key, for comparison. Other load on the machine moves the numbers: run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from joserfc import jwt
from starlette.responses import JSONResponse as StarletteJSONResponse

from idp.keys import KeyRing, _Published
from idp.protocol.config import ProviderConfig
from idp.protocol.jose import SIGNING_ALGS, verify_jwt
from idp.protocol.models import Grant
from idp.protocol.tokens import access_token
from idp.protocol.userinfo import UserInfoEndpoint
from idp.state import MemoryStateStore
from idp.web.responses import JSONResponse

ISSUER = "https://idp.example.nl"
CLAIMS: dict[str, Any] = {
    "iss": ISSUER,
    "sub": "q" * 43,
    "aud": f"{ISSUER}/userinfo",
    "client_id": "epd-huisarts",
    "iat": 1_780_000_000,
    "nbf": 1_780_000_000,
    "exp": 1_780_003_600,
    "jti": "j" * 43,
    "scope": "openid",
    "auth_time": 1_780_000_000,
    "acr": "http://eidas.europa.eu/LoA/high",
    "gid": "g" * 43,
}


def measure(operation: Callable[[], object], seconds: float) -> float:
    """Microseconds per call: the best of five runs of about ``seconds`` / 5 each (the
    fastest run is the one least disturbed by other load, as the timeit docs advise)."""
    operation()
    number = 1
    while timeit.timeit(operation, number=number) < seconds / 50:
        number *= 2
    runs = [timeit.timeit(operation, number=number) / number for _ in range(5)]
    return min(runs) * 1e6


def row(name: str, micros: float) -> None:
    print(f"  {name:<52} {micros:>10.1f} µs")


def rsa_rows(size: int, ring: KeyRing, alg: str, budget: float) -> None:
    keys = ring.verification_keys()
    token = ring.sign(CLAIMS, alg, "at+jwt")
    key = ring.active("RSA").key
    header = {"typ": "at+jwt", "alg": alg, "kid": key.kid}
    row(f"{alg} RSA-{size} sign (ours)", measure(partial(ring.sign, CLAIMS, alg), budget))
    row(
        f"{alg} RSA-{size} sign (joserfc)",
        measure(partial(jwt.encode, header, CLAIMS, key, algorithms=[alg]), budget),
    )
    row(f"{alg} RSA-{size} verify", measure(partial(verify_jwt, token, keys, SIGNING_ALGS), budget))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, rougher numbers")
    args = parser.parse_args(argv)
    budget = 0.1 if args.quick else 0.6
    with tempfile.TemporaryDirectory(prefix="zorg-bench-crypto-") as tmp:
        rings = {size: KeyRing(Path(tmp) / str(size), rsa_key_size=size) for size in (2048, 3072)}
        print("JWS sign and verify (one token of RFC 9068 access-token claims)")
        for size, ring in rings.items():
            for alg in ("PS256", "RS256"):
                rsa_rows(size, ring, alg, budget)
        ring = rings[3072]
        keys = ring.verification_keys()
        ec_key = ring.active("EC").key
        ec_header = {"typ": "at+jwt", "alg": "ES256", "kid": ec_key.kid}
        es_token = ring.sign(CLAIMS, "ES256", "at+jwt")
        row("ES256 P-256 sign (ours)", measure(lambda: ring.sign(CLAIMS, "ES256"), budget))
        row(
            "ES256 P-256 sign (joserfc)",
            measure(lambda: jwt.encode(ec_header, CLAIMS, ec_key, algorithms=["ES256"]), budget),
        )
        row("ES256 P-256 verify", measure(lambda: verify_jwt(es_token, keys, SIGNING_ALGS), budget))

        print("JWKS (4 keys: RSA-3072 and P-256, active and next)")
        stored = tuple(ring.keys())
        row(
            "build: public JWKs, KeySet, JSON bytes",
            measure(lambda: _Published.build(stored), budget),
        )
        row("served: KeyRing.public_jwks_json() (cached)", measure(ring.public_jwks_json, budget))
        row("KeyRing.verification_keys() (cached)", measure(ring.verification_keys, budget))

        print("Access token end to end: claims, sign; then userinfo's check (RSA-3072 ring)")
        state = MemoryStateStore()
        now = int(time.time())
        grant = Grant(
            grant_id="g" * 43,
            client_id="epd-huisarts",
            sub="q" * 43,
            dezi_nummer="900000027",
            declaration_id="d-1",
            scope=("openid",),
            acr="http://eidas.europa.eu/LoA/high",
            auth_time=now,
            issued_at=now,
        )
        state.put_grant(grant, 3600)
        es256 = ProviderConfig(issuer=ISSUER, pairwise_secret=b"p" * 32)
        for config in (es256, replace(es256, access_token_signing_alg="PS256")):
            alg = config.access_token_signing_alg
            userinfo = UserInfoEndpoint(config, state, None, None, ring)  # type: ignore[arg-type]
            token = access_token(config, ring, grant, now)[0]
            row(f"issue ({alg})", measure(partial(access_token, config, ring, grant, now), budget))
            row(
                f"validate at userinfo ({alg})",
                measure(partial(userinfo.validate_access_token, token), budget),
            )

        print("JSON (a token response body)")
        body = {
            "access_token": es_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid",
            "id_token": ring.sign(CLAIMS, "PS256"),
        }
        row("Starlette JSONResponse (json)", measure(lambda: StarletteJSONResponse(body), budget))
        row("idp.web.responses.JSONResponse (orjson)", measure(lambda: JSONResponse(body), budget))
        record = grant.to_json()
        row("Grant.to_json (orjson)", measure(grant.to_json, budget))
        row("Grant.from_json (orjson)", measure(lambda: Grant.from_json(record), budget))
        row("json.loads of the same record", measure(lambda: json.loads(record), budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
