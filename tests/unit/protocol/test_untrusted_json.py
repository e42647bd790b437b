"""idp.protocol.untrusted_json and idp.protocol.claims_request: hostile JSON is refused cleanly."""

from __future__ import annotations

import base64

import pytest

from idp.protocol import claims_request, untrusted_json
from idp.protocol.jose import JoseRejected, unverified_claims, unverified_header


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "text",
    [
        "[" * 33 + "]" * 33,
        "[" * 1500 + "]" * 1500,  # orjson's own limit is 1024
        '{"a":' * 3000 + "1" + "}" * 3000,
        "{",
        "NaN",
        b"\xff\xfe",
        '{"a": 1, "a": 2}',
    ],
)
def test_refused_with_one_exception(text: str | bytes) -> None:
    with pytest.raises(untrusted_json.UntrustedJson):
        untrusted_json.loads(text, unique_keys=True)


def test_depth_limit_is_exact() -> None:
    assert untrusted_json.loads("[" * 32 + "]" * 32) is not None
    with pytest.raises(untrusted_json.UntrustedJson):
        untrusted_json.loads("[" * 33 + "]" * 33)


def test_duplicates_only_refused_when_asked() -> None:
    assert untrusted_json.loads('{"a": 1, "a": 2}') == {"a": 2}
    with pytest.raises(untrusted_json.UntrustedJson, match="duplicate"):
        untrusted_json.loads('[{"b": {"a": 1, "a": 2}}]', unique_keys=True)


def test_jose_header_and_claims_refuse_duplicates() -> None:
    """RFC 7515 §5.2 step 4; RFC 7519 §4."""
    body = _b64(b'{"iss":"a"}')
    dup_header = _b64(b'{"alg":"ES256","alg":"none"}') + f".{body}.c2ln"
    with pytest.raises(JoseRejected):
        unverified_header(dup_header)
    dup_claims = _b64(b'{"alg":"ES256"}') + "." + _b64(b'{"iss":"a","iss":"b"}') + ".c2ln"
    with pytest.raises(JoseRejected):
        unverified_claims(dup_claims)
    deep = f"{_b64(b'[' * 3000 + b']' * 3000)}.{body}.c2ln"
    with pytest.raises(JoseRejected):
        unverified_header(deep)


@pytest.mark.parametrize(
    "text",
    [
        '{"id_token":"x"}',
        '{"userinfo": 5}',
        "[]",
        '"s"',
        "null",
        '{"id_token":{"acr":"x"}}',
        '{"id_token":{"acr":{"values":"notalist"}}}',
        '{"id_token":{"acr":{"values":[1]}}}',
        '{"id_token":{"acr":{"value":{}}}}',
        '{"userinfo":{"x":{"essential":1}}}',
        '{"userinfo":{"x":{"values":{}}}}',
    ],
)
def test_malformed_claims_parameter(text: str) -> None:
    with pytest.raises(claims_request.MalformedClaims):
        claims_request.parse(text)
    assert claims_request.section(text, "id_token") == {}


def test_well_formed_claims_parameter() -> None:
    """OIDC Core §5.5 example shapes; unknown members are ignored."""
    text = (
        '{"userinfo":{"given_name":{"essential":true},"nickname":null,'
        '"email":{"value":"x@example.com"},"custom":{"values":[1,{"a":2}]}},'
        '"id_token":{"acr":{"essential":true,"values":["urn:a","urn:b"]}},"extra":[1]}'
    )
    parsed = claims_request.parse(text)
    assert claims_request.section(text, "id_token") == parsed["id_token"]
    assert claims_request.section(None, "userinfo") == {}


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": {"a": 2}}',
        '{"a": "x\\":y", "b": "\\":"}',  # colons after escaped quotes inside values
        '{"a" : 1 , "b"\n:\t2}',
        '[{"a": 1}, {"a": 1}]',
    ],
)
def test_no_false_duplicates(text: str) -> None:
    assert untrusted_json.loads(text, unique_keys=True) is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a" : 2}',
        '{"a": "x\\":y", "a": 2}',
        '{"b": {"c": 1, "c": 1}}',
        '{"\\u0061": 1, "a": 2}',  # the same name, spelled two ways
    ],
)
def test_duplicates_found_however_written(text: str) -> None:
    with pytest.raises(untrusted_json.UntrustedJson):
        untrusted_json.loads(text, unique_keys=True)
