"""What the protocol core needs to know about its deployment, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"
USERINFO_PATH = "/userinfo"
JWKS_PATH = "/jwks.json"
END_SESSION_PATH = "/logout"
API_PATH = "/api/v1"  # the registry REST API, a resource server of this OP
ASYMMETRIC_ALGS: tuple[str, ...] = ("PS256", "ES256", "RS256")  # jose.SIGNING_ALGS


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    issuer: str
    pairwise_secret: bytes
    code_ttl: int = 60
    id_token_ttl: int = 300
    access_token_ttl: int = 3600
    default_signing_alg: str = "PS256"
    # RFC 9068 access tokens are read by nobody but this OP (userinfo, the registry API), so
    # they take the cheapest algorithm FAPI 2.0 §5.4.1 allows: ES256 signs in a few hundredths
    # of a millisecond where PS256 with a 3072-bit key takes over one (bench/crypto.py).
    access_token_signing_alg: str = "ES256"
    # How long a used code is remembered so that reuse revokes its grant (RFC 9700 §4.2.4).
    code_reuse_window: int = 600

    def __post_init__(self) -> None:
        # DECISIONS.md #1: asymmetric algorithms only, never ``none`` or HMAC.
        for alg in (self.default_signing_alg, self.access_token_signing_alg):
            if alg not in ASYMMETRIC_ALGS:
                raise ValueError(f"signing algorithm not allowed: {alg!r}")

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    @property
    def userinfo_audience(self) -> str:
        """RFC 9068 §3: access tokens for userinfo name the userinfo endpoint as audience."""
        return self.url(USERINFO_PATH)

    @property
    def api_audience(self) -> str:
        """RFC 9068 §3 / RFC 8707: tokens for the registry API name ``{issuer}/api/v1``."""
        return self.url(API_PATH)
