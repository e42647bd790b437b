"""Settings of one upstream OIDC provider (``upstream_providers`` in ``idp.settings``).

Each entry is one login method, named by ``name`` and enabled by listing that name in
``login_methods``; ``idp.authn.oidc_upstream`` builds it. The checks here need no I/O (shapes,
names, URLs); the key file is read, and rejected with a clear message, when the app starts.

Example (TOML)::

    login_methods = ["uzi", "digid-broker"]

    [[upstream_providers]]
    name = "digid-broker"
    label = "DigiD (through the broker)"
    issuer = "https://broker.example.nl"
    client_id = "zorg-idp"
    private_key_file = "/etc/zorg-idp/upstream-broker-key.pem"
    signing_alg = "ES256"
    acr = "substantial"
    claim = { name = "bsn", maps_to = "binding", hash_as = "bsn", binding_method = "digid" }
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LoaName = Literal["low", "substantial", "high"]
# URL path segment of /login/{tx}/{name} and /upstream/{name}/return; also a binding method.
PROVIDER_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}", re.ASCII)


class UpstreamClaim(BaseModel):
    """Which ID-token claim identifies the person, and how it maps to a professional.

    - ``maps_to = "binding"``: an identity binding in the register
      (``SqlRegister.professional_for_binding(binding_method, keyed hash)``). ``hash_as`` says
      how the value is hashed: ``subject`` for an identifier that is unique only at this issuer
      (OIDC Core §2 ``sub``: the issuer is hashed with it), ``bsn`` for a BSN (checked with the
      elfproef; the same hash as every other BSN binding, DECISIONS.md #12).
    - ``maps_to = "dezi_nummer"``: the claim carries the Dezi number itself (an upstream that
      knows the register's numbers). It is asked for with the ``claims`` parameter
      (OIDC Core §5.5) unless it is ``sub``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="sub", pattern=r"^[A-Za-z0-9_:.\-]{1,64}$")
    maps_to: Literal["binding", "dezi_nummer"] = "binding"
    hash_as: Literal["subject", "bsn"] = "subject"
    # IdentityBinding.method; by default the provider's name.
    binding_method: str | None = Field(default=None, pattern=r"^[a-z0-9_.\-]{1,64}$")


class UpstreamProvider(BaseModel):
    """One recognised means reached through an OpenID Provider (a broker, an eIDAS node)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str = Field(min_length=1, max_length=80)
    issuer: str
    client_id: str = Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    # private_key_jwt (RFC 7523 §2.2, OIDC Core §9): a PEM (PKCS#8) or JWK file, 0600.
    private_key_file: Path
    signing_alg: Literal["PS256", "ES256"] = "PS256"
    scopes: tuple[str, ...] = ("openid",)
    # The level this method declares (the chooser shows it against acr_values). The upstream
    # must prove at least this much; the login gets min(this, what the upstream proved).
    acr: LoaName
    # Upstream acr values besides the eIDAS URIs, e.g. a broker's own names for its levels.
    acr_map: dict[str, LoaName] = Field(default_factory=dict)
    # acr_values sent upstream (OIDC Core §3.1.2.1); None: the eIDAS URI of ``acr``; (): none.
    acr_values: tuple[str, ...] | None = None
    # ID-token algorithms accepted (DECISIONS.md #1). RS256 only when listed here.
    id_token_algs: tuple[Literal["PS256", "ES256", "RS256"], ...] = ("PS256", "ES256")
    # prompt=login upstream (OIDC Core §3.1.2.1): this OP records auth_time as the moment the
    # user came back, so it asks for a fresh authentication rather than the broker's session.
    reauthenticate: bool = True
    claim: UpstreamClaim = UpstreamClaim()

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if PROVIDER_NAME.fullmatch(value) is None:
            raise ValueError(
                "name must be 1-32 of a-z, 0-9 and '-', starting with a letter (it is a URL "
                "path segment), e.g. digid-broker"
            )
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("issuer must be an absolute https:// URL, exactly as in its tokens")
        if parts.query or parts.fragment:
            raise ValueError("issuer must not have a query or fragment (OIDC Discovery §3)")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("scopes must include openid (OIDC Core §3.1.2.1)")
        if any(not s or " " in s for s in value):
            raise ValueError("scopes are single words without spaces")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> UpstreamProvider:
        if not self.id_token_algs:
            raise ValueError("id_token_algs must name at least one algorithm")
        if self.claim.maps_to == "dezi_nummer" and self.claim.hash_as != "subject":
            raise ValueError("claim.hash_as applies to maps_to = 'binding' only")
        return self

    @property
    def binding_method(self) -> str:
        return self.claim.binding_method or self.name


__all__ = ["PROVIDER_NAME", "UpstreamClaim", "UpstreamProvider"]
