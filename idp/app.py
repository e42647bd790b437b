"""The composition root: ``create_app(settings)`` wires everything; nothing else reads settings.

ARCHITECTURE.md: the web adapter, protocol core, login methods, state store and register are
built here, explicitly, from one ``Settings`` object.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from idp.audit import configure_logging, get_logger
from idp.authn import build_login_methods
from idp.client_cache import ClientCache
from idp.journey import Journey
from idp.keys import KeyRing, load_or_create_secrets
from idp.protocol.authorization_code import AuthorizationCodeGrant
from idp.protocol.client_auth import ClientAuthenticator, ClientKeyCache
from idp.protocol.client_credentials import ClientCredentialsGrant
from idp.protocol.config import (
    AUTHORIZE_PATH,
    END_SESSION_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    ProviderConfig,
)
from idp.protocol.logout import LogoutService
from idp.protocol.revocation import RevocationService
from idp.protocol.session import SessionPolicy
from idp.protocol.token_endpoint import TokenEndpoint
from idp.protocol.userinfo import UserInfoEndpoint
from idp.protocol.userinfo_jwe import DeziUserinfo
from idp.protocol.verklaring import VerklaringIssuer
from idp.register_feed import RegisterFeed
from idp.settings import Settings
from idp.state import create_state_store
from idp.state.memory import MemoryStateStore
from idp.web import (
    account,
    consent,
    declarations,
    dezi,
    linking,
    login,
    logout,
    oauth,
    ops,
    passkeys,
    postback,
)
from idp.web.api_auth import mount_api
from idp.web.backchannel import BackchannelSender
from idp.web.common import error_page
from idp.web.edge import Edge
from idp.web.metrics import Metrics
from idp.web.outage import OUTAGES, outage
from idp.web.revocation_watch import RevocationWatcher
from idp.web.services import Services
from idp.web.throttling import throttle_from_settings
from registry.consents import SqlConsents
from registry.db import create_engine, upgrade
from registry.passkeys import SqlPasskeys
from registry.repository import SqlRegister

WEB_DIR = Path(__file__).parent / "web"
log = get_logger("idp.app")


def fetch_jwks(url: str) -> Mapping[str, Any]:
    """Fetch a client's ``jwks_uri`` (bounded in time and size)."""
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        response = client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > 64 * 1024:
            raise ValueError("JWKS too large")
        data: Mapping[str, Any] = response.json()
        return data


@dataclass(frozen=True, slots=True)
class Core:
    """What the login journey, the token endpoint and the background jobs share: built from
    the settings alone, without the web app (the sessions CLI uses it as it is)."""

    journey: Journey
    engine: Engine
    register: SqlRegister
    clients: ClientCache
    feed: RegisterFeed
    signer: KeyRing
    verklaring: VerklaringIssuer
    client_keys: ClientKeyCache
    authenticator: ClientAuthenticator
    cookie_secret: bytes

    def close(self) -> None:
        self.feed.close()
        self.journey.state.close()
        self.engine.dispose()


def build_core(settings: Settings) -> Core:
    secrets_ = load_or_create_secrets(settings.data_dir)
    pairwise = (
        settings.pairwise_secret.get_secret_value()
        if settings.pairwise_secret
        else secrets_["pairwise_secret"]
    )
    cookie = (
        settings.cookie_secret.get_secret_value()
        if settings.cookie_secret
        else secrets_["cookie_secret"]
    )
    engine = create_engine(settings.database_url)
    upgrade(engine)
    register = SqlRegister(engine)
    clients = ClientCache(register)
    state = create_state_store(settings.state_url)
    signer = KeyRing(
        settings.data_dir,
        rsa_key_size=settings.rsa_key_size,
        grace_period=settings.key_grace_period,
    )
    # The verklaring's own key (the eSeal role, Dezi v0.7 §2.6), published at its own jku.
    eseal = KeyRing(
        settings.data_dir,
        rsa_key_size=settings.rsa_key_size,
        grace_period=settings.key_grace_period,
        subdir="verklaring-keys",
        families=("RSA",),
    )
    verklaring = VerklaringIssuer(issuer=settings.issuer, keys=eseal)
    config = ProviderConfig(
        issuer=settings.issuer,
        pairwise_secret=pairwise.encode(),
        code_ttl=settings.code_ttl,
        id_token_ttl=settings.id_token_ttl,
        access_token_ttl=settings.access_token_ttl,
        default_signing_alg=settings.default_signing_alg,
        access_token_signing_alg=settings.access_token_signing_alg,
    )
    client_keys = ClientKeyCache(fetch_jwks, ttl=settings.client_jwks_cache_ttl)
    authenticator = ClientAuthenticator(
        issuer=settings.issuer,
        clients=clients,
        state=state,
        keys=client_keys,
    )
    code_grant = AuthorizationCodeGrant(
        config=config,
        state=state,
        clients=clients,
        register=register,
        signer=signer,
        authenticator=authenticator,
    )
    journey = Journey(
        config=config,
        policy=SessionPolicy(
            absolute_ttl=settings.session_absolute_ttl, idle_ttl=settings.session_idle_ttl
        ),
        transaction_ttl=settings.login_transaction_ttl,
        state=state,
        clients=clients,
        register=register,
        consents=SqlConsents(engine),
        code_grant=code_grant,
        login_methods=build_login_methods(
            settings, register, state=state, passkeys=SqlPasskeys(engine), engine=engine
        ),
        logout=LogoutService(config=config, clients=clients, signer=signer),
        cookie_secret=cookie.encode(),
        dezi=DeziUserinfo(config, signer, verklaring, client_keys),
        blocking=not isinstance(state, MemoryStateStore),
    )
    # A mark must outlive everything that may carry the snapshot it names: the session, then
    # the codes and access tokens issued at its very end.
    mark_ttl = settings.session_absolute_ttl + settings.access_token_ttl + settings.code_ttl
    feed = RegisterFeed(engine, state, clients, mark_ttl)
    feed.start()
    return Core(
        journey=journey,
        engine=engine,
        register=register,
        clients=clients,
        feed=feed,
        signer=signer,
        verklaring=verklaring,
        client_keys=client_keys,
        authenticator=authenticator,
        cookie_secret=cookie.encode(),
    )


