"""Revocation (Dezi v0.7 §6): status words, the signed list, its 30-second reuse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from joserfc.jwk import KeySet

from idp.keys import KeyRing
from idp.protocol.jose import unverified_header, verify_jwt
from idp.protocol.revocation import (
    ACTIEF,
    GESCHORST,
    INGETROKKEN,
    NOG_NIET_GELDIG,
    STATUS_VALUES,
    VERLOPEN,
    MalformedVerklaringId,
    RevocationService,
    iso_time,
    verklaring_status,
)
from idp.protocol.verklaring import VERKLARING_TTL, VerklaringIssuer
from tests.dezi_support import validate

ISSUER = "https://idp.example.nl"
NOW = 1_790_000_000.0
AT = datetime.fromtimestamp(NOW, UTC)
ID = "8539f75d-634c-47db-bb41-28791dfd1f8d"


@dataclass(frozen=True)
class Status:
    declaration_id: str = ID
    status: str = "active"
    organisation_status: str = "active"
    valid_from: datetime = AT - timedelta(days=30)
    valid_until: datetime | None = None


@dataclass(frozen=True)
class Revoked:
    declaration_id: str
    revoked_at: datetime


@dataclass
class FakeRevocations:
    statuses: dict[str, Status] = field(default_factory=dict)
    revoked: list[Revoked] = field(default_factory=list)
    calls: list[tuple[datetime, datetime]] = field(default_factory=list)

    def declaration_status(self, declaration_id: str) -> Status | None:
        return self.statuses.get(declaration_id)

    def revocations(self, since: datetime, at: datetime) -> Sequence[Revoked]:
        self.calls.append((since, at))
        return list(self.revoked)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def verklaring(tmp_path_factory: pytest.TempPathFactory) -> VerklaringIssuer:
    ring = KeyRing(tmp_path_factory.mktemp("k"), rsa_key_size=2048, families=("RSA",))
    return VerklaringIssuer(ISSUER, ring)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (Status(), ACTIEF),
        (Status(status="revoked"), INGETROKKEN),
        (Status(organisation_status="ended"), INGETROKKEN),
        (Status(status="revoked", organisation_status="suspended"), INGETROKKEN),
        (Status(status="suspended"), GESCHORST),
        (Status(organisation_status="suspended"), GESCHORST),
        (Status(status="expired"), VERLOPEN),
        (Status(valid_until=AT), VERLOPEN),
        (Status(valid_until=AT + timedelta(seconds=1)), ACTIEF),
        (Status(valid_from=AT + timedelta(days=1)), NOG_NIET_GELDIG),
        (Status(organisation_status="pending"), NOG_NIET_GELDIG),
    ],
)
def test_status_words(record: Status, expected: str) -> None:
    assert verklaring_status(record, AT) == expected
    assert expected in STATUS_VALUES


def test_status_body(verklaring: VerklaringIssuer) -> None:
    register = FakeRevocations(statuses={ID: Status(status="revoked")})
    service = RevocationService(register, verklaring, clock=Clock())
    body = service.status(ID.upper())
    assert body == {"verklaringId": ID, "status": "ingetrokken"}
    validate(body, "status.json")
    assert service.status("00000000-0000-0000-0000-000000000000") is None
    with pytest.raises(MalformedVerklaringId):
        service.status("not-a-uuid")


def test_signed_list(verklaring: VerklaringIssuer) -> None:
    revoked_at = AT - timedelta(hours=2)
    register = FakeRevocations(revoked=[Revoked(ID, revoked_at)])
    service = RevocationService(register, verklaring, clock=Clock())
    signed = service.current()
    header = unverified_header(signed.token)
    assert header["jku"] == f"{ISSUER}/dezi/jwks.json" and header["alg"] == "RS256"
    keys = KeySet.import_key_set(verklaring.public_jwks())
    _, claims = verify_jwt(signed.token, keys, ("RS256",), allowed_headers=frozenset({"jku"}))
    assert claims == signed.claims
    assert claims["revocaties"] == [{"verklaringId": ID, "revocatieTijdstip": iso_time(revoked_at)}]
    assert claims["revocaties"][0]["revocatieTijdstip"].endswith("+00:00")
    assert claims["nbf"] == int(NOW) and claims["exp"] == int(NOW) + 900
    assert claims["ververs_tijdstip"] == iso_time(NOW + 60)
    assert claims["iss"] == ISSUER
    validate(claims, "revocatielijst.json")
    # Only revocations that can still cover an unexpired verklaring are asked for.
    assert register.calls == [(AT - timedelta(seconds=VERKLARING_TTL), AT)]


def test_the_list_is_reused_at_most_30_seconds(verklaring: VerklaringIssuer) -> None:
    clock = Clock()
    register = FakeRevocations()
    service = RevocationService(register, verklaring, clock=clock)
    first = service.current()
    assert service.max_age(first) == 30
    clock.now += 29
    assert service.current() is first and service.max_age(first) == 1
    register.revoked.append(Revoked(ID, AT))
    clock.now += 1
    second = service.current()
    assert second is not first and len(second.claims["revocaties"]) == 1
    assert second.etag != first.etag
    service.invalidate()
    assert service.current() is not second
    assert len(register.calls) == 3


def test_a_clock_going_back_regenerates(verklaring: VerklaringIssuer) -> None:
    clock = Clock()
    service = RevocationService(FakeRevocations(), verklaring, clock=clock)
    first = service.current()
    clock.now -= 5
    assert service.current() is not first


def test_reuse_beyond_30_seconds_is_refused(verklaring: VerklaringIssuer) -> None:
    with pytest.raises(ValueError, match="30 s"):
        RevocationService(FakeRevocations(), verklaring, cache_seconds=31)
