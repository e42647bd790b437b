"""An EPD built against Dezi v0.7, with an independent JOSE stack (jwcrypto), over real HTTP.

The relying party registers a public Dezi-profile client whose JWKS holds an RSA encryption
key, logs the carer in, and then does what v0.7 §2.5–§2.8 and §6 ask of an EPD, with jwcrypto
only (not our joserfc code): decrypt the userinfo JWE, verify the envelope with the OP's JWKS,
verify the verklaring through an allow-listed ``jku``, check its times and claims against the
JSON schemas its ``json_schema`` claims name, and check revocation with the signed list and the
status URI. Then the declaration is revoked in the register and the EPD sees it: at once on the
status URI, and on the signed list within the 30 s the list may be reused (DECISIONS.md #11).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from jsonschema import Draft202012Validator
from jwcrypto import jwe, jwk, jws, jwt

from registry import create_engine, revoke_declaration
from tests.interop.live import LiveServer
from tests.support import CARER, login_through_forms, pkce_pair, query_of

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]

CLIENT_ID = "interop-dezi-jwe"
REDIRECT_URI = "https://dezi-jwe-epd.example/cb"
CHOSEN_URA = "90000109"
VERKLARING_CLAIMS = {
    "jti",
    "iss",
    "exp",
    "nbf",
    "json_schema",
    "loa_dezi",
    "verklaring_id",
    "dezi_nummer",
    "voorletters",
    "voorvoegsel",
    "achternaam",
    "abonnee_nummer",
    "abonnee_naam",
    "rol_code",
    "rol_naam",
    "rol_code_bron",
    "status_uri",
}


@dataclass
class Epd:
    server: LiveServer
    key: jwk.JWK  # the EPD's private key (the certificate per system, v0.7 §4.3.3)
    http: httpx.Client

    @property
    def allowed_jku(self) -> set[str]:
        """Configured by the EPD's operator, never taken from a token."""
        return {self.server.url("/dezi/jwks.json")}

    def keyset(self, url: str) -> jwk.JWKSet:
        response = self.http.get(url)
        assert response.status_code == 200
        return jwk.JWKSet.from_json(response.text)

    def schema_check(self, claims: dict[str, Any]) -> None:
        schema = self.http.get(claims["json_schema"]).json()
        Draft202012Validator(schema).validate(claims)

    def verify_jku_signed(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A JWS whose key is named by ``jku`` + ``kid``: the allow-list decides, then RS256."""
        unverified = jws.JWS()
        unverified.deserialize(token)
        header = unverified.jose_header
        assert header["jku"] in self.allowed_jku, f"jku not allowed: {header['jku']}"
        keys = self.keyset(header["jku"])
        key = keys.get_key(header["kid"])
        assert key is not None, "unknown kid"
        checked = jws.JWS()
        checked.allowed_algs = ["RS256"]
        checked.deserialize(token, key=key, alg="RS256")
        return header, json.loads(checked.payload)


@pytest.fixture(scope="module")
def epd(live_server: LiveServer) -> Iterator[Epd]:
    key = jwk.JWK.generate(kty="RSA", size=2048, use="enc", kid=secrets.token_hex(8))
    live_server.register_client(
        CLIENT_ID,
        REDIRECT_URI,
        jwks={"keys": [json.loads(key.export_public())]},
        auth_method="none",
        profile="dezi",
        organisations=(CHOSEN_URA, "90000110"),
        name="Dezi EPD (jwcrypto)",
        id_token_alg="RS256",
    )
    with httpx.Client(timeout=10.0) as http:
        yield Epd(live_server, key, http)


def log_in_and_fetch_userinfo(epd: Epd) -> tuple[str, dict[str, Any]]:
    """v0.7 §2.3–§2.5: authorize (PKCE, no nonce), token, userinfo with Accept: json."""
    metadata = epd.http.get(epd.server.url("/.well-known/openid-configuration")).json()
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    with epd.server.browser() as browser:
        final = login_through_forms(
            browser,
            f"{metadata['authorization_endpoint']}?{urlencode(params)}",
            CARER,
            choose=CHOSEN_URA,
        )
    assert final.status_code == 303, final.text
    code = query_of(final.headers["location"])["code"]
    token = epd.http.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    response = epd.http.get(
        metadata["userinfo_endpoint"],
        headers={
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Accept": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jwt")
    return response.text, metadata


def check_like_a_dezi_epd(epd: Epd, body: str, metadata: dict[str, Any]) -> dict[str, Any]:
    # 1. Decrypt with our own key: RSA-OAEP / A256CBC-HS512, exactly v0.7's JWE header.
    encrypted = jwe.JWE()
    encrypted.allowed_algs = ["RSA-OAEP", "A256CBC-HS512"]
    encrypted.deserialize(body, key=epd.key)
    header = encrypted.jose_header
    assert (header["alg"], header["enc"], header["cty"]) == ("RSA-OAEP", "A256CBC-HS512", "JWT")
    assert header["kid"] == epd.key["kid"]
    # 2. The envelope: signed with the ID-token key (RS256 for this client), iss/aud/exp.
    envelope_token = jwt.JWT(
        jwt=encrypted.payload.decode("ascii"),
        key=epd.keyset(metadata["jwks_uri"]),
        algs=["RS256"],
        expected_type="JWS",
        check_claims={"iss": epd.server.issuer, "aud": CLIENT_ID, "exp": None, "iat": None},
    )
    envelope = json.loads(envelope_token.claims)
    epd.schema_check(envelope)
    assert envelope["loa_authn"] == "http://eidas.europa.eu/LoA/high"
    # 3. The verklaring through the allow-listed jku, then its times (jwcrypto checks nbf/exp).
    vheader, claims = epd.verify_jku_signed(envelope["verklaring"])
    assert vheader["typ"] == "JWT" and vheader["alg"] == "RS256"
    jwt.JWT(
        jwt=envelope["verklaring"],
        key=epd.keyset(vheader["jku"]),
        algs=["RS256"],
        expected_type="JWS",
        check_claims={"exp": None, "nbf": None},
    )
    assert set(claims) == VERKLARING_CLAIMS
    epd.schema_check(claims)
    assert claims["verklaring_id"] == envelope["verklaring_id"]
    assert (claims["dezi_nummer"], claims["abonnee_nummer"]) == (CARER, CHOSEN_URA)
    return claims


def revocation_list(epd: Epd) -> tuple[dict[str, Any], httpx.Response]:
    response = epd.http.get(epd.server.url("/revocatiecontrole/v1"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jose")
    _, payload = epd.verify_jku_signed(response.text)
    now = time.time()
    assert float(payload["nbf"]) <= now + 60 and float(payload["exp"]) > now - 60
    epd.schema_check(payload)
    return payload, response


def revoked_ids(epd: Epd) -> set[str]:
    payload, _ = revocation_list(epd)
    return {entry["verklaringId"] for entry in payload["revocaties"]}


def status_of(epd: Epd, claims: dict[str, Any]) -> str:
    response = epd.http.get(claims["status_uri"])
    assert response.status_code == 200
    body = response.json()
    assert body["verklaringId"] == claims["verklaring_id"]
    return str(body["status"])


def test_an_epd_checks_and_then_sees_the_revocation(epd: Epd, tmp_path: Path) -> None:
    body, metadata = log_in_and_fetch_userinfo(epd)
    claims = check_like_a_dezi_epd(epd, body, metadata)
    assert claims["verklaring_id"] not in revoked_ids(epd)
    assert status_of(epd, claims) == "actief"
    _, response = revocation_list(epd)
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert int(response.headers["cache-control"].rsplit("=", 1)[1]) <= 30

    # The same response through the product's own command, as an EPD builder would use it.
    (tmp_path / "userinfo.jwt").write_text(body, encoding="utf-8")
    (tmp_path / "key.json").write_text(epd.key.export_private(), encoding="utf-8")
    verify = [
        "verklaring",
        "verify",
        str(tmp_path / "userinfo.jwt"),
        "--jku",
        epd.server.url("/dezi/jwks.json"),
        "--issuer",
        epd.server.issuer,
        "--client-id",
        CLIENT_ID,
        "--decryption-key",
        str(tmp_path / "key.json"),
    ]
    result = epd.server.cli(*verify, "--revocation-list", epd.server.url("/revocatiecontrole/v1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("valid: verklaring ")

    # The employer revokes the declaration (the verklaring_id is the declaration's id).
    engine = create_engine(f"sqlite:///{epd.server.workdir / 'var' / 'demo.db'}")
    try:
        revoke_declaration(engine, claims["verklaring_id"], "Uit dienst", actor="interop")
    finally:
        engine.dispose()
    revoked_at = time.monotonic()
    assert status_of(epd, claims) == "ingetrokken"
    result = epd.server.cli(*verify)  # status URI: at once
    assert result.returncode == 1 and result.stdout.startswith("rejected (revoked)")
    while claims["verklaring_id"] not in revoked_ids(epd):
        assert time.monotonic() - revoked_at < 35, "not on the list within 30 s"
        time.sleep(1.0)
