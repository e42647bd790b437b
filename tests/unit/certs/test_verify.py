"""Verification of card certificates (certs.verify): chain, validity, key usage, CRL."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from certs import (
    CertificateRejected,
    CertificateVerifier,
    CrlFile,
    RejectReason,
    TrustConfigurationError,
    load_certificate,
)
from certs.testca import Issued, UziTestPki


@pytest.fixture(scope="module")
def pki() -> UziTestPki:
    return UziTestPki()


@pytest.fixture(scope="module")
def other() -> UziTestPki:
    return UziTestPki("other")


@pytest.fixture(scope="module")
def verifier(pki: UziTestPki) -> CertificateVerifier:
    return CertificateVerifier([pki.issuing.certificate, pki.root.certificate])


def reason(verifier: CertificateVerifier, card: Issued) -> RejectReason:
    with pytest.raises(CertificateRejected) as caught:
        verifier.verify(card.certificate)
    return caught.value.reason


@pytest.mark.parametrize("card_type", ["Z", "N", "M", "S"])
def test_good_cards_verify_with_the_whole_chain(
    pki: UziTestPki, verifier: CertificateVerifier, card_type: str
) -> None:
    card = pki.card(card_type=card_type)
    verified = verifier.verify(card.certificate)
    assert verified.chain == (card.certificate, pki.issuing.certificate, pki.root.certificate)
    assert verified.issuer == pki.issuing.certificate


def test_validity_period(pki: UziTestPki, verifier: CertificateVerifier) -> None:
    assert reason(verifier, pki.expired_card()) is RejectReason.EXPIRED
    future = pki.card(not_before=pki.now + timedelta(days=1))
    assert reason(verifier, future) is RejectReason.NOT_YET_VALID
    card = pki.card()
    with pytest.raises(CertificateRejected) as caught:
        verifier.verify(card.certificate, at=pki.now + timedelta(days=4 * 365))
    assert caught.value.reason is RejectReason.EXPIRED


def test_self_signed_and_wrong_ca(
    pki: UziTestPki, other: UziTestPki, verifier: CertificateVerifier
) -> None:
    assert reason(verifier, pki.card(self_signed=True)) is RejectReason.UNTRUSTED
    assert reason(verifier, other.card()) is RejectReason.UNTRUSTED
    # A CA certificate is not a card, even one from the trusted bundle.
    with pytest.raises(CertificateRejected) as caught:
        verifier.verify(pki.issuing.certificate)
    assert caught.value.reason is RejectReason.KEY_USAGE


@pytest.mark.parametrize("usage", ["signature", "confidentiality"])
def test_only_the_authenticity_certificate(
    pki: UziTestPki, verifier: CertificateVerifier, usage: str
) -> None:
    """CPS §2: the signature (nonRepudiation) and confidentiality certificates cannot log in."""
    card = pki.card(usage=usage)  # type: ignore[arg-type]
    assert reason(verifier, card) is RejectReason.KEY_USAGE


def test_server_certificate_lacks_client_auth(pki: UziTestPki) -> None:
    verifier = CertificateVerifier([pki.root.certificate])
    with pytest.raises(CertificateRejected) as caught:
        verifier.verify(pki.server("127.0.0.1").certificate)
    assert caught.value.reason is RejectReason.KEY_USAGE


def test_unreadable_pem() -> None:
    for junk in ("", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "x" * 70000):
        with pytest.raises(CertificateRejected) as caught:
            load_certificate(junk)
        assert caught.value.reason is RejectReason.UNREADABLE


# ---- revocation ------------------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_revocation_with_a_crl_that_is_reread_when_it_changes(tmp_path: Path) -> None:
    pki = UziTestPki()
    card, kept = pki.card(), pki.card()
    crl = write(tmp_path / "crl.pem", pki.crl_pem())
    verifier = CertificateVerifier.from_files(write(tmp_path / "ca.pem", pki.bundle_pem), crl)
    verifier.verify(card.certificate)
    pki.revoke(card)
    staging = write(tmp_path / "crl.new", pki.crl_pem())
    staging.replace(crl)
    stat = crl.stat()
    os.utime(crl, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(CertificateRejected) as caught:
        verifier.verify(card.certificate)
    assert caught.value.reason is RejectReason.REVOKED
    verifier.verify(kept.certificate)


def test_der_crl_and_several_pem_crls(tmp_path: Path, other: UziTestPki) -> None:
    pki = UziTestPki()
    card = pki.card()
    pki.revoke(card)
    der = pki.crl().public_bytes(serialization.Encoding.DER)
    bundle = write(tmp_path / "ca.pem", pki.bundle_pem)
    verifier = CertificateVerifier.from_files(bundle, write(tmp_path / "crl.der", der))
    assert reason(verifier, card) is RejectReason.REVOKED
    both = write(tmp_path / "crls.pem", other.crl_pem() + pki.crl_pem())
    assert reason(CertificateVerifier.from_files(bundle, both), card) is RejectReason.REVOKED


def test_revocation_fails_closed(tmp_path: Path, other: UziTestPki) -> None:
    pki = UziTestPki()
    card = pki.card()
    bundle = write(tmp_path / "ca.pem", pki.bundle_pem)
    stale = write(
        tmp_path / "stale.pem",
        pki.crl_pem(
            last_update=pki.now - timedelta(days=2), next_update=pki.now - timedelta(hours=1)
        ),
    )
    assert reason(CertificateVerifier.from_files(bundle, stale), card) is (
        RejectReason.REVOCATION_UNKNOWN
    )
    foreign = write(tmp_path / "foreign.pem", other.crl_pem())
    assert reason(CertificateVerifier.from_files(bundle, foreign), card) is (
        RejectReason.REVOCATION_UNKNOWN
    )
    crl = write(tmp_path / "crl.pem", pki.crl_pem())
    verifier = CertificateVerifier.from_files(bundle, crl)
    crl.unlink()
    assert reason(verifier, card) is RejectReason.REVOCATION_UNKNOWN


def test_crl_signed_by_another_key_is_ignored(tmp_path: Path) -> None:
    """A CRL that names the issuer but is not signed by it cannot speak for it."""
    pki = UziTestPki()
    card = pki.card()
    impostor = UziTestPki()
    impostor.issuing = Issued(pki.issuing.certificate, impostor.issuing.key)
    bundle = write(tmp_path / "ca.pem", pki.bundle_pem)
    forged = write(tmp_path / "forged.pem", impostor.crl_pem())
    assert reason(CertificateVerifier.from_files(bundle, forged), card) is (
        RejectReason.REVOCATION_UNKNOWN
    )


# ---- configuration ---------------------------------------------------------------------------


def test_configuration_errors(tmp_path: Path, pki: UziTestPki) -> None:
    bundle = write(tmp_path / "ca.pem", pki.bundle_pem)
    with pytest.raises(TrustConfigurationError, match="No such file"):
        CertificateVerifier.from_files(tmp_path / "missing.pem")
    with pytest.raises(TrustConfigurationError, match="no PEM certificate"):
        CertificateVerifier.from_files(write(tmp_path / "empty.pem", b"nothing here"))
    with pytest.raises(TrustConfigurationError, match="no root"):
        CertificateVerifier.from_files(write(tmp_path / "i.pem", pki.issuing.cert_pem))
    with pytest.raises(TrustConfigurationError, match="non-CA certificate"):
        CertificateVerifier.from_files(write(tmp_path / "c.pem", pki.card().cert_pem))
    with pytest.raises(TrustConfigurationError, match="no certificate"):
        CertificateVerifier([])
    with pytest.raises(TrustConfigurationError, match="no readable CRL"):
        CertificateVerifier.from_files(bundle, write(tmp_path / "bad.crl", b"junk"))
    with pytest.raises(TrustConfigurationError, match="No such file"):
        CertificateVerifier.from_files(bundle, tmp_path / "none.crl")


def test_crl_file_reads_again_only_after_a_change(tmp_path: Path, pki: UziTestPki) -> None:
    path = write(tmp_path / "crl.pem", pki.crl_pem())
    source = CrlFile(path)
    first = source.current()
    assert source.current() is first
