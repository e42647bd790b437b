"""Benchmark: offline verklaring checks per second on the relying-party side.

"Offline" = what an EPD does per login once its caches are warm: no network at all. The JWKS
behind the allow-listed ``jku`` and the signed revocation list (Dezi v0.7 §6) were fetched once
before timing; the script counts the requests made while timing and reports them (expected 0).

Two measurements, each single-threaded, for ``--seconds`` each:

- ``verklaring``: a bare verklaring (RS256 verify through the ``jku`` allow-list, claims, times,
  a lookup in a revocation list of ``--revocations`` entries);
- ``userinfo``: the whole userinfo response (RSA-OAEP + A256CBC-HS512 JWE decrypt, envelope
  signature and claims, then the verklaring as above).

Keys are made fresh in a temporary directory by the product's own ``KeyRing`` (``--key-size``,
default 3072 like the product; the relying party's encryption key has the same size).

Usage (from the repository root): ``.venv/bin/python bench/verklaring_check.py``
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from joserfc.jwk import KeySet, RSAKey

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from idp.keys import KeyRing  # noqa: E402
from idp.protocol.config import ProviderConfig  # noqa: E402
from idp.protocol.models import LOA_HIGH, Grant  # noqa: E402
from idp.protocol.revocation import RevocationService  # noqa: E402
from idp.protocol.userinfo_jwe import DeziUserinfo  # noqa: E402
from idp.protocol.verklaring import VerklaringIssuer  # noqa: E402
from idp.verklaring_check import (  # noqa: E402
    KeyFetcher,
    RevocationList,
    UserinfoChecker,
    VerklaringChecker,
)

ISSUER = "https://idp.bench.invalid"
JKU = f"{ISSUER}/dezi/jwks.json"
OP_JWKS = f"{ISSUER}/jwks.json"
LIST_URL = f"{ISSUER}/revocatiecontrole/v1"


@dataclass(frozen=True)
class Declaration:
    declaration_id: str
    dezi_nummer: str = "900000027"
    voorletters: str = "J."
    voorvoegsel: str | None = "van der"
    achternaam: str = "Berg"
    abonnee_nummer: str = "90000107"
    abonnee_naam: str = "Thuiszorg IJsselvallei"
    rol_code: str = "86.000"
    rol_naam: str = "VIG-er"
    rol_code_bron: str = "http://www.dezi.nl/rol_code_bron/wet_big_art34"
    valid_from: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Revoked:
    declaration_id: str
    revoked_at: datetime


class Register:
    """The register's revocation read side, with ``count`` revoked declarations."""

    def __init__(self, count: int) -> None:
        now = datetime.now(UTC)
        self.revoked = [
            Revoked(str(uuid.uuid4()), now - timedelta(minutes=i)) for i in range(count)
        ]

    def declaration_status(self, declaration_id: str) -> None:
        return None

    def revocations(self, since: datetime, at: datetime) -> list[Revoked]:
        return self.revoked


def measure(name: str, check: Callable[[], object], seconds: float) -> float:
    check()  # warm-up (and the one-off fetches)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        check()
        count += 1
    rate = count / elapsed
    print(
        f"{name:<11} {rate:8.0f} checks/s  ({count} in {elapsed:.1f} s, {1000 / rate:.2f} ms each)"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timing per measurement")
    parser.add_argument("--key-size", type=int, default=3072, help="RSA key size (all keys)")
    parser.add_argument("--revocations", type=int, default=1000, help="entries on the list")
    args = parser.parse_args()
    if not 0 < args.seconds <= 50:
        parser.error("--seconds must be in (0, 50]: the list would be refreshed after 60 s")

    with tempfile.TemporaryDirectory(prefix="zorg-bench-") as tmp:
        return run(args, Path(tmp))


@dataclass(frozen=True)
class Client:
    client_id: str = "epd"
    profile: str = "dezi"
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None


def run(args: argparse.Namespace, tmp: Path) -> int:
    signer = KeyRing(tmp, rsa_key_size=args.key_size)
    eseal = KeyRing(tmp, rsa_key_size=args.key_size, subdir="verklaring-keys", families=("RSA",))
    issuer = VerklaringIssuer(ISSUER, eseal)
    revocation = RevocationService(Register(args.revocations), issuer)
    routes = {
        JKU: lambda: httpx.Response(200, json=issuer.public_jwks()),
        OP_JWKS: lambda: httpx.Response(200, json=signer.public_jwks()),
        LIST_URL: lambda: httpx.Response(200, text=revocation.current().token),
    }
    requests: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return routes[str(request.url)]()

    http = httpx.Client(transport=httpx.MockTransport(handle))
    keys = KeyFetcher(http)
    listing = RevocationList(LIST_URL, http, keys, frozenset({JKU}))
    checker = VerklaringChecker(frozenset({JKU}), keys, listing)

    declaration = Declaration(str(uuid.uuid4()))
    now = int(time.time())
    verklaring, _ = issuer.issue(declaration, now)
    rp_key = RSAKey.generate_key(args.key_size, private=True, parameters={"use": "enc"})
    rp_key.ensure_kid()
    config = ProviderConfig(issuer=ISSUER, pairwise_secret=b"bench" * 8)
    grant = Grant(
        grant_id="g",
        client_id="epd",
        sub="sub",
        dezi_nummer=declaration.dezi_nummer,
        declaration_id=declaration.declaration_id,
        scope=("openid",),
        acr=LOA_HIGH,
        auth_time=now,
        issued_at=now,
    )
    dezi = DeziUserinfo(config, signer, issuer)
    body = dezi.respond(grant, Client(), declaration, rp_key, now)  # type: ignore[arg-type]
    userinfo = UserinfoChecker(checker, ISSUER, "epd", OP_JWKS, KeySet([rp_key]))

    print(f"Python {platform.python_version()} on {platform.machine()}, joserfc, 1 thread")
    print(f"RSA {args.key_size} bits; revocation list of {args.revocations} entries")
    checker.check(verklaring)
    userinfo.check(body)
    before = len(requests)
    measure("verklaring", lambda: checker.check(verklaring), args.seconds)
    measure("userinfo", lambda: userinfo.check(body), args.seconds)
    print(f"network requests while timing: {len(requests) - before} (warm-up: {before})")
    return 0 if len(requests) == before else 1


if __name__ == "__main__":
    sys.exit(main())
