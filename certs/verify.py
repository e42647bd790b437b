"""Verification of a UZI-pas authentication certificate against a configured CA bundle.

What a relying party on UZI-pas checks (``uzi-certificates.md`` §6, "Legacy UZI-pas relying
parties"; pUZI-php ``UziValidator``):

1. the validity period of the card certificate (RFC 5280 §4.1.2.5);
2. the key usage of the authenticity certificate: ``digitalSignature`` (CPS v10.2, table in §2),
   and, when present, the EKU ``clientAuth`` (the only one of the card's three certificates that
   may authenticate a TLS client);
3. a chain to a root of the configured bundle (RFC 5280 §6; the bundle is the UZI-register CA
   chain that the TLS proxy's ``ssl_client_certificate`` names as well), with the Web PKI
   extension rules of ``cryptography`` except that the subjectAltName may be absent (UZI names
   are otherNames, checked by ``certs.uzi``);
4. revocation against a CRL of the issuing CA (RFC 5280 §6.3), when a CRL file is configured.
   The file is read again whenever it changes, so a job that replaces it atomically keeps the
   list fresh without a restart. A CRL past its ``nextUpdate``, or none for the issuer, fails
   closed (``REVOCATION_UNKNOWN``). OCSP is not implemented.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from certs.errors import CertificateRejected, RejectReason, TrustConfigurationError

__all__ = ["CertificateVerifier", "CrlFile", "VerifiedCertificate", "load_certificate"]

MAX_CHAIN_DEPTH = 3  # root → (PKIoverheid domain CA) → UZI CA → card; the PoC allows 3 too
MAX_PEM_BYTES = 64 * 1024
_CRL_BEGIN = b"-----BEGIN X509 CRL-----"
_SIGNING_KEYS = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """One PEM certificate, or ``CertificateRejected(UNREADABLE)``."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    if len(data) > MAX_PEM_BYTES:
        raise CertificateRejected(RejectReason.UNREADABLE, "the certificate is too large")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertificateRejected(RejectReason.UNREADABLE, "not a PEM certificate") from None


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # the card first, the root last

    @property
    def issuer(self) -> x509.Certificate:
        return self.chain[1]