def build_services(settings: Settings) -> tuple[Services, Engine]:
    core = build_core(settings)
    j = core.journey
    templates = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(default=True),
        auto_reload=False,
        cache_size=-1,
    )
    services = Services(
        settings=settings,
        config=j.config,
        state=j.state,
        clients=core.clients,
        register=core.register,
        signer=core.signer,
        code_grant=j.code_grant,
        token_endpoint=TokenEndpoint(
            authenticator=core.authenticator,
            grants={
                "authorization_code": j.code_grant,
                "client_credentials": ClientCredentialsGrant(j.config, j.state, core.signer),
            },
        ),
        userinfo=UserInfoEndpoint(
            config=j.config,
            state=j.state,
            clients=core.clients,
            register=core.register,
            signer=core.signer,
            dezi=j.dezi,
        ),
        login_methods=j.login_methods,
        templates=templates,
        cookie_secret=core.cookie_secret,
        metrics=Metrics(),
        consents=j.consents,
        logout=j.logout,
        backchannel=BackchannelSender(),
        verklaring=core.verklaring,
        revocation=RevocationService(core.register, core.verklaring),
        throttle=throttle_from_settings(settings, j.state, core.cookie_secret),
        journey=j,
        core=core,
    )
    return services, core.engine


def routes() -> list[BaseRoute]:
    return [
        Route("/.well-known/openid-configuration", oauth.openid_configuration_endpoint),
        Route("/.well-known/oauth-authorization-server", oauth.oauth_metadata_endpoint),
        Route(JWKS_PATH, oauth.jwks_endpoint),
        Route(AUTHORIZE_PATH, login.authorize, methods=["GET", "POST"]),
        Route("/login/{tx_id}", login.choose_method, methods=["GET", "POST"]),
        Route("/login/{tx_id}/{method}", login.login_step, methods=["GET", "POST"]),
        Route("/login/{tx_id}/{method}/return", login.login_return),
        Route("/upstream/{method}/return", login.fixed_return),
        Route("/login/{tx_id}/{method}/link", linking.confirm, methods=["POST"]),
        # SAML (idp.authn.digid): the ACS for the HTTP-POST binding, relayed (idp.web.postback).
        Route("/authn/{method}/acs", postback.relay, methods=["POST"]),
        Route("/authn/{method}/metadata", postback.sp_metadata),
        Route("/select/{tx_id}", declarations.select_declaration, methods=["GET", "POST"]),
        Route("/consent/{tx_id}", consent.consent_page, methods=["GET", "POST"]),
        Route(TOKEN_PATH, oauth.token_endpoint, methods=["POST"]),
        Route(USERINFO_PATH, oauth.userinfo_endpoint, methods=["GET", "POST"]),
        Route(END_SESSION_PATH, logout.logout, methods=["GET", "POST"]),
        Route("/account", account.account, methods=["GET", "POST"]),
        Route(passkeys.PATH, passkeys.passkeys_page, methods=["GET", "POST"]),
        *dezi.routes(),
        Route("/healthz", ops.healthz),
        Route("/readyz", ops.readyz),
        Route("/metrics", ops.metrics),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException
        raise exc
    if request.url.path in (TOKEN_PATH, USERINFO_PATH) or "json" in request.headers.get(
        "accept", ""
    ):
        return JSONResponse(
            {"error": "invalid_request", "error_description": exc.detail}, exc.status_code
        )
    titles = {404: "Page not found", 405: "Method not allowed"}
    return error_page(
        request, titles.get(exc.status_code, "Error"), str(exc.detail), exc.status_code
    )


def create_app(settings: Settings, *, extra_routes: list[BaseRoute] | None = None) -> Starlette:
    configure_logging(settings.log_level)
    services, engine = build_services(settings)

    watcher = RevocationWatcher(services, SqlRegister(engine), settings.revocation_poll_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.core.feed.start()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(services.core.feed.run(settings.register_poll_interval))]
        if settings.revocation_poll_interval > 0:
            tasks.append(loop.create_task(watcher.run()))
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.backchannel.drain()
        services.core.close()

    app = Starlette(
        routes=[
            *routes(),
            mount_api(services.config, services.state, services.signer, engine),
            *(extra_routes or []),
        ],
        middleware=[
            # One pure-ASGI hop: proxy trust (it sees the TCP peer before X-Forwarded-For
            # replaces it), body limit, security headers, access log and metrics (idp.web.edge).
            Middleware(
                Edge,
                trusted=settings.trusted_proxies,
                metrics=services.metrics,
                hsts=settings.secure_cookies,
                max_bytes=settings.max_body_bytes,
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            **dict.fromkeys(OUTAGES, outage),  # 503, never 500 (idp.web.outage)
        },
        lifespan=lifespan,
    )
    # Starlette answers "/authorize/" with a redirect to "/authorize" built from the request's
    # Host header; no URL of ours comes from the request (RFC 9700 §4.13, checklist A4), so an
    # unknown path is a 404 page, slash or not.
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.revocation_watcher = watcher
    return app
