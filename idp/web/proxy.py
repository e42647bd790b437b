"""What the TLS proxy in front tells the app, believed only from the proxy's own address.

RFC 9700 §4.13 and ``uzi-certificates.md`` §7: a client certificate forwarded in a header may be
trusted only when the request came from the proxy, and the proxy must overwrite any copy of the
header that a client sent. "From the proxy" means the **TCP peer** of the connection, so the app
does the ``X-Forwarded-*`` handling itself (``zorg-idp serve`` runs uvicorn with
``proxy_headers=False``): ``ProxyTrust`` (run by ``idp.web.edge.Edge``) records whether the peer
is in ``trusted_proxies`` before it rewrites the client address from ``X-Forwarded-For``. Were
uvicorn to rewrite it first, the peer would be lost and a forged ``X-Forwarded-For`` could pass
for the proxy.

Header contract with nginx (``deploy/nginx-uzi.conf.template``): ``X-SSL-Client-Cert`` is
``$ssl_client_escaped_cert`` (URL-escaped PEM, absent when none was presented) and
``X-SSL-Client-Verify`` is ``$ssl_client_verify`` (``SUCCESS``, ``NONE`` or ``FAILED:<reason>``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.audit import get_logger
from idp.authn.base import ClientCertificate

__all__ = [
    "CLIENT_CERT_HEADER",
    "CLIENT_VERIFY_HEADER",
    "TRUSTED_PEER",
    "ProxyTrust",
    "TrustedProxy",
    "client_certificate",
]

CLIENT_CERT_HEADER = "x-ssl-client-cert"
CLIENT_VERIFY_HEADER = "x-ssl-client-verify"
TRUSTED_PEER = "zorg_idp.trusted_peer"  # scope key: the TCP peer is a trusted proxy
MAX_CERT_HEADER = 32 * 1024

log = get_logger("idp.proxy")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyTrust:
    """Mark requests whose TCP peer is a trusted proxy, and only for those take the client
    address and scheme from ``X-Forwarded-For`` / ``-Proto`` (the rightmost address that is
    not itself a trusted proxy, as uvicorn does). Used by ``idp.web.edge.Edge``."""

    MAX_REMEMBERED = 4096

    def __init__(self, trusted: Sequence[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(entry, strict=False) for entry in trusted
        )
        # Peers are few (the proxy, a health checker): remember the verdict per address.
        self._verdicts: dict[str, bool] = {}

    def is_trusted(self, host: str) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self._check(host)
            if len(self._verdicts) >= self.MAX_REMEMBERED:
                self._verdicts.clear()
            self._verdicts[host] = verdict
        return verdict

    def _check(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def mark(self, scope: Scope) -> None:
        """Set ``scope[TRUSTED_PEER]``; for a trusted peer, apply its forwarded headers."""
        peer = scope.get("client")
        trusted = peer is not None and self.is_trusted(peer[0])
        scope[TRUSTED_PEER] = trusted
        if trusted:
            self._apply_forwarded(scope)

    def _apply_forwarded(self, scope: Scope) -> None:
        forwarded_for: list[str] = []
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip().lower()
                if proto in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = proto
            elif name == b"x-forwarded-for":
                forwarded_for += [h.strip() for h in value.decode("latin-1").split(",")]
        hops = [h for h in forwarded_for if h]
        for host in reversed(hops):
            if not self.is_trusted(host):
                scope["client"] = (host, 0)
                return
        if hops:
            scope["client"] = (hops[0], 0)


class TrustedProxy:
    """``ProxyTrust`` as a middleware of its own, for an app without ``Edge`` in front."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[str]) -> None:
        self.app = app
        self.trust = ProxyTrust(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.trust.mark(scope)
        await self.app(scope, receive, send)


def client_certificate(request: Request) -> ClientCertificate | None:
    """The client certificate the trusted proxy forwarded for this request, or None.

    Headers from any other peer are ignored and logged: a client that can reach the app
    directly must not be able to claim a certificate (its own headers are not the proxy's).
    """
    certs = request.headers.getlist(CLIENT_CERT_HEADER)
    verdicts = request.headers.getlist(CLIENT_VERIFY_HEADER)
    if not certs and not verdicts:
        return None
    peer = request.client.host if request.client else "unknown"
    route = getattr(request.scope.get("route"), "path", "unmatched")  # no transaction ids
    if request.scope.get(TRUSTED_PEER) is not True:
        log.warning("client_cert_header_untrusted", peer=peer, path=route)
        return None
    if len(certs) > 1 or len(verdicts) != 1 or len(certs[0] if certs else "") > MAX_CERT_HEADER:
        log.warning("client_cert_header_malformed", peer=peer, path=route)
        return None
    pem = unquote(certs[0]) if certs and certs[0] else None
    return ClientCertificate(pem=pem, proxy_verdict=verdicts[0].strip()[:200])
