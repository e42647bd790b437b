"""The relying-party checker (``idp.verklaring_check``): Dezi v0.7 §2.5–§2.8 and §6.

Everything runs against a fake web (``httpx.MockTransport``) that serves the eSeal JWKS, the OP
JWKS, the signed list and status answers, so the tests also count what went over the network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from idp.keys import KeyRing
from idp.protocol.config import ProviderConfig
from idp.protocol.models import LOA_HIGH, Grant
from idp.protocol.revocation import RevocationService
from idp.protocol.userinfo_jwe import DeziUserinfo
from idp.protocol.verklaring import VerklaringIssuer
from idp.verklaring_check import (
    KeyFetcher,
    RevocationList,
    StatusCheck,
    UserinfoChecker,
    VerklaringChecker,
    VerklaringRejected,
)
from tests.dezi_support import FakeWeb, rp_encryption_key
from tests.unit.protocol.fakes import FakeClient, FakeDeclaration

ISSUER = "https://idp.example.nl"
JKU = f"{ISSUER}/dezi/jwks.json"
OP_JWKS = f"{ISSUER}/jwks.json"
LIST_URL = f"{ISSUER}/revocatiecontrole/v1"
NOW = 1_790_000_000.0
ID = "8539f75d-634c-47db-bb41-28791dfd1f8d"
DECLARATION = FakeDeclaration(declaration_id=ID)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Revocations:
    revoked: dict[str, datetime] = field(default_factory=dict)
    status: str = "active"

    def declaration_status(self, declaration_id: str) -> Any:
        if declaration_id != ID:
            return None
        return _Status(ID, self.status, "active", datetime(2025, 1, 1, tzinfo=UTC), None)

    def revocations(self, since: datetime, at: datetime) -> list[Any]:
        return [_Revoked(i, t) for i, t in self.revoked.items()]


@dataclass(frozen=True)
class _Status:
    declaration_id: str
    status: str
    organisation_status: str
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class _Revoked:
    declaration_id: str
    revoked_at: datetime


@dataclass
class World:
    """The OP side (keys, issuer, revocation) and the relying party's fake web."""

    signer: KeyRing
    eseal: KeyRing
    issuer: VerklaringIssuer
    register: Revocations
    service: RevocationService
    clock: Clock
    web: FakeWeb

    def verklaring(self, now: float = NOW, **changes: Any) -> str:
        return self.issuer.issue(replace(DECLARATION, **changes), int(now))[0]

    def checker(self, revocation: Any = None) -> VerklaringChecker:
        http = self.web.client()
        return VerklaringChecker(
            frozenset({JKU}), KeyFetcher(http, clock=self.clock), revocation, clock=self.clock
        )


@pytest.fixture(scope="module")
def rings(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyRing, KeyRing]:
    tmp = tmp_path_factory.mktemp("keys")
    return (
        KeyRing(tmp, rsa_key_size=2048),
        KeyRing(tmp, rsa_key_size=2048, subdir="verklaring-keys", families=("RSA",)),
    )


@pytest.fixture
def world(rings: tuple[KeyRing, KeyRing]) -> Iterator[World]:
    signer, eseal = rings
    clock = Clock()
    issuer = VerklaringIssuer(ISSUER, eseal)
    register = Revocations()
    service = RevocationService(register, issuer, clock=clock, cache_seconds=0)
    web = FakeWeb()
    web.json(JKU, issuer.public_jwks)
    web.json(OP_JWKS, signer.public_jwks)
    web.text(LIST_URL, lambda: service.current().token, "application/jose")
    web.json(f"{ISSUER}/status/v1/verklaring/{ID}", lambda: service.status(ID))
    yield World(signer, eseal, issuer, register, service, clock, web)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_good_verklaring_passes_and_keys_are_fetched_once(world: World) -> None:
    checker = world.checker()
    for _ in range(3):
        checked = checker.check(world.verklaring())
    assert checked.claims["verklaring_id"] == ID and checked.revocation == "not checked"
    assert world.web.hits == {JKU: 1}


