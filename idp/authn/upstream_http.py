"""The httpx adapter behind ``oidc_rp.HttpFetcher``: back-channel calls to an upstream OP.

Bounded in time and size, no redirects followed (an OP's endpoints are where its metadata says),
TLS verified against certifi's CA bundle (httpx's default; ``SSL_CERT_FILE`` names another).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from idp.authn.oidc_rp import UpstreamUnavailable
from idp.protocol import untrusted_json

MAX_BODY_BYTES = 256 * 1024
TIMEOUT_SECONDS = 10.0


class HttpxFetcher:
    def __init__(
        self,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BODY_BYTES,
        transport: httpx.BaseTransport | None = None,  # tests: httpx.MockTransport
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._transport = transport

    def get_json(self, url: str) -> dict[str, Any]:
        return self._call("GET", url, None)[1]

    def post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        return self._call("POST", url, form)

    def _call(
        self, method: str, url: str, form: Mapping[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        try:
            with (
                httpx.Client(
                    timeout=self._timeout, follow_redirects=False, transport=self._transport
                ) as client,
                client.stream(
                    method,
                    url,
                    data=dict(form) if form is not None else None,
                    headers={"Accept": "application/json"},
                ) as response,
            ):
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise UpstreamUnavailable(f"{method} {url}: body over {self._max_bytes} B")
                status = response.status_code
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"{method} {url}: {type(exc).__name__}") from None
        if method == "GET" and status != 200:
            raise UpstreamUnavailable(f"GET {url}: HTTP {status}")
        try:
            data = untrusted_json.loads(bytes(body))
        except untrusted_json.UntrustedJson:
            raise UpstreamUnavailable(f"{method} {url}: HTTP {status}, not JSON") from None
        if not isinstance(data, dict):
            raise UpstreamUnavailable(f"{method} {url}: HTTP {status}, not a JSON object")
        return status, data


__all__ = ["HttpxFetcher"]
