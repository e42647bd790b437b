"""The throwaway PKI issues certificates shaped like real ones (uzi-certificates.md §2, §3, §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.testca import DOCUMENT_SIGNING, TEST_POLICIES, UziTestPki
from certs.uzi import UPN_OID


@pytest.fixture(scope="module")
def pki() -> UziTestPki:
    return UziTestPki()


def attrs(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in certificate.subject.get_attributes_for_oid(oid)]


def test_z_card_subject_and_extensions(pki: UziTestPki) -> None:
    cert = pki.card("900016528", "Z", "90000382", organisation="Tést Zorginstelling 03").certificate
    assert attrs(cert, NameOID.SERIAL_NUMBER) == ["900016528"]
    assert attrs(cert, NameOID.TITLE) == ["Arts"]
    assert attrs(cert, NameOID.SURNAME) and attrs(cert, NameOID.GIVEN_NAME)
    assert attrs(cert, NameOID.ORGANIZATION_NAME) == ["Tést Zorginstelling 03"]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        DOCUMENT_SIGNING,
    ]
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [
        TEST_POLICIES["authentication"]
    ]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    upn = [n.value for n in san.get_values_for_type(x509.OtherName) if n.type_id == UPN_OID]
    assert upn == [b"\x0c\x12900016528@90000382"]
    assert cert.issuer == pki.issuing.certificate.subject


@pytest.mark.parametrize("card_type", ["M", "S"])
def test_unnamed_cards_have_no_person(pki: UziTestPki, card_type: str) -> None:
    cert = pki.card(card_type=card_type).certificate
    assert not attrs(cert, NameOID.SURNAME) and not attrs(cert, NameOID.TITLE)
    assert attrs(cert, NameOID.ORGANIZATIONAL_UNIT_NAME)


def test_n_card_names_the_person_without_title(pki: UziTestPki) -> None:
    cert = pki.card(card_type="N").certificate
    assert attrs(cert, NameOID.SURNAME) and not attrs(cert, NameOID.TITLE)


def test_signature_certificate(pki: UziTestPki) -> None:
    cert = pki.card(usage="signature").certificate
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_files_and_crl(tmp_path: Path, pki: UziTestPki) -> None:
    card = pki.card()
    cert_path, key_path = card.write(tmp_path, "card")
    assert x509.load_pem_x509_certificate(cert_path.read_bytes()) == card.certificate
    assert key_path.stat().st_mode & 0o077 == 0
    other = UziTestPki()
    revoked = other.card()
    other.revoke(revoked)
    crl = other.crl()
    assert crl.get_revoked_certificate_by_serial_number(revoked.certificate.serial_number)
    assert x509.load_pem_x509_certificates(pki.bundle_pem) == [
        pki.issuing.certificate,
        pki.root.certificate,
    ]


def test_server_certificate_names(pki: UziTestPki) -> None:
    cert = pki.server("127.0.0.1", "idp.test").certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["idp.test"]
