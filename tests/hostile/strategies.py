"""Hypothesis strategies for hostile requests: what anyone can send without logging in.

Values mix plain noise with the shapes that have broken parsers before: huge strings, NUL and
control characters, bytes that are not UTF-8, deeply nested JSON, Unicode digits that
``str.isdigit()`` accepts and ``int()`` refuses, and JWT-shaped garbage whose segments decode
to any of these.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from idp.protocol.authorization import KNOWN_PARAMS

# Every name the authorization endpoint knows, sorted so examples are reproducible.
AUTHORIZE_NAMES = tuple(sorted(KNOWN_PARAMS))
TOKEN_NAMES = (
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
    "scope",
    "refresh_token",
)
LOGOUT_NAMES = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

UNICODE_DIGITS = ("\u00b2", "\u0661", "\u06f3", "\u0967", "\uff11", "\U0001d7d9", "1\u00b2")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def deep_json(depth: int, kind: str) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


deep = st.builds(
    deep_json,
    st.sampled_from((31, 33, 200, 1023, 1025, 1500, 3000)),
    st.sampled_from(("array", "object")),
)

claims_json = st.one_of(
    deep,
    st.sampled_from(
        (
            '{"id_token":"x"}',
            '{"userinfo": 5}',
            "[]",
            '"s"',
            "null",
            '{"id_token":{"acr":"x"}}',
            '{"id_token":{"acr":{"values":"notalist"}}}',
            '{"id_token":{"acr":{"essential":true,"values":[1,{}]}}}',
            '{"id_token":{},"id_token":{"acr":"x"}}',
            '{"id_token":{"acr":{"essential":true,"value":"x"}}}',
            "NaN",
            "1e999999",
            '{"a":"\\ud800"}',
        )
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ("id_token", "userinfo", "acr", "values", "value", "essential", "x")
                ),
                children,
                max_size=3,
            )
        ),
        max_leaves=6,
    ).map(json.dumps),
)

json_segment = st.one_of(
    deep,
    claims_json,
    st.sampled_from(
        (
            '{"alg":"none"}',
            '{"alg":"HS256"}',
            '{"alg":"ES256","alg":"none"}',
            '{"alg":"PS256","kid":{}}',
            '{"alg":"ES256","crit":["x"]}',
            '{"alg":"RS256","jwk":{"kty":"RSA"}}',
            '{"alg":["ES256"]}',
            '{"iss":"epd-confidential","iss":"x"}',
            '{"iss":"epd-confidential","sub":"epd-confidential","aud":[],"exp":"1"}',
            '{"iss":"epd-confidential","exp":1e400}',
        )
    ),
)

segment = st.one_of(
    json_segment.map(lambda text: _b64(text.encode("utf-8", "surrogatepass"))),
    st.binary(max_size=64).map(_b64),
    st.text(alphabet="ABCxyz019-_=+/.!", max_size=40),
    st.sampled_from(("", "=", "\u00e9", "%00", "A" * 20_000)),
)

jwt_garbage = st.one_of(
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", segment, segment, segment),
    st.lists(segment, min_size=1, max_size=5).map(".".join),
    st.sampled_from(("a.b.c", "..", "....", "eyJ.eyJ.", "x" * 17_000)),
)

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(UNICODE_DIGITS),
    st.sampled_from(
        ("\x00", "a\x00b", "\ufffd", "\r\n", "\u202e", "-1", "0", "999999999999", " 1")
    ),
    st.builds(
        lambda c, n: c * n, st.sampled_from("As%\u00e9"), st.sampled_from((513, 2049, 4097, 20_000))
    ),
    deep,
    claims_json,
    jwt_garbage,
)


def _encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


raw_bytes = st.binary(max_size=24).map(lambda b: b + b"\xff\xfe\xc0\x80")


def pairs(names: tuple[str, ...]) -> st.SearchStrategy[list[tuple[str, str | bytes]]]:
    """Parameter lists: known names (repeats allowed), random names, any values."""
    name = st.one_of(st.sampled_from(names), st.text(max_size=12), st.just("x" * 300))
    value: st.SearchStrategy[str | bytes] = st.one_of(hostile_text, raw_bytes)
    return st.lists(st.tuples(name, value), max_size=6)


def encoded(params: list[tuple[str, str | bytes]]) -> str:
    """A query string or form body, percent-encoded byte for byte (non-UTF-8 included)."""
    return "&".join(f"{_encode(n)}={_encode(v)}" for n, v in params)


content_type = st.sampled_from(
    (
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/json",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
        "application/x-www-form-urlencoded; charset=latin-1",
    )
)
