"""A throwaway PKI that issues UZI-like certificates, for tests and local trials only.

Everything is generated in memory when asked (nothing is committed). It follows
``uzi-certificates.md`` §8: root → issuing CA → card certificate; the card's subject as in §3
(``serialNumber`` = UZI number, ``SN``/``GN`` on Z and N cards, ``title`` on Z cards); the SAN
with the ``2.5.5.5`` otherName (IA5String) and the UPN otherName; for the authenticity
certificate ``keyUsage`` digitalSignature (critical), EKU clientAuth, emailProtection and
documentSigning, and the test policy ``2.16.528.1.1007.99.211`` (§2). RSA 2048.

Besides good cards of each type (Z, N, M, S) it makes the bad ones a verifier must refuse:
expired, revoked (with a CRL), self-signed, issued by another CA, the wrong key usage, and any
``2.5.5.5`` value (malformed strings, a non-IA5String, none at all).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from certs.uzi import NO_ROLE, TEST_CA_OID, UPN_OID, UZI_SAN_OID, CardType, der_ia5

__all__ = ["AUTO", "Issued", "Usage", "UziTestPki"]

# §2: test policy OIDs seen on the real test card, per certificate of the card.
TEST_POLICIES = {
    "authentication": "2.16.528.1.1007.99.211",
    "signature": "2.16.528.1.1007.99.212",
    "confidentiality": "2.16.528.1.1007.99.213",
}
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
Usage = Literal["authentication", "signature", "confidentiality"]


class _Auto(Enum):
    AUTO = "auto"


AUTO = _Auto.AUTO  # "build the 2.5.5.5 name from the card's fields"


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.crt`` and ``<stem>.key`` (0600); return both paths."""
        cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(*attributes: tuple[ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _key_ids(
    builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey, issuer_key: rsa.RSAPrivateKey
) -> x509.CertificateBuilder:
    return builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
    ).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
        critical=False,
    )


def _key_usage(**set_bits: bool) -> x509.KeyUsage:
    bits = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        ),
        False,
    )
    bits.update(set_bits)
    return x509.KeyUsage(**bits, encipher_only=False, decipher_only=False)


_USAGE_BITS: dict[str, dict[str, bool]] = {
    "authentication": {"digital_signature": True},
    "signature": {"content_commitment": True},  # nonRepudiation
    "confidentiality": {"key_encipherment": True, "data_encipherment": True},
}


