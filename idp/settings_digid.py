"""Settings of the ``digid`` login method (``digid`` in ``idp.settings``; ``idp.authn.digid``).

Example (TOML)::

    login_methods = ["uzi", "digid"]

    [digid]
    idp_metadata = "/etc/zorg-idp/digid-idp-metadata.xml"
    sp_key = "/etc/zorg-idp/digid-sp-key.pem"
    sp_cert = "/etc/zorg-idp/digid-sp-cert.pem"
    loa = "substantial"

The checks here need no I/O (shapes and names); the metadata, key and certificate are read, and
rejected with a clear message, when the app starts (``idp.authn.digid.digid_login_from_settings``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

LoaName = Literal["low", "substantial", "high"]


class DigidSettings(BaseModel):
    """Where the IdP's metadata and this service provider's key are, and what to ask for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The IdP's SAML metadata (SAML Metadata §2.4.3 IDPSSODescriptor): its entity ID, its
    # signing certificate and its SingleSignOnService endpoint for the HTTP-Redirect binding.
    # Trusted as it is: fetch it from the IdP's operator over a verified channel.
    idp_metadata: Path
    # Which IdP of the metadata file to use; needed only when the file describes several.
    idp_entity_id: str | None = None
    # This service provider's signing key and certificate (PEM; the certificate is the one in
    # the SP metadata at /authn/digid/metadata).
    sp_key: Path
    sp_cert: Path
    # This service provider's entity ID (SAML Core §8.3.6); default: the OP's issuer.
    entity_id: str | None = None
    # The level asked for (RequestedAuthnContext, comparison "minimum") and the least accepted:
    # substantial = DigiD Midden or higher; high = DigiD Hoog. A login is never given a higher
    # level than the AuthnContextClassRef the assertion carries.
    loa: LoaName = "substantial"
    # Where the BSN is: the NameID ("s00000000:<bsn>", DigiD's BSN sector) unless this names an
    # Attribute (SAML Core §2.7.3.1) that carries it instead.
    bsn_attribute: str | None = Field(default=None, min_length=1, max_length=256)
    label: str = Field(default="DigiD", min_length=1, max_length=80)

    @field_validator("idp_entity_id", "entity_id")
    @classmethod
    def _entity_id_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if len(value) > 1024 or not parts.scheme or not (parts.netloc or parts.path):
            # SAML Core §8.3.6: an entity identifier is a URI of at most 1024 characters.
            raise ValueError("an entity ID must be an absolute URI of at most 1024 characters")
        return value


__all__ = ["DigidSettings"]
