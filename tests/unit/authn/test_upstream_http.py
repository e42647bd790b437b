"""The httpx adapter of the upstream fetcher, over httpx's mock transport (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from idp.authn.oidc_rp import UpstreamUnavailable
from idp.authn.upstream_http import HttpxFetcher


def fetcher(
    handler: Callable[[httpx.Request], httpx.Response], max_bytes: int = 4096
) -> HttpxFetcher:
    return HttpxFetcher(transport=httpx.MockTransport(handler), max_bytes=max_bytes)


def test_get_and_post_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(400, json={"error": "invalid_grant"})
        return httpx.Response(200, json={"issuer": "https://op.test"})

    op = fetcher(handler)
    assert op.get_json("https://op.test/.well-known/openid-configuration") == {
        "issuer": "https://op.test"
    }
    assert op.post_form("https://op.test/token", {"code": "c"}) == (400, {"error": "invalid_grant"})
    assert seen[0].headers["accept"] == "application/json"
    assert seen[1].content == b"code=c"
    assert seen[1].headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, json={}), "HTTP 500"),
        (httpx.Response(302, headers={"location": "https://elsewhere.test/"}), "HTTP 302"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json=["a list"]), "not a JSON object"),
        (httpx.Response(200, content=json.dumps({"x": "y" * 2000}).encode()), "body over 1024 B"),
    ],
)
def test_unusable_answers(response: httpx.Response, message: str) -> None:
    with pytest.raises(UpstreamUnavailable, match=message):
        fetcher(lambda _request: response, max_bytes=1024).get_json("https://op.test/jwks")


def test_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamUnavailable, match="ConnectError") as caught:
        fetcher(handler).post_form("https://op.test/token", {})
    assert caught.value.reason == "unavailable"
