"""``idp.web.edge.Edge``: proxy trust, body limit, security headers, access log and metrics in
one pure-ASGI middleware, driven directly with ASGI messages (no server, no router)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send
from structlog.testing import capture_logs

from idp.web.edge import DEFAULT_CSP, Edge
from idp.web.metrics import Metrics
from idp.web.proxy import TRUSTED_PEER

LIMIT = 1024


class Route:
    path = "/things/{thing_id}"


class Exchange:
    """One request through ``Edge`` in front of ``app``: what was sent back, what the app saw."""

    def __init__(
        self,
        app: Any,
        *,
        headers: Sequence[tuple[bytes, bytes]] = (),
        chunks: Sequence[bytes] = (b"",),
        hsts: bool = True,
        client: tuple[str, int] = ("192.0.2.10", 4000),
        query: bytes = b"code=secret-code",
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.edge = Edge(
            app,
            trusted=("127.0.0.2", "10.0.0.0/8"),
            metrics=self.metrics,
            hsts=hsts,
            max_bytes=LIMIT,
        )
        self.scope: Scope = {
            "type": "http",
            "method": "POST",
            "path": "/things/42",
            "query_string": query,
            "headers": list(headers),
            "client": client,
            "scheme": "http",
        }
        self.sent: list[Message] = []
        pending = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]

        async def receive() -> Message:
            return pending.pop(0) if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            self.sent.append(message)

        asyncio.run(self.edge(self.scope, receive, send))

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.sent[0]["headers"])

    def header(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.headers if k == name]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def responder(
    headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"application/json"),),
    *,
    read_body: bool = False,
    status: int = 200,
) -> Any:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = Route()
        seen["scope"] = scope
        if read_body:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            seen["body"] = body
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"{}"})

    app.seen = seen  # type: ignore[attr-defined]
    return app


# ---- security headers ---------------------------------------------------------------------


def test_defaults_are_added_once_and_a_route_s_own_win() -> None:
    plain = Exchange(responder())
    assert plain.header(b"content-security-policy") == [DEFAULT_CSP.encode()]
    assert plain.header(b"x-frame-options") == [b"DENY"]
    assert plain.header(b"x-content-type-options") == [b"nosniff"]
    assert plain.header(b"referrer-policy") == [b"no-referrer"]
    assert plain.header(b"cross-origin-opener-policy") == [b"same-origin"]
    assert plain.header(b"cross-origin-resource-policy") == [b"same-origin"]
    assert plain.header(b"strict-transport-security") == [b"max-age=31536000; includeSubDomains"]
    assert plain.header(b"cache-control") == []  # JSON: the route decides (no-store on tokens)
    own = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"Content-Security-Policy", b"default-src 'none'; script-src 'self'"),
        (b"cache-control", b"public, max-age=300"),
    ]
    page = Exchange(responder(own), hsts=False)
    assert page.headers[:3] == own  # untouched, in order, before the added ones
    assert page.header(b"content-security-policy") == []  # present under its own spelling
    assert page.header(b"cache-control") == [b"public, max-age=300"]
    assert page.header(b"strict-transport-security") == []


def test_html_gets_no_store() -> None:
    page = Exchange(responder([(b"content-type", b"text/html; charset=utf-8")]))
    assert page.header(b"cache-control") == [b"no-store"]


def test_request_id_is_random_hex_and_kept_if_the_app_set_one() -> None:
    first, second = Exchange(responder()), Exchange(responder())
    ids = first.header(b"x-request-id") + second.header(b"x-request-id")
    assert all(re.fullmatch(rb"[0-9a-f]{16}", i) for i in ids) and ids[0] != ids[1]
    own = Exchange(responder([(b"x-request-id", b"upstream")]))
    assert own.header(b"x-request-id") == [b"upstream"]


# ---- body limit ---------------------------------------------------------------------------


def assert_413(exchange: Exchange) -> None:
    assert exchange.status == 413
    assert exchange.header(b"content-type") == [b"application/json"]
    assert b"Request body too large" in exchange.body
    assert exchange.header(b"x-frame-options") == [b"DENY"]
    assert len(exchange.header(b"x-request-id")) == 1


@pytest.mark.parametrize(
    "declared", [b"1025", b"99999999999999999999", b"12x", b"-1", b"10", b"1024"]
)
def test_declared_length_over_the_limit_is_413_before_the_app_runs(declared: bytes) -> None:
    app = responder(read_body=True)
    headers = [(b"content-length", declared)]
    if declared == b"10":  # two that disagree
        headers.append((b"content-length", b"20"))
    if declared == b"1024":  # at the limit: passes
        ok = Exchange(app, headers=headers, chunks=[b"a" * 1024])
        assert ok.status == 200 and app.seen["body"] == b"a" * 1024
        return
    assert_413(Exchange(app, headers=headers, chunks=[b"a" * 10]))
    assert "scope" not in app.seen


def test_chunked_body_is_counted_and_stopped_at_the_limit() -> None:
    app = responder(read_body=True)
    assert_413(Exchange(app, chunks=[b"a" * 600, b"b" * 600]))
    assert "body" not in app.seen  # the app never got the whole body
    small = responder(read_body=True)
    assert Exchange(small, chunks=[b"a" * 600, b"b" * 400]).status == 200
    assert small.seen["body"] == b"a" * 600 + b"b" * 400


# ---- proxy trust --------------------------------------------------------------------------

XFF = [(b"x-forwarded-for", b"198.51.100.7, 10.1.2.3"), (b"x-forwarded-proto", b"https")]


def test_forwarded_headers_only_from_a_trusted_peer() -> None:
    app = responder()
    Exchange(app, headers=XFF, client=("127.0.0.2", 5000))
    scope = app.seen["scope"]
    assert scope[TRUSTED_PEER] is True
    assert scope["client"] == ("198.51.100.7", 0) and scope["scheme"] == "https"
    direct = responder()
    Exchange(direct, headers=XFF, client=("192.0.2.66", 5000))
    scope = direct.seen["scope"]
    assert scope[TRUSTED_PEER] is False
    assert scope["client"] == ("192.0.2.66", 5000) and scope["scheme"] == "http"


def test_other_scopes_pass_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    edge = Edge(
        app, trusted=("127.0.0.2", "10.0.0.0/8"), metrics=Metrics(), hsts=True, max_bytes=LIMIT
    )

    async def nothing() -> Message:
        return {}

    async def drop(message: Message) -> None:
        return None

    socket: Scope = {"type": "websocket", "client": ("127.0.0.2", 1), "headers": XFF}
    asyncio.run(edge(socket, nothing, drop))
    asyncio.run(edge({"type": "lifespan"}, nothing, drop))
    assert seen[0][TRUSTED_PEER] is True and seen[0]["client"] == ("198.51.100.7", 0)
    assert seen[1] == {"type": "lifespan"}


# ---- access log, metrics, errors ----------------------------------------------------------


def test_one_log_line_with_the_route_template_and_metrics(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    with caplog.at_level(logging.INFO, logger="idp.http"):
        exchange = Exchange(responder(status=201), metrics=metrics)
        Exchange(responder(status=201), metrics=metrics)
    logs = [json.loads(r.getMessage()) for r in caplog.records if r.name == "idp.http"]
    lines = [e for e in logs if e["event"] == "request"]
    assert len(lines) == 2
    line = lines[0]
    assert {k: line[k] for k in ("method", "path", "status")} == {
        "method": "POST",
        "path": "/things/{thing_id}",  # the template: no ids, never the query string
        "status": 201,
    }
    assert line["request_id"].encode() == exchange.header(b"x-request-id")[0]
    assert isinstance(line["ms"], float)
    assert "secret-code" not in repr(logs) and "/things/42" not in repr(logs)
    labels = {"route": "/things/{thing_id}", "method": "POST", "status": "201"}
    assert metrics.registry.get_sample_value("zorg_http_requests_total", labels) == 2
    count = metrics.registry.get_sample_value(
        "zorg_http_request_seconds_count", {"route": "/things/{thing_id}"}
    )
    assert count == 2


def test_an_unhandled_error_is_a_plain_500_with_its_reference() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("token=eyJsecret in the message")

    metrics = Metrics()
    with capture_logs() as logs:
        exchange = Exchange(broken, metrics=metrics)
    assert exchange.status == 500
    request_id = exchange.header(b"x-request-id")[0].decode()
    assert f"Reference: {request_id}".encode() in exchange.body
    assert exchange.header(b"content-security-policy") == [DEFAULT_CSP.encode()]
    assert exchange.header(b"cache-control") == [b"no-store"]
    error = next(e for e in logs if e["event"] == "unhandled")
    assert error == {
        "event": "unhandled",
        "error": "RuntimeError",
        "request_id": request_id,
        "log_level": "error",
    }
    assert "eyJsecret" not in repr(logs)
    labels = {"route": "unmatched", "method": "POST", "status": "500"}
    assert metrics.registry.get_sample_value("zorg_http_requests_total", labels) == 1