def test_tampered_payload_fails_the_signature(world: World) -> None:
    header, payload, signature = world.verklaring().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["abonnee_nummer"] = "90000999"
    with pytest.raises(VerklaringRejected) as caught:
        world.checker().check(f"{header}.{_b64(claims)}.{signature}")
    assert caught.value.code == "signature"


@pytest.mark.parametrize(
    ("now", "code"),
    [(NOW - 93 * 86400, "expired"), (NOW + 3600, "not_yet_valid")],
)
def test_times_are_checked(world: World, now: float, code: str) -> None:
    with pytest.raises(VerklaringRejected) as caught:
        world.checker().check(world.verklaring(now=now))
    assert caught.value.code == code


def test_a_declaration_end_is_the_verklaring_end(world: World) -> None:
    token = world.verklaring(valid_until=datetime.fromtimestamp(NOW + 60, UTC))
    world.checker().check(token)
    world.clock.now += 120
    with pytest.raises(VerklaringRejected, match="expired"):
        world.checker().check(token)


def test_jku_outside_the_allow_list_is_not_even_fetched(world: World) -> None:
    evil = RSAKey.generate_key(2048, private=True)
    evil.ensure_kid()
    header = {"alg": "RS256", "typ": "JWT", "kid": evil.kid, "jku": "https://evil.example/jwks"}
    token = jwt.encode(header, world.issuer.claims(DECLARATION, int(NOW)), evil, ["RS256"])
    with pytest.raises(VerklaringRejected) as caught:
        world.checker().check(token)
    assert caught.value.code == "jku_not_allowed"
    assert world.web.total() == 0


def test_a_foreign_key_behind_the_allowed_jku_fails(world: World) -> None:
    evil = RSAKey.generate_key(2048, private=True)
    header = {"alg": "RS256", "kid": world.eseal.active("RSA").kid, "jku": JKU}
    token = jwt.encode(header, world.issuer.claims(DECLARATION, int(NOW)), evil, ["RS256"])
    with pytest.raises(VerklaringRejected, match="signature"):
        world.checker().check(token)


def test_unknown_kid_refetches_at_most_once_per_30_seconds(world: World) -> None:
    checker = world.checker()
    _, payload, signature = world.verklaring().split(".")
    forged = _b64({"alg": "RS256", "typ": "JWT", "kid": "no-such-kid", "jku": JKU})
    for _ in range(5):
        with pytest.raises(VerklaringRejected) as caught:
            checker.check(f"{forged}.{payload}.{signature}")
        assert caught.value.code == "unknown_kid"
    assert world.web.hits == {JKU: 1}
    world.clock.now += 31
    with pytest.raises(VerklaringRejected):
        checker.check(f"{forged}.{payload}.{signature}")
    assert world.web.hits == {JKU: 2}


def test_a_rotated_key_is_found(world: World, tmp_path: Any) -> None:
    ring = KeyRing(tmp_path, rsa_key_size=2048, subdir="v", families=("RSA",))
    issuer = VerklaringIssuer(ISSUER, ring)
    world.web.json(JKU, issuer.public_jwks)
    checker = world.checker()
    checker.check(issuer.issue(DECLARATION, int(NOW))[0])
    ring.rotate()  # the next key, already published, signs now: no refetch needed
    checker.check(issuer.issue(DECLARATION, int(NOW))[0])
    assert world.web.hits == {JKU: 1}


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_other_algorithms_are_refused(world: World, alg: str) -> None:
    claims = world.issuer.claims(DECLARATION, int(NOW))
    header = {"alg": alg, "kid": world.eseal.active("RSA").kid, "jku": JKU}
    if alg == "none":
        token = f"{_b64(header)}.{_b64(claims)}."
    else:
        token = jwt.encode(header, claims, OctKey.generate_key(256), [alg])
    with pytest.raises(VerklaringRejected) as caught:
        world.checker().check(token)
    assert caught.value.code in ("algorithm", "malformed")