class CrlFile:
    """CRLs (PEM, one or more, or a single DER CRL) in a file, re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._crls: tuple[x509.CertificateRevocationList, ...] = ()

    def current(self) -> tuple[x509.CertificateRevocationList, ...]:
        """The CRLs as the file holds them now (``TrustConfigurationError`` if unreadable)."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise TrustConfigurationError(f"CRL file {self.path}: {exc.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._crls = _parse_crls(self.path.read_bytes(), self.path)
                self._stamp = stamp
            return self._crls


def _parse_crls(data: bytes, path: Path) -> tuple[x509.CertificateRevocationList, ...]:
    try:
        if _CRL_BEGIN in data:
            blocks = [_CRL_BEGIN + part for part in data.split(_CRL_BEGIN)[1:]]
            crls = tuple(x509.load_pem_x509_crl(block.strip()) for block in blocks)
        else:
            crls = (x509.load_der_x509_crl(data),)
    except ValueError:
        raise TrustConfigurationError(f"CRL file {path} holds no readable CRL") from None
    return crls


class CertificateVerifier:
    """Checks a card certificate; raises ``CertificateRejected`` with the first reason found."""

    def __init__(
        self,
        ca_certificates: Sequence[x509.Certificate],
        *,
        crl_file: CrlFile | None = None,
    ) -> None:
        if not ca_certificates:
            raise TrustConfigurationError("the CA bundle holds no certificate")
        for certificate in ca_certificates:
            if not _is_ca(certificate):
                name = certificate.subject.rfc4514_string()
                raise TrustConfigurationError(f"the CA bundle holds a non-CA certificate: {name}")
        self._roots = [c for c in ca_certificates if c.subject == c.issuer]
        self._intermediates = [c for c in ca_certificates if c.subject != c.issuer]
        if not self._roots:
            raise TrustConfigurationError(
                "the CA bundle has no root (self-signed) certificate: add the whole chain"
            )
        self._store = Store(self._roots)
        self._crl_file = crl_file
        self._ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
        )

    @classmethod
    def from_files(cls, ca_bundle: Path, crl_file: Path | None = None) -> CertificateVerifier:
        """Build from a PEM bundle and an optional CRL file, both read now (start-up checks)."""
        try:
            data = ca_bundle.read_bytes()
        except OSError as exc:
            raise TrustConfigurationError(f"CA bundle {ca_bundle}: {exc.strerror}") from None
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise TrustConfigurationError(
                f"CA bundle {ca_bundle} holds no PEM certificate"
            ) from None
        crls = None
        if crl_file is not None:
            crls = CrlFile(crl_file)
            crls.current()
        return cls(certificates, crl_file=crls)

    def verify(
        self, certificate: x509.Certificate, *, at: datetime | None = None
    ) -> VerifiedCertificate:
        at = at or datetime.now(UTC)
        _check_validity(certificate, at)
        _check_key_usage(certificate)  # first, so the wrong certificate of a card says so
        chain = self._chain(certificate, at)
        if self._crl_file is not None:
            self._check_revocation(self._crl_file, chain, at)
        return chain

    def _chain(self, certificate: x509.Certificate, at: datetime) -> VerifiedCertificate:
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=self._ee_policy
            )
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(certificate, self._intermediates)
        except VerificationError as exc:
            raise CertificateRejected(
                RejectReason.UNTRUSTED, f"no valid chain to the configured UZI CA bundle ({exc})"
            ) from None
        return VerifiedCertificate(certificate, tuple(verified.chain))

    @staticmethod
    def _check_revocation(crl_file: CrlFile, chain: VerifiedCertificate, at: datetime) -> None:
        issuer = chain.issuer
        try:
            crls = crl_file.current()
        except TrustConfigurationError as exc:
            raise CertificateRejected(RejectReason.REVOCATION_UNKNOWN, str(exc)) from None
        public_key = issuer.public_key()
        if not isinstance(public_key, _SIGNING_KEYS):
            raise CertificateRejected(RejectReason.REVOCATION_UNKNOWN, "unsupported CA key type")
        usable = [
            crl
            for crl in crls
            if crl.issuer == issuer.subject and crl.is_signature_valid(public_key)
        ]
        if not usable:
            raise CertificateRejected(
                RejectReason.REVOCATION_UNKNOWN,
                f"no CRL of {issuer.subject.rfc4514_string()} in {crl_file.path}",
            )
        crl = max(usable, key=lambda c: c.last_update_utc)
        if crl.next_update_utc is None or crl.next_update_utc <= at:
            raise CertificateRejected(RejectReason.REVOCATION_UNKNOWN, "the CRL is out of date")
        entry = crl.get_revoked_certificate_by_serial_number(chain.certificate.serial_number)
        if entry is not None:
            raise CertificateRejected(
                RejectReason.REVOKED,
                f"serial {chain.certificate.serial_number:x} revoked on "
                f"{entry.revocation_date_utc:%Y-%m-%d}",
            )


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _check_validity(certificate: x509.Certificate, at: datetime) -> None:
    if at < certificate.not_valid_before_utc:
        raise CertificateRejected(
            RejectReason.NOT_YET_VALID,
            f"valid from {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
        )
    if at > certificate.not_valid_after_utc:
        raise CertificateRejected(
            RejectReason.EXPIRED, f"expired on {certificate.not_valid_after_utc:%Y-%m-%d} UTC"
        )


def _check_key_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateRejected(RejectReason.KEY_USAGE, "no keyUsage extension") from None
    if not usage.digital_signature:
        raise CertificateRejected(
            RejectReason.KEY_USAGE,
            "keyUsage lacks digitalSignature: not the card's authenticity certificate",
        )
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH not in extended:
        raise CertificateRejected(RejectReason.KEY_USAGE, "extendedKeyUsage lacks clientAuth")
