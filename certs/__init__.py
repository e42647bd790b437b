"""X.509 toolkit: UZI-pas names, certificate verification, and a throwaway test PKI.

Imports nothing of ours (ARCHITECTURE.md); ``cryptography`` only. The public surface is below;
``certs.testca`` is for tests and local trials and is imported by name, not from here.
"""

from certs.errors import (
    CertificateError,
    CertificateRejected,
    RejectReason,
    TrustConfigurationError,
    UziNameError,
    UziNameMalformed,
    UziNameMissing,
)
from certs.uzi import (
    CA_OIDS,
    UZI_SAN_OID,
    CardType,
    UziIdentity,
    der_ia5,
    parse_uzi_string,
    read_ia5,
    uzi_identity,
)
from certs.verify import CertificateVerifier, CrlFile, VerifiedCertificate, load_certificate

__all__ = [
    "CA_OIDS",
    "UZI_SAN_OID",
    "CardType",
    "CertificateError",
    "CertificateRejected",
    "CertificateVerifier",
    "CrlFile",
    "RejectReason",
    "TrustConfigurationError",
    "UziIdentity",
    "UziNameError",
    "UziNameMalformed",
    "UziNameMissing",
    "VerifiedCertificate",
    "der_ia5",
    "load_certificate",
    "parse_uzi_string",
    "read_ia5",
    "uzi_identity",
]
