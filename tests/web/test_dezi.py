"""The Dezi endpoints and the userinfo JWE through the ASGI app (Dezi v0.7 §2.5–§2.7, §6).

A deployment of its own (module scope), because these tests revoke declarations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from idp.app import create_app
from idp.clients import ClientRegistration, register_client
from idp.protocol.jose import unverified_claims, unverified_header
from idp.protocol.models import LOA_HIGH
from idp.verklaring_check import (
    KeyFetcher,
    RevocationList,
    StatusCheck,
    UserinfoChecker,
    VerklaringChecker,
    VerklaringRejected,
)
from registry import SqlRegister, create_engine, revoke_declaration
from tests.conftest import ISSUER, make_settings, seed_deployment
from tests.dezi_support import public_jwk, rp_encryption_key, validate
from tests.support import CARER, PHYSICIAN, RelyingParty
from tests.web.test_code_flow import get_code

JKU = f"{ISSUER}/dezi/jwks.json"
LIST_URL = f"{ISSUER}/revocatiecontrole/v1"


@dataclass
class DeziDeployment:
    app: Starlette
    database_url: str
    public: RelyingParty  # dezi profile, public, RSA-OAEP key without alg
    confidential: RelyingParty  # nlgov profile, private_key_jwt, RSA-OAEP-256 enc key
    public_key: Any
    confidential_key: Any

    def client(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER, follow_redirects=False)

    def declaration(self, dezi: str, ura: str) -> str:
        engine = create_engine(self.database_url)
        try:
            found = SqlRegister(engine).usable_declarations(dezi, [ura], datetime.now(UTC))
        finally:
            engine.dispose()
        return found[0].declaration_id

    def revoke(self, declaration_id: str) -> None:
        engine = create_engine(self.database_url)
        try:
            revoke_declaration(engine, declaration_id, "Uit dienst", actor="test")
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def dezi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeziDeployment]:
    settings = make_settings(tmp_path_factory.mktemp("dezi"))
    seed_deployment(settings)
    public_key = rp_encryption_key()
    public = RelyingParty("dezi-jwe-public", "https://dezi-epd.example/cb", ISSUER)
    register_client(
        settings,
        ClientRegistration(
            client_id=public.client_id,
            redirect_uris=(public.redirect_uri,),
            auth_method="none",
            jwks={"keys": [public_jwk(public_key)]},
            profile="dezi",
            id_token_signed_response_alg="RS256",
            name="Dezi EPD with JWE",
        ),
    )
    confidential_key = rp_encryption_key("RSA-OAEP-256")
    confidential = RelyingParty.confidential("nlgov-jwe", ISSUER)
    register_client(
        settings,
        ClientRegistration(
            client_id=confidential.client_id,
            redirect_uris=(confidential.redirect_uri,),
            jwks={"keys": [*confidential.jwks()["keys"], public_jwk(confidential_key)]},
            name="NL GOV EPD with JWE",
        ),
    )
    app = create_app(settings)
    yield DeziDeployment(
        app, settings.database_url, public, confidential, public_key, confidential_key
    )


@pytest.fixture
def client(dezi: DeziDeployment) -> Iterator[TestClient]:
    with dezi.client() as test_client:
        yield test_client


def userinfo_body(client: TestClient, rp: RelyingParty, dezi_nummer: str, ura: str) -> str:
    no_nonce = {} if rp.key is not None else {"nonce": None}  # Dezi v0.7: optional
    code, verifier, _ = get_code(client, rp, dezi_nummer, choose=ura, **no_nonce)
    token = client.post("/token", data=rp.token_form(code, verifier))
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jwt")
    assert response.headers["cache-control"] == "no-store"
    return response.text


def checker(client: TestClient, revocation: str = "list") -> VerklaringChecker:
    keys = KeyFetcher(client)
    check = (
        RevocationList(LIST_URL, client, keys, frozenset({JKU}))
        if revocation == "list"
        else StatusCheck(client)
    )
    return VerklaringChecker(frozenset({JKU}), keys, check)


# -- endpoints ---------------------------------------------------------------------------------


def test_verklaring_jwks(client: TestClient) -> None:
    response = client.get("/dezi/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["access-control-allow-origin"] == "*"
    keys = response.json()["keys"]
    assert {(k["kty"], k["use"], k["alg"]) for k in keys} == {("RSA", "sig", "RS256")}
    id_token_kids = {k["kid"] for k in client.get("/jwks.json").json()["keys"]}
    assert not id_token_kids & {k["kid"] for k in keys}  # its own key, its own jku


@pytest.mark.parametrize(
    "name", ["verklaring.json", "userinfo.json", "revocatielijst.json", "status.json"]
)
def test_json_schemas_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/json_schemas/v1/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["$id"] == f"{ISSUER}/json_schemas/v1/{name}"
    Draft202012Validator.check_schema(schema)


def test_unknown_schema_is_a_problem(client: TestClient) -> None:
    response = client.get("/json_schemas/v1/../secrets.json")
    assert response.status_code == 404
    response = client.get("/json_schemas/v1/other.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_status_of_an_active_declaration(dezi: DeziDeployment, client: TestClient) -> None:
    declaration_id = dezi.declaration(PHYSICIAN, "90000001")
    response = client.get(f"/status/v1/verklaring/{declaration_id}")
    assert response.status_code == 200
    assert response.json() == {"verklaringId": declaration_id, "status": "actief"}
    assert response.headers["cache-control"] == "no-cache"
    validate(response.json(), "status.json")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/status/v1/verklaring/00000000-0000-4000-8000-000000000000", 404),
        ("GET", "/status/v1/verklaring/not-a-uuid", 400),
        ("GET", "/status/v1/verklaring/%00", 400),
        ("POST", "/status/v1/verklaring/00000000-0000-4000-8000-000000000000", 405),
        ("DELETE", "/revocatiecontrole/v1", 405),
    ],
)
def test_problem_documents(client: TestClient, method: str, path: str, status: int) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank" and body["title"]
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_revocation_list_signed_with_the_eseal_key(client: TestClient) -> None:
    response = client.get("/revocatiecontrole/v1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jose"
    assert 0 <= int(response.headers["cache-control"].split("max-age=")[1]) <= 30
    assert response.headers["cache-control"].startswith("public")
    header = unverified_header(response.text)
    eseal = {k["kid"] for k in client.get("/dezi/jwks.json").json()["keys"]}
    assert header["jku"] == JKU and header["kid"] in eseal and header["alg"] == "RS256"
    claims = unverified_claims(response.text)
    validate(claims, "revocatielijst.json")
    assert claims["json_schema"] == f"{ISSUER}/json_schemas/v1/revocatielijst.json"
    again = client.get("/revocatiecontrole/v1", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


# -- userinfo as JWE ---------------------------------------------------------------------------


def test_dezi_public_client_gets_the_jwe(dezi: DeziDeployment, client: TestClient) -> None:
    body = userinfo_body(client, dezi.public, CARER, "90000107")
    header = unverified_header_of_jwe(body)
    assert header == {
        "alg": "RSA-OAEP",
        "enc": "A256CBC-HS512",
        "cty": "JWT",
        "typ": "JWT",
        "kid": dezi.public_key.kid,
    }
    checked = UserinfoChecker(
        checker(client),
        issuer=ISSUER,
        client_id=dezi.public.client_id,
        op_jwks_uri=f"{ISSUER}/jwks.json",
        decryption_keys=_keys(dezi.public_key),
    ).check(body)
    envelope, claims = checked.envelope, checked.verklaring.claims
    validate(envelope, "userinfo.json")
    validate(claims, "verklaring.json")
    assert envelope["loa_authn"] == LOA_HIGH and envelope["aud"] == dezi.public.client_id
    assert claims["dezi_nummer"] == CARER and claims["abonnee_nummer"] == "90000107"
    assert claims["voorvoegsel"] == "van der" and claims["rol_code"] == "86.000"
    assert claims["verklaring_id"] == dezi.declaration(CARER, "90000107")
    assert claims["status_uri"] == f"{ISSUER}/status/v1/verklaring/{claims['verklaring_id']}"
    assert checked.verklaring.revocation == "list"
    for url in (envelope["json_schema"], claims["json_schema"]):
        assert client.get(url).status_code == 200


def test_nlgov_client_with_rsa_oaep_256_key(dezi: DeziDeployment, client: TestClient) -> None:
    body = userinfo_body(client, dezi.confidential, PHYSICIAN, "90000001")
    header = unverified_header_of_jwe(body)
    assert (header["alg"], header["enc"]) == ("RSA-OAEP-256", "A256GCM")
    checked = UserinfoChecker(
        checker(client, "status"),
        issuer=ISSUER,
        client_id=dezi.confidential.client_id,
        op_jwks_uri=f"{ISSUER}/jwks.json",
        decryption_keys=_keys(dezi.confidential_key),
    ).check(body)
    signed_alg = checked.envelope  # PS256 by default for this client (DECISIONS.md #1)
    assert signed_alg["iss"] == ISSUER
    assert checked.verklaring.revocation == "status"


def test_revoking_the_declaration(dezi: DeziDeployment, client: TestClient) -> None:
    rp = dezi.public
    code, verifier, _ = get_code(client, rp, CARER, choose="90000113", nonce=None)
    access = client.post("/token", data=rp.token_form(code, verifier)).json()["access_token"]
    auth = {"Authorization": f"Bearer {access}"}
    body = client.get("/userinfo", headers=auth).text
    verklaring = UserinfoChecker(
        checker(client),
        ISSUER,
        rp.client_id,
        f"{ISSUER}/jwks.json",
        _keys(dezi.public_key),
    ).check(body)
    token = verklaring.envelope["verklaring"]
    declaration_id = verklaring.verklaring.claims["verklaring_id"]

    dezi.revoke(declaration_id)
    status = client.get(f"/status/v1/verklaring/{declaration_id}").json()
    assert status == {"verklaringId": declaration_id, "status": "ingetrokken"}
    with pytest.raises(VerklaringRejected, match="ingetrokken"):
        checker(client, "status").check(token)
    # The list is reused for at most 30 s (tests/unit/protocol/test_revocation.py); here we
    # skip the wait the way an in-process revocation would.
    services = client.app.state.services  # type: ignore[attr-defined]
    services.revocation.invalidate()
    with pytest.raises(VerklaringRejected) as caught:
        checker(client).check(token)
    assert caught.value.code == "revoked"
    listed = unverified_claims(client.get("/revocatiecontrole/v1").text)["revocaties"]
    assert declaration_id in {entry["verklaringId"] for entry in listed}
    assert client.get("/userinfo", headers=auth).status_code == 401


def test_discovery_names_the_jwe_algorithms(client: TestClient) -> None:
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["userinfo_encryption_alg_values_supported"] == ["RSA-OAEP", "RSA-OAEP-256"]
    assert metadata["userinfo_encryption_enc_values_supported"] == ["A256GCM", "A256CBC-HS512"]


def test_registration_refuses_an_unusable_encryption_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    bad = public_jwk(rp_encryption_key()) | {"alg": "RSA1_5"}
    with pytest.raises(ValueError, match="alg"):
        register_client(
            settings,
            ClientRegistration(
                client_id="x",
                redirect_uris=("https://x.example/cb",),
                auth_method="none",
                jwks={"keys": [bad]},
                profile="dezi",
            ),
        )


# -- the command -------------------------------------------------------------------------------


def test_cli_verify(
    dezi: DeziDeployment,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from idp import cli_verklaring

    app = cli_verklaring.verklaring_app
    monkeypatch.setattr(cli_verklaring, "http_client", lambda timeout: dezi.client())
    body = userinfo_body(client, dezi.public, CARER, "90000115")
    (tmp_path / "userinfo.jwt").write_text(body, encoding="utf-8")
    (tmp_path / "key.json").write_text(
        json.dumps(dezi.public_key.as_dict(private=True)), encoding="utf-8"
    )
    common = ["verify", "--jku", JKU]
    userinfo_args = [
        *common,
        str(tmp_path / "userinfo.jwt"),
        "--issuer",
        ISSUER,
        "--client-id",
        dezi.public.client_id,
        "--decryption-key",
        str(tmp_path / "key.json"),
    ]
    runner = CliRunner()
    result = runner.invoke(app, [*userinfo_args, "--revocation-list", LIST_URL])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: verklaring ")
    assert "90000115" in result.output and "encrypted (JWE)" in result.output

    result = runner.invoke(app, [*userinfo_args, "--json"])
    verdict = json.loads(result.output)
    assert verdict["valid"] is True and verdict["revocation"] == "status"
    bare = verdict["verklaring"]
    assert bare["abonnee_nummer"] == "90000115" and verdict["encrypted"] is True

    checked = UserinfoChecker(
        checker(client),
        ISSUER,
        dezi.public.client_id,
        f"{ISSUER}/jwks.json",
        _keys(dezi.public_key),
    ).check(body)
    (tmp_path / "verklaring.jwt").write_text(checked.envelope["verklaring"], encoding="utf-8")
    result = runner.invoke(app, [*common, str(tmp_path / "verklaring.jwt")])
    assert result.exit_code == 0, result.output

    other = ["verify", "--jku", "https://auth.dezi.nl/dezi/jwks.json"]
    result = runner.invoke(app, [*other, str(tmp_path / "verklaring.jwt")])
    assert result.exit_code == 1
    assert result.output.startswith("rejected (jku_not_allowed)")
    result = runner.invoke(app, [*common, str(tmp_path / "userinfo.jwt")])
    assert result.exit_code == 2 and "--issuer" in result.output


def unverified_header_of_jwe(token: str) -> dict[str, Any]:
    assert token.count(".") == 4, "not a compact JWE"
    return unverified_header(".".join(token.split(".")[:2]) + ".x")


def _keys(key: Any) -> Any:
    from joserfc.jwk import KeySet

    return KeySet([key])
