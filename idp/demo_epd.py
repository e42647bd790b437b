"""The demo EPD: a real relying party, mounted at ``/demo-epd/`` by ``zorg-idp demo`` only.

It talks to the OP over HTTP like any EPD would: discovery, an authorization request with PKCE
(S256), ``state`` and ``nonce``; the token request with ``private_key_jwt`` (authlib's client,
assertion ``aud`` = issuer); ID-token validation against the published JWKS (joserfc); userinfo.
It then shows what it received. It keeps its own small session table in memory.

Shared workstations (DECISIONS.md #15): "Log out" here ends the OP session too (RP-initiated
logout with ``id_token_hint``, OIDC RP-Initiated Logout 1.0 §2), so the next person at the same
PC starts from nothing; and the OP's back-channel logout token (OIDC Back-Channel Logout 1.0
§2.5-2.6) ends this EPD's session when the OP session ends anywhere else (another EPD's logout,
``/account``, an administrator).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from jinja2 import Environment
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from idp.logout_check import LogoutTokenChecker, LogoutTokenRejected

CLIENT_ID = "demo-epd"
COOKIE = "demo_epd_session"


@dataclass
class DemoEpd:
    issuer: str
    key: RSAKey
    templates: Environment
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    checker: LogoutTokenChecker | None = None

    @property
    def backchannel_uri(self) -> str:
        return f"{self.issuer}/demo-epd/backchannel"

    @property
    def post_logout_uri(self) -> str:
        return f"{self.issuer}/demo-epd/"

    @property
    def redirect_uri(self) -> str:
        return f"{self.issuer}/demo-epd/callback"

    def _client(self) -> AsyncOAuth2Client:
        client = AsyncOAuth2Client(
            client_id=CLIENT_ID,
            client_secret=self.key,
            token_endpoint_auth_method="private_key_jwt",
            scope="openid",
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )
        # FAPI 2.0 Final / rfc7523bis: the assertion audience is the issuer identifier; a short
        # lifetime (authlib's default is an hour). The client lives for one request.
        expires = int(time.time()) + 60
        client.register_client_auth_method(
            PrivateKeyJWT(self.issuer, alg="PS256", claims={"exp": expires})
        )
        return client

    async def _metadata(self) -> dict[str, Any]:
        if self.metadata is None:
            async with self._client() as client:
                resp = await client.request(
                    "GET", f"{self.issuer}/.well-known/openid-configuration", withhold_token=True
                )
                resp.raise_for_status()
                self.metadata = resp.json()
        return self.metadata

    def _session(self, request: Request) -> dict[str, Any] | None:
        return self.sessions.get(request.cookies.get(COOKIE, ""))

    def _page(self, template: str, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(environment="dev", **context)
        return HTMLResponse(html)

    # ---- routes -------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        session = self._session(request) or {}
        return self._page(
            "demo_epd.html",
            result=session.get("result"),
            pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False),
        )

    async def login(self, request: Request) -> Response:
        metadata = await self._metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                nonce=nonce,
                code_verifier=verifier,
                login_hint=request.query_params.get("login_hint") or None,
                # The organisation switcher: within the OP session, ask only which organisation
                # (OIDC Core §3.1.2.1 prompt=select_account; no new authentication).
                prompt="select_account" if request.query_params.get("switch") else None,
            )
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = {"state": state, "nonce": nonce, "verifier": verifier}
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax", path="/demo-epd")
        return response

    async def callback(self, request: Request) -> Response:
        session = self._session(request)
        params = request.query_params
        if session is None or params.get("state") != session.get("state"):
            return self._page("demo_epd.html", error="State mismatch: start again.", result=None)
        if params.get("iss") != self.issuer:  # RFC 9207 mix-up defence
            return self._page("demo_epd.html", error="Unexpected iss parameter.", result=None)
        if "error" in params:
            return self._page(
                "demo_epd.html",
                error=f"{params.get('error')}: {params.get('error_description', '')}",
                result=None,
            )
        metadata = await self._metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=params.get("code"),
                    code_verifier=session["verifier"],
                    redirect_uri=self.redirect_uri,
                )
            except OAuthError as exc:
                return self._page(
                    "demo_epd.html", error=f"Token request failed: {exc}", result=None
                )
            jwks = (await client.request("GET", metadata["jwks_uri"], withhold_token=True)).json()
            userinfo = (await client.get(metadata["userinfo_endpoint"])).json()
        try:
            claims = validate_id_token(token["id_token"], jwks, self.issuer, session["nonce"])
        except (JoseError, ValueError) as exc:
            return self._page("demo_epd.html", error=f"ID token rejected: {exc}", result=None)
        session["result"] = {"id_token": claims, "userinfo": userinfo, "at": int(time.time())}
        # Kept for logout: the hint (RP-Initiated Logout §2) and the OP session it belongs to.
        session["id_token"] = token["id_token"]
        session["op_sid"] = claims.get("sid")
        for key in ("state", "nonce", "verifier"):
            session.pop(key, None)
        return RedirectResponse("/demo-epd/", status_code=303)

    async def logout(self, request: Request) -> Response:
        """End this EPD's session and the OP session behind it (DECISIONS.md #15)."""
        session = self.sessions.pop(request.cookies.get(COOKIE, ""), None)
        target = "/demo-epd/"
        if session is not None and session.get("id_token"):
            metadata = await self._metadata()
            query = httpx.QueryParams(
                {
                    "id_token_hint": session["id_token"],
                    "post_logout_redirect_uri": self.post_logout_uri,
                    "client_id": CLIENT_ID,
                }
            )
            target = f"{metadata['end_session_endpoint']}?{query}"
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(COOKIE, path="/demo-epd")
        return response

    async def backchannel(self, request: Request) -> Response:
        """The OP ended the session: forget every local session that belongs to it (§2.8:
        200 when done, 400 for a token that fails its checks)."""
        form = await request.form()
        token = form.get("logout_token")
        if not isinstance(token, str):
            return Response(status_code=400)
        if self.checker is None:
            jwks = await self._jwks()
            self.checker = LogoutTokenChecker(
                self.issuer, CLIENT_ID, lambda: KeySet.import_key_set(cast(Any, jwks))
            )
        try:
            notice = self.checker.check(token)
        except LogoutTokenRejected:
            return Response(status_code=400)
        for sid, session in list(self.sessions.items()):
            if notice.sid is not None and session.get("op_sid") == notice.sid:
                del self.sessions[sid]
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    async def _jwks(self) -> dict[str, Any]:
        metadata = await self._metadata()
        async with self._client() as client:
            resp = await client.request("GET", metadata["jwks_uri"], withhold_token=True)
            resp.raise_for_status()
            jwks: dict[str, Any] = resp.json()
            return jwks

    def mount(self) -> Mount:
        return Mount(
            "/demo-epd",
            routes=[
                Route("/", self.home),
                Route("/login", self.login),
                Route("/callback", self.callback),
                Route("/logout", self.logout, methods=["POST"]),
                Route("/backchannel", self.backchannel, methods=["POST"]),
            ],
        )


def validate_id_token(token: str, jwks: dict[str, Any], issuer: str, nonce: str) -> dict[str, Any]:
    """OIDC Core §3.1.3.7 as an EPD does it: signature, iss, aud, azp, exp, nonce, acr."""
    decoded = jwt.decode(
        token,
        KeySet.import_key_set(jwks),  # type: ignore[arg-type]
        algorithms=["PS256", "RS256", "ES256"],
    )
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": CLIENT_ID},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
        sub={"essential": True},
    )
    registry.validate(decoded.claims)
    if decoded.claims.get("azp", CLIENT_ID) != CLIENT_ID:
        raise ValueError("azp is not this client")
    return dict(decoded.claims)
