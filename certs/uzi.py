"""The UZI-pas identity in a certificate: subjectAltName otherName ``2.5.5.5``.

CPS UZI-register v10.x (``uzi-certificates.md`` §4): an ``otherName`` with type-id ``2.5.5.5``
whose value is an IA5String ``<OID CA>-<versie>-<UZI-nr>-<pastype>-<abonneenr>-<rol>-<AGB>``.
The value is decoded as DER (tag, then length, §5), never by searching for a separator
character as pUZI does: the length byte of a 64-character string is ``@``, and strings of 128
characters or more use the long length form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

from certs.errors import UziNameMalformed, UziNameMissing

__all__ = [
    "CA_OIDS",
    "PRODUCTION_CA_OIDS",
    "TEST_CA_OID",
    "UPN_OID",
    "UZI_SAN_OID",
    "CardType",
    "UziIdentity",
    "der_ia5",
    "parse_uzi_string",
    "read_ia5",
    "uzi_identity",
]

UZI_SAN_OID = ObjectIdentifier("2.5.5.5")
# Windows smart-card logon name ``<UZI-nr>@<abonneenummer>`` (§4, last paragraph).
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

# §4 "CA OIDs": the issuing CA named in the first field.
PRODUCTION_CA_OIDS: dict[str, str] = {
    "2.16.528.1.1003.1.3.5.5.2": "Zorgverlener CA",
    "2.16.528.1.1003.1.3.5.5.3": "Medewerker op naam CA",
    "2.16.528.1.1003.1.3.5.5.4": "Medewerker niet op naam CA",
    "2.16.528.1.1003.1.3.5.5.5": "Server CA",
}
TEST_CA_OID = "2.16.528.1.1007.99.217"  # TEST UZI-register Zorgverlener CA (the real test card)
CA_OIDS: dict[str, str] = {**PRODUCTION_CA_OIDS, TEST_CA_OID: "TEST Zorgverlener CA"}

NO_ROLE = "00.000"
NO_AGB = "00000000"
IA5_TAG = 0x16
MAX_SAN_VALUE = 1024  # far above any real value; bounds what is decoded

_OID = re.compile(r"[0-9]+(?:\.[0-9]+)+", re.ASCII)
_UZI = re.compile(r"[0-9]{9}", re.ASCII)
_URA = re.compile(r"[0-9]{8}", re.ASCII)
_ROLE = re.compile(r"[0-9]{2}\.[0-9]{3}", re.ASCII)
_AGB = re.compile(r"[0-9]{8}", re.ASCII)


class CardType(StrEnum):
    """The pastype letter (CPS §7.1.4, ``uzi-certificates.md`` §1)."""

    ZORGVERLENER = "Z"  # care-provider card, holder named, with a role
    MEDEWERKER_OP_NAAM = "N"  # named employee card, no role
    MEDEWERKER_NIET_OP_NAAM = "M"  # unnamed employee card
    SERVER = "S"  # server certificate

    @property
    def names_a_person(self) -> bool:
        """Z and N numbers are "uniquely linked to the natural person" (§1)."""
        return self in (CardType.ZORGVERLENER, CardType.MEDEWERKER_OP_NAAM)

    @property
    def dutch_name(self) -> str:
        return _DUTCH_NAMES[self]


_DUTCH_NAMES = {
    CardType.ZORGVERLENER: "zorgverlenerpas",
    CardType.MEDEWERKER_OP_NAAM: "medewerkerpas op naam",
    CardType.MEDEWERKER_NIET_OP_NAAM: "medewerkerpas niet op naam",
    CardType.SERVER: "servercertificaat",
}


@dataclass(frozen=True, slots=True)
class UziIdentity:
    """The seven fields of the ``2.5.5.5`` name, checked (§4 table)."""

    ca_oid: str
    version: str
    uzi_number: str
    card_type: CardType
    ura: str  # abonneenummer: the subscriber's URA
    role_code: str  # ``beroep.specialisme``; ``00.000`` on N, M and S cards
    agb_code: str | None  # None when the card carries ``00000000``

    @property
    def has_role(self) -> bool:
        return self.role_code != NO_ROLE

    def __str__(self) -> str:
        """The ``2.5.5.5`` string again (``parse_uzi_string(str(identity)) == identity``)."""
        return (
            f"{self.ca_oid}-{self.version}-{self.uzi_number}-{self.card_type.value}-"
            f"{self.ura}-{self.role_code}-{self.agb_code or NO_AGB}"
        )


# ---- DER IA5String (§5) ---------------------------------------------------------------------


def der_ia5(text: str) -> bytes:
    """DER encoding of an IA5String: tag 0x16, definite length (short or long form), ASCII."""
    data = text.encode("ascii")
    n = len(data)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([IA5_TAG]) + length + data


def read_ia5(der: bytes) -> str:
    """Decode a DER IA5String exactly: one value, minimal definite length, ASCII only."""
    if len(der) < 2:
        raise UziNameMalformed("the 2.5.5.5 value is empty or truncated")
    if der[0] != IA5_TAG:
        raise UziNameMalformed(f"the 2.5.5.5 value is not an IA5String (tag 0x{der[0]:02x})")
    first, pos = der[1], 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 2:
            raise UziNameMalformed("the 2.5.5.5 value has an unsupported length encoding")
        raw = der[2 : 2 + count]
        if len(raw) != count or raw[0] == 0:
            raise UziNameMalformed("the 2.5.5.5 value has a non-DER length")
        length, pos = int.from_bytes(raw, "big"), 2 + count
        if length < 0x80:
            raise UziNameMalformed("the 2.5.5.5 value has a non-DER length")
    if length > MAX_SAN_VALUE:
        raise UziNameMalformed("the 2.5.5.5 value is too long")
    if pos + length != len(der):
        raise UziNameMalformed("the 2.5.5.5 value's length does not match its content")
    body = der[pos:]
    if any(b > 0x7F for b in body):
        raise UziNameMalformed("the 2.5.5.5 value is not ASCII")
    return body.decode("ascii")


# ---- the seven fields (§4) ------------------------------------------------------------------


def parse_uzi_string(value: str, *, ca_oids: frozenset[str] | None = None) -> UziIdentity:
    """Check and split ``<OID CA>-1-<UZI-nr>-<pastype>-<URA>-<rol>-<AGB>``.

    ``ca_oids`` limits the first field (default: every CA of §4, production and test).
    """
    parts = value.split("-")
    if len(parts) != 7:
        raise UziNameMalformed(f"the 2.5.5.5 value has {len(parts)} fields, not 7")
    ca_oid, version, uzi, card, ura, role, agb = parts
    allowed = frozenset(CA_OIDS) if ca_oids is None else ca_oids
    if _OID.fullmatch(ca_oid) is None:
        raise UziNameMalformed("the issuing-CA field is not an OID")
    if ca_oid not in allowed:
        raise UziNameMalformed(f"the issuing CA {ca_oid} is not a UZI-register CA")
    if version != "1":
        raise UziNameMalformed(f"unsupported UZI version {version[:8]!r} (only 1 exists)")
    if _UZI.fullmatch(uzi) is None:
        raise UziNameMalformed("the UZI number must be 9 digits (CPS §7.1.4)")
    try:
        card_type = CardType(card)
    except ValueError:
        raise UziNameMalformed(f"unknown card type {card[:4]!r} (Z, N, M or S)") from None
    if _URA.fullmatch(ura) is None:
        raise UziNameMalformed("the subscriber number (URA) must be 8 digits")
    if _ROLE.fullmatch(role) is None:
        raise UziNameMalformed("the role must have the form NN.NNN")
    if card_type is CardType.ZORGVERLENER and role.startswith("00."):
        raise UziNameMalformed("a Z card must carry a care-provider role, not 00")
    if card_type is not CardType.ZORGVERLENER and role != NO_ROLE:
        raise UziNameMalformed(f"an {card_type.value} card must carry role {NO_ROLE}")
    if _AGB.fullmatch(agb) is None:
        raise UziNameMalformed("the AGB code must be 8 digits (00000000 for none)")
    return UziIdentity(
        ca_oid=ca_oid,
        version=version,
        uzi_number=uzi,
        card_type=card_type,
        ura=ura,
        role_code=role,
        agb_code=None if agb == NO_AGB else agb,
    )


def uzi_identity(
    certificate: x509.Certificate, *, ca_oids: frozenset[str] | None = None
) -> UziIdentity:
    """The UZI identity of a card or server certificate, or ``UziNameMissing`` /
    ``UziNameMalformed`` saying what is wrong."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise UziNameMissing("the certificate has no subjectAltName") from None
    except ValueError as exc:  # an undecodable extension
        raise UziNameMalformed(f"the subjectAltName cannot be decoded: {exc}") from None
    values = [
        name.value
        for name in san.get_values_for_type(x509.OtherName)
        if name.type_id == UZI_SAN_OID
    ]
    if not values:
        raise UziNameMissing("the subjectAltName has no otherName 2.5.5.5 (not a UZI certificate)")
    if len(values) > 1:
        raise UziNameMalformed("the subjectAltName has more than one otherName 2.5.5.5")
    return parse_uzi_string(read_ia5(values[0]), ca_oids=ca_oids)
