"""An upstream OpenID Provider in memory, behind the ``HttpFetcher`` port: no I/O.

It checks what a strict OP checks of this product as its relying party (the client assertion,
PKCE, the redirect URI, single-use codes) and lets a test spoil the ID token it returns.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.authn.oidc_rp import UpstreamUnavailable
from idp.protocol.pkce import s256_challenge

ISSUER = "https://broker.test"
CLIENT_ID = "zorg-idp-test"
LOA_HIGH = "http://eidas.europa.eu/LoA/high"


def new_rsa_key() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


# Generated once: RSA key generation dominates the run time of these tests.
OP_KEY = new_rsa_key()
CLIENT_KEY = new_rsa_key()


@dataclass
class FakeOp:
    client_key: dict[str, Any]  # the public JWK this OP has registered for the client
    issuer: str = ISSUER
    signing_key: RSAKey | ECKey = field(default_factory=lambda: OP_KEY)
    alg: str = "PS256"
    subject: str = "upstream-subject-1"
    acr: str | None = LOA_HIGH
    extra_claims: dict[str, Any] = field(default_factory=dict)
    # Claim overrides for the next ID token (None values remove the claim).
    spoil: dict[str, Any] = field(default_factory=dict)
    discovery_overrides: dict[str, Any] = field(default_factory=dict)
    down: bool = False
    token_error: str | None = None
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    # -- the HttpFetcher port ----------------------------------------------------------------

    def get_json(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        if self.down:
            raise UpstreamUnavailable(f"GET {url}: ConnectError")
        if url == f"{self.issuer}/.well-known/openid-configuration":
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "authorization_response_iss_parameter_supported": True,
                **self.discovery_overrides,
            }
        if url == f"{self.issuer}/jwks":
            return {"keys": [self.signing_key.as_dict(private=False)]}
        raise UpstreamUnavailable(f"GET {url}: HTTP 404")

    def post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        assert url == f"{self.issuer}/token"
        if self.token_error:
            return 400, {"error": self.token_error}
        claims = self._check_assertion(form)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or claims["iss"] != grant["client_id"]:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        if s256_challenge(form.get("code_verifier", "")) != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        return 200, {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "id_token": self.id_token(grant["nonce"]),
        }

    # -- the browser side --------------------------------------------------------------------

    def authorize(self, url: str, *, iss: str | None = "own") -> dict[str, str]:
        """The user logs in at once: the query the OP sends the browser back with."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{self.issuer}/authorize"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        code = secrets.token_urlsafe(32)
        self.codes[code] = query
        response = {"code": code, "state": query["state"]}
        if iss is not None:
            response["iss"] = self.issuer if iss == "own" else iss
        return response

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": nonce,
            **({"acr": self.acr} if self.acr is not None else {}),
            **self.extra_claims,
        }
        claims.update(self.spoil)
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"alg": self.alg, "kid": self.signing_key.kid}
        return jwt.encode(header, claims, self.signing_key, algorithms=[self.alg])

    def _check_assertion(self, form: Mapping[str, str]) -> dict[str, Any]:
        assert form["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        keys = KeySet.import_key_set({"keys": [self.client_key]})
        token = jwt.decode(form["client_assertion"], keys, algorithms=["PS256", "ES256"])
        claims = dict(token.claims)
        # RFC 7523 §3 and draft-ietf-oauth-rfc7523bis: aud is the issuer, as one string.
        assert claims["aud"] == self.issuer
        assert claims["iss"] == claims["sub"] == form["client_id"]
        assert claims["exp"] - claims["iat"] <= 60
        self.assertions.append(claims)
        return claims