def test_missing_claims_are_named(world: World) -> None:
    claims = world.issuer.claims(DECLARATION, int(NOW))
    del claims["rol_code"], claims["status_uri"]
    token = world.issuer.sign(claims)
    with pytest.raises(VerklaringRejected, match="rol_code, status_uri"):
        world.checker().check(token)
    claims = world.issuer.claims(DECLARATION, int(NOW))
    claims["revocatie_controle_uri"] = claims.pop("status_uri")  # the other name in v0.7
    world.checker().check(world.issuer.sign(claims))


def list_check(world: World) -> RevocationList:
    return RevocationList(
        LIST_URL, world.web.client(), KeyFetcher(world.web.client()), frozenset({JKU}), world.clock
    )


def test_revocation_list(world: World) -> None:
    revocations = list_check(world)
    checker = world.checker(revocations)
    assert checker.check(world.verklaring()).revocation == "list"
    world.register.revoked[ID] = datetime.fromtimestamp(NOW, UTC)
    checker.check(world.verklaring())  # the list is kept until ververs_tijdstip (60 s)
    world.clock.now += 60
    with pytest.raises(VerklaringRejected) as caught:
        checker.check(world.verklaring())
    assert caught.value.code == "revoked" and "+00:00" in caught.value.description
    assert world.web.hits[LIST_URL] == 2


def test_a_list_beyond_joserfcs_default_payload_bound(world: World) -> None:
    moment = datetime.fromtimestamp(NOW, UTC)
    world.register.revoked = {f"{i:08d}-0000-4000-8000-000000000000": moment for i in range(1500)}
    assert len(world.service.current().token) > 128_000
    assert world.checker(list_check(world)).check(world.verklaring()).revocation == "list"
    world.register.revoked[ID] = moment
    world.clock.now += 60
    with pytest.raises(VerklaringRejected, match="revoked"):
        world.checker(list_check(world)).check(world.verklaring(now=world.clock.now))


def test_a_list_that_cannot_be_refreshed_is_used_until_its_exp(world: World) -> None:
    revocations = list_check(world)
    checker = world.checker(revocations)
    checker.check(world.verklaring())
    del world.web.routes[LIST_URL]
    world.clock.now += 600
    checker.check(world.verklaring(now=world.clock.now))  # stale but not expired: used
    world.clock.now += 400
    with pytest.raises(VerklaringRejected) as caught:
        checker.check(world.verklaring(now=world.clock.now))
    assert caught.value.code == "revocation_unavailable"


def test_a_list_signed_elsewhere_is_refused(world: World) -> None:
    evil = RSAKey.generate_key(2048, private=True)
    header = {"alg": "RS256", "kid": "x", "jku": "https://evil.example/jwks"}
    world.web.text(LIST_URL, lambda: jwt.encode(header, {"revocaties": []}, evil), "a/b")
    with pytest.raises(VerklaringRejected) as caught:
        world.checker(list_check(world)).check(world.verklaring())
    assert caught.value.code == "jku_not_allowed"


def test_list_times_may_be_strings_as_in_the_v07_example(world: World) -> None:
    claims = dict(world.service.current().claims)
    claims.update(nbf=str(int(NOW)), exp=str(int(NOW) + 900), revocaties=[])
    world.web.text(LIST_URL, lambda: world.issuer.sign(claims), "application/jose")
    assert world.checker(list_check(world)).check(world.verklaring()).revocation == "list"


def test_status_uri(world: World) -> None:
    checker = world.checker(StatusCheck(world.web.client()))
    assert checker.check(world.verklaring()).revocation == "status"
    world.register.status = "revoked"
    with pytest.raises(VerklaringRejected, match="ingetrokken"):
        checker.check(world.verklaring())


def test_status_uri_unknown_or_elsewhere(world: World) -> None:
    other = "00000000-0000-4000-8000-000000000000"
    checker = world.checker(StatusCheck(world.web.client()))
    with pytest.raises(VerklaringRejected, match="does not know"):
        checker.check(world.verklaring(declaration_id=other))
    claims = world.issuer.claims(DECLARATION, int(NOW))
    claims["status_uri"] = f"https://evil.example/status/v1/verklaring/{ID}"
    with pytest.raises(VerklaringRejected, match="origin"):
        checker.check(world.issuer.sign(claims))


