"""orjson responses (``idp.web.responses``) keep what clients rely on: the bytes Starlette's
``JSONResponse`` wrote, the media types, and the caching headers of RFC 6749 §5.1 / OIDC Core
§5.3 on token and userinfo responses; the JWKS is served from its pre-serialised bytes."""

from __future__ import annotations

import json

from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.testclient import TestClient

from idp.protocol.jose import unverified_header
from idp.web.responses import JSONResponse
from tests.conftest import Deployment
from tests.support import CARER
from tests.web.test_code_flow import get_code

BODY = {"sub": "x", "achternaam": "Ünal-’t Hart", "n": [1, 2.5, None, True], "e": {}}


def test_same_bytes_and_headers_as_starlette() -> None:
    ours, theirs = (
        JSONResponse(BODY, headers={"Cache-Control": "no-store"}),
        StarletteJSONResponse(BODY, headers={"Cache-Control": "no-store"}),
    )
    assert ours.body == theirs.body
    assert ours.raw_headers == theirs.raw_headers
    assert ours.media_type == "application/json"
    assert isinstance(ours, StarletteJSONResponse)


def test_token_userinfo_and_jwks_over_http(deployment: Deployment, client: TestClient) -> None:
    rp = deployment.rp
    code, verifier, _ = get_code(client, rp, CARER, choose="90000107")
    token = client.post("/token", data=rp.token_form(code, verifier))
    assert token.status_code == 200
    assert token.headers["content-type"] == "application/json"
    assert token.headers["cache-control"] == "no-store" and token.headers["pragma"] == "no-cache"
    body = json.loads(token.content)
    # Access tokens ES256 (only this OP reads them); the ID token PS256 (DECISIONS.md #1).
    assert unverified_header(body["access_token"])["alg"] == "ES256"
    assert unverified_header(body["id_token"])["alg"] == "PS256"

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.headers["content-type"] == "application/json"
    assert info.headers["cache-control"] == "no-store"
    assert info.json()["dezi_nummer"] == CARER

    jwks = client.get("/jwks.json")
    assert jwks.headers["content-type"] == "application/jwk-set+json"
    assert jwks.headers["cache-control"] == "public, max-age=300"
    signer = deployment.app.state.services.signer
    assert jwks.content == signer.public_jwks_json()
    assert json.loads(jwks.content) == signer.public_jwks()

    refused = client.post("/token", data={"grant_type": "authorization_code"})
    assert refused.status_code in (400, 401)
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["cache-control"] == "no-store"