class UziTestPki:
    """Root CA → issuing CA (``TEST <label> UZI-register Zorgverlener CA``) → cards.

    ``UziTestPki("other")`` is a second, unrelated PKI: its cards are "wrong CA" to the first.
    """

    def __init__(self, label: str = "zorg-idp", *, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)
        self.label = label
        root_key = _new_key()
        root_name = _name(
            (NameOID.COUNTRY_NAME, "NL"),
            (NameOID.ORGANIZATION_NAME, f"TEST {label}"),
            (NameOID.COMMON_NAME, f"TEST {label} UZI Root CA"),
        )
        self.root = Issued(self._ca(root_name, root_key, root_name, root_key, None), root_key)
        ca_key = _new_key()
        ca_name = _name(
            (NameOID.COUNTRY_NAME, "NL"),
            (NameOID.ORGANIZATION_NAME, f"TEST {label}"),
            (NameOID.COMMON_NAME, f"TEST {label} UZI-register Zorgverlener CA"),
        )
        self.issuing = Issued(self._ca(ca_name, ca_key, root_name, root_key, 0), ca_key)
        self._revoked: dict[int, datetime] = {}

    # -- CAs and the bundle --------------------------------------------------------------------

    def _ca(
        self,
        subject: x509.Name,
        key: rsa.RSAPrivateKey,
        issuer: x509.Name,
        issuer_key: rsa.RSAPrivateKey,
        path_length: int | None,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - timedelta(days=1))
            .not_valid_after(self.now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        )
        return _key_ids(builder, key, issuer_key).sign(issuer_key, hashes.SHA256())

    @property
    def bundle_pem(self) -> bytes:
        """The CA bundle a verifier trusts (what nginx's ``ssl_client_certificate`` names)."""
        return self.issuing.cert_pem + self.root.cert_pem

    # -- cards ---------------------------------------------------------------------------------

    def card(
        self,
        uzi_number: str = "900000019",
        card_type: CardType | str = CardType.ZORGVERLENER,
        ura: str = "90000001",
        role: str | None = None,
        agb: str = "00000000",
        *,
        given_name: str = "Anna",
        surname: str = "Jansen",
        organisation: str = "Huisartsenpraktijk Het Spaarne",
        title: str = "Arts",
        uzi_name: str | bytes | _Auto | None = AUTO,
        with_san: bool = True,
        usage: Usage = "authentication",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        self_signed: bool = False,
    ) -> Issued:
        """A card certificate. ``uzi_name``: AUTO builds the ``2.5.5.5`` string from the
        fields; a ``str`` is used as the IA5String text; ``bytes`` are the raw DER value
        (e.g. a UTF8String); ``None`` leaves the otherName out. ``with_san=False`` leaves out
        the whole subjectAltName."""
        kind = CardType(card_type)
        role = (
            role if role is not None else ("01.015" if kind is CardType.ZORGVERLENER else NO_ROLE)
        )
        key = _new_key()
        attributes: list[tuple[ObjectIdentifier, str]] = [
            (NameOID.COUNTRY_NAME, "NL"),
            (NameOID.ORGANIZATION_NAME, organisation),
        ]
        if kind is CardType.ZORGVERLENER:
            attributes.append((NameOID.TITLE, title))
        if kind.names_a_person:
            attributes += [(NameOID.SURNAME, surname), (NameOID.GIVEN_NAME, given_name)]
            common_name = f"{given_name} {surname}"
        else:
            attributes.append((NameOID.ORGANIZATIONAL_UNIT_NAME, "Afdeling ICT"))
            common_name = f"{organisation} {kind.dutch_name}"
        attributes += [(NameOID.SERIAL_NUMBER, uzi_number), (NameOID.COMMON_NAME, common_name)]
        subject = _name(*attributes)
        issuer, issuer_key = (
            (subject, key) if self_signed else (self.issuing.certificate.subject, self.issuing.key)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or self.now - timedelta(hours=1))
            .not_valid_after(not_after or self.now + timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(**_USAGE_BITS[usage]), critical=True)
            .add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(ObjectIdentifier(TEST_POLICIES[usage]), None)]
                ),
                critical=False,
            )
        )
        if usage == "authentication":
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(
                    [
                        ExtendedKeyUsageOID.CLIENT_AUTH,
                        ExtendedKeyUsageOID.EMAIL_PROTECTION,
                        DOCUMENT_SIGNING,
                    ]
                ),
                critical=False,
            )
        if with_san:
            names: list[x509.GeneralName] = [
                x509.OtherName(UPN_OID, _utf8(f"{uzi_number}@{ura}")),
            ]
            if uzi_name is AUTO:
                text = f"{TEST_CA_OID}-1-{uzi_number}-{kind.value}-{ura}-{role}-{agb}"
                names.append(x509.OtherName(UZI_SAN_OID, der_ia5(text)))
            elif isinstance(uzi_name, str):
                names.append(x509.OtherName(UZI_SAN_OID, der_ia5(uzi_name)))
            elif isinstance(uzi_name, bytes):
                names.append(x509.OtherName(UZI_SAN_OID, uzi_name))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = _key_ids(builder, key, issuer_key).sign(issuer_key, hashes.SHA256())
        return Issued(certificate, key)

    def expired_card(self, **fields: object) -> Issued:
        """A Z card whose validity ended yesterday (issued three years before)."""
        end = self.now - timedelta(days=1)
        return self.card(
            not_before=end - timedelta(days=3 * 365),
            not_after=end,
            **fields,  # type: ignore[arg-type]
        )

    # -- revocation ----------------------------------------------------------------------------

    def revoke(self, issued: Issued, at: datetime | None = None) -> None:
        self._revoked[issued.certificate.serial_number] = at or self.now - timedelta(minutes=5)

    def crl(
        self, *, next_update: datetime | None = None, last_update: datetime | None = None
    ) -> x509.CertificateRevocationList:
        """The issuing CA's CRL with every card revoked so far."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issuing.certificate.subject)
            .last_update(last_update or self.now - timedelta(minutes=1))
            .next_update(next_update or self.now + timedelta(days=1))
        )
        for serial, at in self._revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
            )
        return builder.sign(self.issuing.key, hashes.SHA256())

    def crl_pem(self, **kwargs: datetime) -> bytes:
        return self.crl(**kwargs).public_bytes(serialization.Encoding.PEM)

    # -- the TLS server in front (nginx) -------------------------------------------------------

    def server(self, *hosts: str) -> Issued:
        """A TLS server certificate from the root, for host names and IP addresses."""
        key = _new_key()
        names: list[x509.GeneralName] = []
        for host in hosts or ("127.0.0.1", "localhost"):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name((NameOID.COMMON_NAME, hosts[0] if hosts else "127.0.0.1")))
            .issuer_name(self.root.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - timedelta(hours=1))
            .not_valid_after(self.now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
        )
        certificate = _key_ids(builder, key, self.root.key).sign(self.root.key, hashes.SHA256())
        return Issued(certificate, key)


def _utf8(text: str) -> bytes:
    """DER UTF8String (short form; the UPN is always short)."""
    data = text.encode("utf-8")
    if len(data) >= 0x80:
        raise ValueError("UPN too long for this test helper")
    return b"\x0c" + bytes([len(data)]) + data