def test_allow_list_must_be_https(world: World) -> None:
    http = world.web.client()
    with pytest.raises(ValueError, match="https"):
        VerklaringChecker(frozenset({"http://idp.example.nl/dezi/jwks.json"}), KeyFetcher(http))
    with pytest.raises(ValueError, match="empty"):
        VerklaringChecker(frozenset(), KeyFetcher(http))


# -- the userinfo response -------------------------------------------------------------------


def userinfo(world: World, client: FakeClient, key: RSAKey, now: float = NOW) -> str:
    config = ProviderConfig(issuer=ISSUER, pairwise_secret=b"x" * 32)
    grant = Grant(
        grant_id="g",
        client_id=client.client_id,
        sub="s",
        dezi_nummer="900000019",
        declaration_id=ID,
        scope=("openid",),
        acr=LOA_HIGH,
        auth_time=int(now),
        issued_at=int(now),
    )
    dezi = DeziUserinfo(config, world.signer, world.issuer)
    return dezi.respond(grant, client, DECLARATION, key, int(now))


def userinfo_checker(world: World, key: RSAKey | None, client_id: str = "epd") -> UserinfoChecker:
    keys = KeySet([key]) if key is not None else None
    return UserinfoChecker(world.checker(list_check(world)), ISSUER, client_id, OP_JWKS, keys)


def test_userinfo_jwe_round_trip(world: World) -> None:
    key = rp_encryption_key("RSA-OAEP-256")
    checked = userinfo_checker(world, key).check(userinfo(world, FakeClient(client_id="epd"), key))
    assert checked.encrypted and checked.envelope["aud"] == "epd"
    assert checked.verklaring.claims["verklaring_id"] == ID
    assert checked.verklaring.revocation == "list"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("other client", "envelope"),
        ("other key", "decryption"),
        ("no key", "decryption"),
        ("expired", "expired"),
    ],
)
def test_userinfo_rejections(world: World, case: str, code: str) -> None:
    key = rp_encryption_key()
    body = userinfo(world, FakeClient(client_id="epd"), key)
    checker = userinfo_checker(world, key)
    if case == "other client":
        checker = userinfo_checker(world, key, client_id="another-epd")
    elif case == "other key":
        checker = userinfo_checker(world, rp_encryption_key())
    elif case == "no key":
        checker = userinfo_checker(world, None)
    else:
        world.clock.now += 400
    with pytest.raises(VerklaringRejected) as caught:
        checker.check(body)
    assert caught.value.code == code


def test_an_envelope_whose_ids_disagree_is_refused(world: World) -> None:
    claims = {
        "jti": "j" * 20,
        "iat": int(NOW),
        "exp": int(NOW) + 300,
        "iss": ISSUER,
        "aud": "epd",
        "loa_authn": LOA_HIGH,
        "json_schema": f"{ISSUER}/json_schemas/v1/userinfo.json",
        "verklaring_id": "00000000-0000-4000-8000-000000000000",
        "verklaring": world.verklaring(),
    }
    signed = world.signer.sign(claims, "PS256")  # signed, not encrypted: also accepted
    with pytest.raises(VerklaringRejected, match="differs"):
        userinfo_checker(world, None).check(signed)
    claims["verklaring_id"] = ID
    checked = userinfo_checker(world, None).check(world.signer.sign(claims, "PS256"))
    assert not checked.encrypted


def test_an_envelope_signed_by_another_key_is_refused(world: World) -> None:
    body = world.eseal.active("RSA").key  # the eSeal key is not an OP signing key
    token = jwt.encode({"alg": "RS256", "kid": body.kid}, {"iss": ISSUER}, body, ["RS256"])
    with pytest.raises(VerklaringRejected) as caught:
        userinfo_checker(world, None).check(token)
    assert caught.value.code == "envelope"
