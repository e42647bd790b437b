"""Requests anyone can send that used to be answered with HTTP 500 (issue 10, item 1).

Each test names the request; the answer must be the refusal the spec names, never a 5xx.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from tests.conftest import Deployment
from tests.support import pkce_pair, query_of

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _authorize(deployment: Deployment, **overrides: str) -> str:
    _, challenge = pkce_pair()
    params = deployment.rp.authorize_params(code_challenge=challenge, **overrides)
    return "/authorize?" + urlencode(params)


def test_unicode_digit_max_age_is_invalid_request(
    deployment: Deployment, client: TestClient
) -> None:
    response = client.get(_authorize(deployment, max_age="\u00b2"))
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"


@pytest.mark.parametrize(
    "claims",
    [
        '{"id_token":"x"}',
        '{"userinfo": 5}',
        "[]",
        '"s"',
        '{"id_token":{"acr":"x"}}',
        '{"id_token":{"acr":{"values":"notalist"}}}',
        '{"id_token":{"acr":{"essential":"yes"}}}',
        '{"id_token":{"acr":{"essential":true,"value":5}}}',
        '{"id_token":{"acr":{"essential":true,"values":[1]}}}',
        '{"userinfo":{"dezi_nummer":[]}}',
        "[" * 1500 + "]" * 1500,
        '{"id_token":' * 40 + "{}" + "}" * 40,
        '{"id_token":{},"id_token":{"acr":"x"}}',
    ],
)
def test_malformed_claims_parameter_is_invalid_request(
    deployment: Deployment, client: TestClient, claims: str
) -> None:
    response = client.get(_authorize(deployment, claims=claims))
    assert response.status_code == 303, response.text
    query = query_of(response.headers["location"])
    assert query["error"] == "invalid_request"


def test_well_formed_claims_parameter_is_accepted(
    deployment: Deployment, client: TestClient
) -> None:
    claims = {
        "id_token": {"acr": {"essential": True, "values": ["x"]}, "dezi_nummer": None},
        "userinfo": {"achternaam": {"essential": False}},
        "other": "ignored (OIDC Core 5.5: members not understood are ignored)",
    }
    response = client.get(_authorize(deployment, claims=json.dumps(claims)))
    assert response.status_code in (200, 303)
    assert "error=invalid_request" not in response.headers.get("location", "")


def test_huge_state_is_not_echoed(deployment: Deployment, client: TestClient) -> None:
    state = "s" * 60_000
    response = client.get(_authorize(deployment, state=state))
    assert response.status_code < 500
    assert state[:600] not in response.headers.get("location", "")
    assert state[:600] not in response.text


@pytest.mark.parametrize("name", ["nonce", "login_hint", "unknown_extension"])
def test_long_parameters_are_refused(deployment: Deployment, client: TestClient, name: str) -> None:
    response = client.get(_authorize(deployment, **{name: "n" * 3000}))
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_trailing_slash_does_not_redirect_to_the_host_header(client: TestClient) -> None:
    response = client.get("/authorize/", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "location" not in response.headers
    assert "evil.example" not in response.text


def _deep_jwt(depth: int) -> str:
    header = ('{"a":' * depth + "1" + "}" * depth).encode()
    return f"{_b64(header)}.{_b64(b'{}')}.{_b64(b'sig')}"


def test_deep_client_assertion_header_is_invalid_client(client: TestClient) -> None:
    response = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": _deep_jwt(3000),
        },
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def test_deep_bearer_token_is_invalid_token(client: TestClient) -> None:
    response = client.get("/userinfo", headers={"Authorization": "Bearer " + _deep_jwt(3000)})
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"


def test_duplicate_claims_in_client_assertion_are_invalid_client(
    deployment: Deployment, client: TestClient
) -> None:
    rp = deployment.rp
    good = rp.assertion()
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    # The same claims with "iss" written twice: orjson would keep the last one silently.
    text = json.dumps(claims)[:-1] + ', "iss": "' + rp.client_id + '"}'
    forged = f"{header}.{_b64(text.encode())}.{signature}"
    response = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": forged,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("name", ["\u00e9", 'a"b', "a\\b", "x" * 80])
def test_repeated_parameter_with_an_unusual_name(
    deployment: Deployment, client: TestClient, name: str
) -> None:
    """The error_description may hold only RFC 6749 §5.2's ASCII subset: the name of a
    repeated parameter is not copied into it (it used to be, and raised a 500)."""
    query = _authorize(deployment) + "&" + urlencode([(name, "1"), (name, "2")])
    response = client.get(query)
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"
    token = client.post(
        "/token",
        content=urlencode([(name, "1"), (name, "2")]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"


def test_non_ascii_alg_in_client_assertion_is_invalid_client(
    deployment: Deployment, client: TestClient
) -> None:
    header = _b64(json.dumps({"alg": "\u00e9", "kid": "k"}).encode())
    claims = _b64(json.dumps({"iss": deployment.rp.client_id}).encode())
    response = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": f"{header}.{claims}.c2ln",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_non_ascii_claim_name_in_malformed_claims(
    deployment: Deployment, client: TestClient
) -> None:
    response = client.get(_authorize(deployment, claims='{"id_token":{"\u00e9":5}}'))
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"
