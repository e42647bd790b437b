"""The 2.5.5.5 name (uzi-certificates.md §4, §5), with the reference's own examples."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from hypothesis import given
from hypothesis import strategies as st

from certs import (
    CardType,
    UziIdentity,
    UziNameMalformed,
    UziNameMissing,
    der_ia5,
    parse_uzi_string,
    read_ia5,
    uzi_identity,
)
from certs.testca import UziTestPki

REAL_TEST_CARD = "2.16.528.1.1007.99.217-1-900016528-Z-90000382-01.000-00000000"
PRODUCTION_Z = "2.16.528.1.1003.1.3.5.5.2-1-900016528-Z-90000382-01.015-12345678"


def test_the_real_test_card() -> None:
    """§3 and §4: the expired real test card of pUZI-php."""
    identity = parse_uzi_string(REAL_TEST_CARD)
    assert identity == UziIdentity(
        ca_oid="2.16.528.1.1007.99.217",
        version="1",
        uzi_number="900016528",
        card_type=CardType.ZORGVERLENER,
        ura="90000382",
        role_code="01.000",
        agb_code=None,
    )
    assert identity.has_role
    assert str(identity) == REAL_TEST_CARD


def test_production_string_is_64_characters_with_length_byte_at_sign() -> None:
    """§5 gotcha: pUZI strips up to '=' or '?'; a production string has length byte '@'."""
    assert len(PRODUCTION_Z) == 64
    der = der_ia5(PRODUCTION_Z)
    assert der[:2] == b"\x16@"
    identity = parse_uzi_string(read_ia5(der))
    assert identity.agb_code == "12345678"
    assert identity.ca_oid == "2.16.528.1.1003.1.3.5.5.2"


@pytest.mark.parametrize(
    ("value", "card_type"),
    [
        ("2.16.528.1.1003.1.3.5.5.3-1-900000027-N-90000111-00.000-00000000", CardType("N")),
        ("2.16.528.1.1003.1.3.5.5.4-1-900000035-M-90000111-00.000-00000000", CardType("M")),
        ("2.16.528.1.1003.1.3.5.5.5-1-123456782-S-90000123-00.000-00000000", CardType("S")),
    ],
)
def test_employee_and_server_cards_have_no_role(value: str, card_type: CardType) -> None:
    identity = parse_uzi_string(value)
    assert identity.card_type is card_type
    assert not identity.has_role
    assert identity.card_type.names_a_person is (card_type is CardType.MEDEWERKER_OP_NAAM)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # pUZI mock: an 8-digit UZI number (invalid per the CPS).
        ("2.16.528.1.1003.1.3.5.5.2-1-11111111-N-90000111-01.015-00000000", "9 digits"),
        # pUZI negative mocks: wrong CA, version 1252, missing fields.
        ("9.9.9.9.9.9.9.9.9.9-1-900016528-Z-90000382-01.015-00000000", "not a UZI-register CA"),
        ("2.16.528.1.1007.99.217-1252-900016528-Z-90000382-01.015-00000000", "version"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-90000382", "5 fields"),
        ("", "1 fields"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-90000382-01.015-00000000-x", "8 fields"),
        ("urn-1-900016528-Z-90000382-01.015-00000000", "not an OID"),
        ("2.16.528.1.1007.99.217-1-900016528-X-90000382-01.015-00000000", "card type"),
        ("2.16.528.1.1007.99.217-1-900016528-z-90000382-01.015-00000000", "card type"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-9000038-01.015-00000000", "URA"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-90000382-01015-00000000", "NN.NNN"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-90000382-00.000-00000000", "care-provider role"),
        ("2.16.528.1.1007.99.217-1-900016528-N-90000382-01.015-00000000", "role 00.000"),
        ("2.16.528.1.1007.99.217-1-900016528-S-90000382-30.000-00000000", "role 00.000"),
        ("2.16.528.1.1007.99.217-1-900016528-Z-90000382-01.015-0000000", "AGB"),
        ("2.16.528.1.1007.99.217-1-\uff1900016528-Z-90000382-01.015-00000000", "9 digits"),
    ],
)
def test_malformed_strings(value: str, message: str) -> None:
    with pytest.raises(UziNameMalformed, match=message):
        parse_uzi_string(value)


def test_ca_oids_can_be_limited() -> None:
    with pytest.raises(UziNameMalformed, match="not a UZI-register CA"):
        parse_uzi_string(REAL_TEST_CARD, ca_oids=frozenset({"2.16.528.1.1003.1.3.5.5.2"}))


# ---- DER (§5) --------------------------------------------------------------------------------


def test_long_form_length_for_128_characters_and_more() -> None:
    text = "A" * 200
    der = der_ia5(text)
    assert der[:3] == b"\x16\x81\xc8"
    assert read_ia5(der) == text
    assert der_ia5("B" * 300)[:4] == b"\x16\x82\x01\x2c"
    assert read_ia5(der_ia5("B" * 300)) == "B" * 300


@pytest.mark.parametrize(
    ("der", "message"),
    [
        (b"", "empty or truncated"),
        (b"\x16", "empty or truncated"),
        (b"\x0c\x03abc", "not an IA5String"),  # a UTF8String (pUZI negative mock)
        (b"\x16\x04abc", "does not match"),
        (b"\x16\x02abc", "does not match"),
        (b"\x16\x81\x03abc", "non-DER length"),  # long form for a short length
        (b"\x16\x82\x00\x03abc", "non-DER length"),  # leading zero length octet
        (b"\x16\x80abc", "unsupported length"),  # indefinite length
        (b"\x16\x85\x00\x00\x00\x00\x03abc", "unsupported length"),
        (b"\x16\x03a\xe9c", "not ASCII"),
        (b"\x16\x82\x04\x01" + b"a" * 1025, "too long"),
    ],
)
def test_strict_der(der: bytes, message: str) -> None:
    with pytest.raises(UziNameMalformed, match=message):
        read_ia5(der)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=1024))
def test_ia5_round_trip(text: str) -> None:
    assert read_ia5(der_ia5(text)) == text


@given(
    uzi=st.from_regex(r"[0-9]{9}", fullmatch=True),
    ura=st.from_regex(r"[0-9]{8}", fullmatch=True),
    role=st.from_regex(r"(0[1-9]|[1-9][0-9])\.[0-9]{3}", fullmatch=True),
    agb=st.from_regex(r"[0-9]{8}", fullmatch=True),
)
def test_z_card_round_trip(uzi: str, ura: str, role: str, agb: str) -> None:
    value = f"2.16.528.1.1003.1.3.5.5.2-1-{uzi}-Z-{ura}-{role}-{agb}"
    identity = parse_uzi_string(read_ia5(der_ia5(value)))
    assert (identity.uzi_number, identity.ura, identity.role_code) == (uzi, ura, role)
    assert str(identity) == value


# ---- in a certificate ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> UziTestPki:
    return UziTestPki()


@pytest.mark.parametrize("card_type", ["Z", "N", "M", "S"])
def test_each_card_type_from_the_test_ca(pki: UziTestPki, card_type: str) -> None:
    card = pki.card("900000027", card_type, ura="90000101")
    identity = uzi_identity(card.certificate)
    assert identity.card_type is CardType(card_type)
    assert identity.uzi_number == "900000027"
    assert identity.ura == "90000101"
    assert identity.role_code == ("01.015" if card_type == "Z" else "00.000")


def test_missing_names(pki: UziTestPki) -> None:
    with pytest.raises(UziNameMissing, match="no subjectAltName"):
        uzi_identity(pki.card(with_san=False).certificate)
    with pytest.raises(UziNameMissing, match=r"no otherName 2\.5\.5\.5"):
        uzi_identity(pki.card(uzi_name=None).certificate)  # only the UPN is left


def test_malformed_names_in_certificates(pki: UziTestPki) -> None:
    with pytest.raises(UziNameMalformed, match="not an IA5String"):
        uzi_identity(pki.card(uzi_name=b"\x0c\x05hello").certificate)
    with pytest.raises(UziNameMalformed, match="version"):
        uzi_identity(pki.card(uzi_name=REAL_TEST_CARD.replace("-1-", "-1252-", 1)).certificate)


def test_two_uzi_names_are_refused(pki: UziTestPki) -> None:
    card = pki.card()
    san = x509.SubjectAlternativeName(
        [
            x509.OtherName(x509.ObjectIdentifier("2.5.5.5"), der_ia5(REAL_TEST_CARD)),
            x509.OtherName(x509.ObjectIdentifier("2.5.5.5"), der_ia5(PRODUCTION_Z)),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(card.certificate.subject)
        .issuer_name(card.certificate.issuer)
        .public_key(card.key.public_key())
        .serial_number(1)
        .not_valid_before(card.certificate.not_valid_before_utc)
        .not_valid_after(card.certificate.not_valid_after_utc)
        .add_extension(san, critical=False)
    )
    doubled = builder.sign(pki.issuing.key, hashes.SHA256())
    with pytest.raises(UziNameMalformed, match="more than one"):
        uzi_identity(doubled)
