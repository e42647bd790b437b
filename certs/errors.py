"""The exceptions of ``certs``: one base class, a documented tree (STYLE.md principle 4).

::

    CertificateError
    ├── UziNameError                the 2.5.5.5 name (certs.uzi)
    │   ├── UziNameMissing          no subjectAltName, or no otherName 2.5.5.5 in it
    │   └── UziNameMalformed        present, but not a valid UZI name
    ├── CertificateRejected         the certificate fails verification (certs.verify); .reason
    └── TrustConfigurationError     a CA bundle or CRL file that cannot be used (start-up)

Messages name what is wrong with the certificate; they never contain key material.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CertificateError",
    "CertificateRejected",
    "RejectReason",
    "TrustConfigurationError",
    "UziNameError",
    "UziNameMalformed",
    "UziNameMissing",
]


class CertificateError(Exception):
    """Base of every error raised by ``certs``."""


class UziNameError(CertificateError):
    """The UZI name (subjectAltName otherName 2.5.5.5) is missing or malformed."""


class UziNameMissing(UziNameError):
    pass


class UziNameMalformed(UziNameError):
    pass


class RejectReason(StrEnum):
    UNREADABLE = "unreadable"  # not a parseable X.509 certificate
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    UNTRUSTED = "untrusted"  # no valid chain to the configured CA bundle (incl. self-signed)
    KEY_USAGE = "key_usage"  # not an authentication certificate (digitalSignature)
    REVOKED = "revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"  # a CRL is configured but cannot answer


class CertificateRejected(CertificateError):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class TrustConfigurationError(CertificateError):
    """A CA bundle or CRL that cannot be used; raised when the verifier is built or a CRL
    file is (re)read."""
