"""The one pure-ASGI middleware in front of the routes: proxy trust, body limit, security
headers, access log and metrics, in one hop (issue 9 item 3; ARCHITECTURE.md "idp/web").

What it does, in the order a request meets it:

1. **Proxy trust** (``idp.web.proxy``): whether the TCP peer is a trusted proxy, and only then
   the client address and scheme from ``X-Forwarded-For`` / ``-Proto`` (RFC 9700 §4.13).
2. **Body limit**: Starlette has none (anchors.md §5 finding 10). A declared ``Content-Length``
   over the limit gets 413 before the app runs; a body without one (chunked) is counted as it
   is read and answered with 413 as soon as it passes the limit, before any parsing.
3. **Security headers**, each only if the route did not set its own (a page with a wider CSP):
   RFC 9700 §4.16 (CSP ``frame-ancestors``), §4.2.4 (Referrer-Policy), NL GOV OIDC (HSTS
   MUST), ASVS 3.4.x; ``Cache-Control: no-store`` on HTML. The CSP forbids inline script and
   style everywhere.
4. **Access log and metrics**: one redacted line per request (route template, never the path
   or query string, which can carry codes and tokens), a request id in ``X-Request-Id``, and
   Prometheus counters by route, method and status. An unhandled exception is logged by type
   only and answered with a plain 500 page that carries the request id (ASVS 16.5.1).

Per request the work is: a scan of the request headers for ``Content-Length``, one of the
response headers to see which defaults are missing, and list appends of header pairs encoded
once at start-up. No ``MutableHeaders`` or header dict is built.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.audit import access_log, get_logger
from idp.web.metrics import Metrics
from idp.web.proxy import ProxyTrust

__all__ = ["DEFAULT_CSP", "Edge"]

DEFAULT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
Header = tuple[bytes, bytes]
SECURITY_HEADERS: tuple[Header, ...] = (
    (b"content-security-policy", DEFAULT_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
HSTS: Header = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE: Header = (b"cache-control", b"no-store")
TOO_LARGE_BODY = b'{"error":"invalid_request","error_description":"Request body too large"}'
MAX_METRIC_CHILDREN = 4096  # label sets remembered; past that they are looked up each time

log = get_logger("idp.http")


class BodyTooLarge(Exception):
    pass


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted: Sequence[str],
        metrics: Metrics,
        hsts: bool,
        max_bytes: int,
    ) -> None:
        self.app = app
        self.proxy = ProxyTrust(trusted)
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.defaults: tuple[Header, ...] = SECURITY_HEADERS + ((HSTS,) if hsts else ())
        # prometheus_client's labels() takes a lock and validates on every call: keep the
        # children it returns (they live as long as the registry).
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                self.proxy.mark(scope)
            await self.app(scope, receive, send)
            return
        self.proxy.mark(scope)
        started = time.perf_counter()
        # 64 random bits, the length of the former uuid4 prefix, at a quarter of its cost; not
        # a counter, so the ids a client sees say nothing about the traffic of others.
        request_id = secrets.token_hex(8)
        rid = request_id.encode()
        status = 500
        response_started = False
        defaults = self.defaults

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = _complete(message.get("headers") or (), defaults, rid)
            await send(message)

        declared = _declared_length(scope)
        try:
            if declared is not None and declared > self.max_bytes:
                await _reject(send_with_headers)
            elif declared is not None:
                # The server frames this body by its Content-Length (RFC 9112 §6.3): it cannot
                # grow past what was declared, so it need not be counted.
                await self.app(scope, receive, send_with_headers)
            else:
                await self.app(scope, self._counting(receive), send_with_headers)
        except BodyTooLarge:
            if not response_started:
                await _reject(send_with_headers)
        except Exception as exc:
            # Never hand a traceback to the server log: exception texts can carry request
            # values. Log the type and the request id; answer a plain 500 (ASVS 16.5.1).
            log.error("unhandled", error=type(exc).__name__, request_id=request_id)
            if not response_started:
                await _server_error(send_with_headers, request_id)
        finally:
            self._record(scope, status, time.perf_counter() - started, request_id)

    def _counting(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_bytes

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        return counting_receive

    def _record(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        route = _route_name(scope)
        method = scope["method"]
        counter = self._counters.get((route, method, status))
        if counter is None:
            counter = self.metrics.requests.labels(route, method, str(status))
            if len(self._counters) < MAX_METRIC_CHILDREN:
                self._counters[(route, method, status)] = counter
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self.metrics.latency.labels(route)
            if len(self._histograms) < MAX_METRIC_CHILDREN:
                self._histograms[route] = histogram
        histogram.observe(elapsed)
        access_log(method, route, status, round(elapsed * 1000, 1), request_id)


def _complete(headers: Any, defaults: tuple[Header, ...], rid: bytes) -> list[Header]:
    """``headers`` plus each default the response lacks (``setdefault``: a route's own wins)."""
    present: set[bytes] = set()
    content_type = b""
    for name, value in headers:
        name = name.lower()
        if name == b"content-type" and b"content-type" not in present:
            content_type = value
        present.add(name)
    added = [pair for pair in defaults if pair[0] not in present]
    if content_type.startswith(b"text/html") and b"cache-control" not in present:
        added.append(NO_STORE)
    if b"x-request-id" not in present:
        added.append((b"x-request-id", rid))
    return [*headers, *added]


def _declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``; a malformed one counts as too large, as do several
    that disagree. ``None`` when there is none (a chunked body, or no body)."""
    declared: int | None = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return 1 << 62
            if length < 0 or (declared is not None and length != declared):
                return 1 << 62
            declared = length
    return declared


async def _reject(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(TOO_LARGE_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE_BODY})


async def _server_error(send: Send, request_id: str) -> None:
    body = (
        "<!doctype html><title>Error</title><h1>Something went wrong</h1>"
        f"<p>The service could not complete this request. Reference: {request_id}</p>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _route_name(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
