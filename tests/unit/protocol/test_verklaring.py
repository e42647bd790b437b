"""The verklaring builder (Dezi v0.7 §2.6) and its RSA-only eSeal key ring."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from joserfc.jwk import KeySet

from idp.keys import KeyRing
from idp.protocol.jose import JoseRejected, unverified_header, verify_jwt
from idp.protocol.models import LOA_HIGH
from idp.protocol.verklaring import (
    VERKLARING_CLAIMS,
    VERKLARING_TTL,
    VerklaringIssuer,
    canonical_uuid,
)
from tests.dezi_support import validate
from tests.unit.protocol.fakes import FakeDeclaration

ISSUER = "https://idp.example.nl"
NOW = 1_790_000_000
DECLARATION = FakeDeclaration(
    declaration_id="8539f75d-634c-47db-bb41-28791dfd1f8d",
    dezi_nummer="900000027",
    voorletters="J.",
    voorvoegsel="van der",
    achternaam="Berg",
    abonnee_nummer="90000107",
    abonnee_naam="Thuiszorg IJsselvallei",
    rol_code="86.000",
    rol_naam="VIG-er",
    rol_code_bron="http://www.dezi.nl/rol_code_bron/wet_big_art34",
)


@pytest.fixture(scope="module")
def eseal(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(
        tmp_path_factory.mktemp("eseal"),
        rsa_key_size=2048,
        subdir="verklaring-keys",
        families=("RSA",),
    )


@pytest.fixture
def issuer(eseal: KeyRing) -> VerklaringIssuer:
    return VerklaringIssuer(ISSUER, eseal)


def test_claims_are_exactly_those_of_dezi_v07(issuer: VerklaringIssuer) -> None:
    claims = issuer.claims(DECLARATION, NOW)
    assert tuple(claims) == VERKLARING_CLAIMS
    assert claims["verklaring_id"] == DECLARATION.declaration_id
    assert claims["status_uri"] == f"{ISSUER}/status/v1/verklaring/{DECLARATION.declaration_id}"
    assert claims["json_schema"] == f"{ISSUER}/json_schemas/v1/verklaring.json"
    assert claims["loa_dezi"] == LOA_HIGH
    assert (claims["nbf"], claims["exp"]) == (NOW, NOW + VERKLARING_TTL)
    assert claims["voorvoegsel"] == "van der"
    validate(claims, "verklaring.json")


def test_a_null_prefix_stays_null(issuer: VerklaringIssuer) -> None:
    claims = issuer.claims(replace(DECLARATION, voorvoegsel=None), NOW)
    assert claims["voorvoegsel"] is None
    validate(claims, "verklaring.json")


def test_every_verklaring_has_its_own_jti(issuer: VerklaringIssuer) -> None:
    assert issuer.claims(DECLARATION, NOW)["jti"] != issuer.claims(DECLARATION, NOW)["jti"]


def test_never_valid_beyond_the_declaration(issuer: VerklaringIssuer) -> None:
    end = datetime.fromtimestamp(NOW + 3600, UTC)
    claims = issuer.claims(replace(DECLARATION, valid_until=end), NOW)
    assert claims["exp"] == NOW + 3600
    with pytest.raises(ValueError, match="ends before"):
        issuer.claims(replace(DECLARATION, valid_until=datetime.fromtimestamp(NOW, UTC)), NOW)


def test_a_declaration_id_must_be_a_uuid(issuer: VerklaringIssuer) -> None:
    with pytest.raises(ValueError, match="UUID"):
        issuer.claims(replace(DECLARATION, declaration_id="decl-1"), NOW)


def test_signed_rs256_with_jku_and_kid_of_the_eseal_key(
    issuer: VerklaringIssuer, eseal: KeyRing
) -> None:
    token, claims = issuer.issue(DECLARATION, NOW)
    header = unverified_header(token)
    assert header == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": eseal.active("RSA").kid,
        "jku": f"{ISSUER}/dezi/jwks.json",
    }
    keys = KeySet.import_key_set(issuer.public_jwks())
    assert verify_jwt(token, keys, ("RS256",), allowed_headers=frozenset({"jku"}))[1] == claims
    # Without naming jku as expected, the hardened verifier refuses the header.
    with pytest.raises(JoseRejected, match="key-carrying header"):
        verify_jwt(token, keys, ("RS256",))


def test_eseal_jwks_is_rsa_only_and_names_rs256(issuer: VerklaringIssuer, eseal: KeyRing) -> None:
    jwks = issuer.public_jwks()
    assert {k["kty"] for k in jwks["keys"]} == {"RSA"}
    assert {(k["use"], k["alg"]) for k in jwks["keys"]} == {("sig", "RS256")}
    assert len(jwks["keys"]) == 2  # active and next
    assert all("d" not in k for k in jwks["keys"])


def test_eseal_ring_lives_apart_from_the_id_token_keys(tmp_path: Path) -> None:
    main = KeyRing(tmp_path, rsa_key_size=2048)
    seal = KeyRing(tmp_path, rsa_key_size=2048, subdir="verklaring-keys", families=("RSA",))
    assert (tmp_path / "verklaring-keys").is_dir()
    assert not {k.kid for k in main.keys()} & {k.kid for k in seal.keys()}
    assert {k.family for k in seal.keys()} == {"RSA"}
    with pytest.raises(ValueError, match="families"):
        KeyRing(tmp_path, subdir="x", families=("OKP",))


def test_extra_header_cannot_replace_alg(eseal: KeyRing) -> None:
    from idp.protocol.jose import sign_jwt

    with pytest.raises(ValueError, match="replace"):
        sign_jwt({}, eseal.active("RSA").key, "RS256", extra_header={"alg": "none"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8539F75D-634C-47DB-BB41-28791DFD1F8D", "8539f75d-634c-47db-bb41-28791dfd1f8d"),
        ("8539f75d634c47dbbb4128791dfd1f8d", None),  # 32 hex digits: not the path form
        ("{8539f75d-634c-47db-bb41-28791dfd1f8}", None),
        ("", None),
        (str(uuid.UUID(int=0)), "00000000-0000-0000-0000-000000000000"),
    ],
)
def test_canonical_uuid(value: str, expected: str | None) -> None:
    assert canonical_uuid(value) == expected
