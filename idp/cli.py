"""The ``zorg-idp`` command (INTERFACES.md "Commands"); also ``python -m idp``.

Every command takes ``--config FILE`` (TOML) or reads ``IDP_CONFIG``; the ``IDP_*`` variables
override the file. Errors are printed as one clear line and exit non-zero, never a traceback
(``idp.cli_errors``; ``zorg-idp --debug COMMAND`` shows it). Only ``demo`` and ``database init``
create a database; every other command refuses a missing or empty one (``idp.cli_database``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from idp.cli_database import DatabaseUnusable, check_database, init_database
from idp.cli_errors import OneLineErrors
from idp.cli_verklaring import verklaring_app
from idp.sessions_cli import build_sessions_app
from idp.settings import Settings, load_settings
from idp.settings_paths import display_url
from registry.cli import build_registry_app

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    help="zorg-idp: OpenID provider for care workers",
)
client_app = typer.Typer(no_args_is_help=True, help="Relying parties (EPD systems).")
keys_app = typer.Typer(no_args_is_help=True, help="Signing keys.")
database_app = typer.Typer(no_args_is_help=True, help="The register's database.")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")
app.add_typer(database_app, name="database")
app.add_typer(build_sessions_app(lambda config: _settings_with_database(config)), name="sessions")
app.add_typer(build_registry_app(lambda config: _registry_engine(config)), name="registry")
app.add_typer(verklaring_app, name="verklaring")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (or set IDP_CONFIG).")
]


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="IDP_DEBUG", help="On an error, show the traceback (IDP_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """zorg-idp: OpenID provider for care workers."""


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except (ValidationError, ValueError) as exc:
        typer.echo(f"error: invalid settings: {_first_error(exc)}", err=True)
        raise typer.Exit(2) from None


def _settings_with_database(config: Path | None) -> Settings:
    """The settings, once their database is known to exist and hold the register."""
    settings = _settings(config)
    try:
        check_database(settings)
    except DatabaseUnusable as exc:
        raise _fail(str(exc), exc.exit_code) from None
    return settings


def _registry_engine(config: Path | None) -> Engine:
    """The register's database from the settings, migrated to the latest revision."""
    from registry import create_engine, upgrade

    settings = _settings_with_database(config)
    try:
        engine = create_engine(settings.database_url)
    except ValueError as exc:
        raise _fail(f"invalid database_url: {exc}", 2) from None
    upgrade(engine)
    _push_changes(engine, settings)
    return engine


def _push_changes(engine: Engine, settings: Settings) -> None:
    """With a shared state store, a revoke or suspend made here marks the snapshots the login
    path carries before the command returns (``idp.register_feed``); with the in-process store
    there is nothing to share, and each server instance picks the change up from the audit
    trail within ``register_poll_interval``."""
    if settings.state_url == "memory://":
        return
    from idp.register_feed import RegisterFeed
    from idp.state import create_state_store

    mark_ttl = settings.session_absolute_ttl + settings.access_token_ttl + settings.code_ttl
    RegisterFeed(engine, create_state_store(settings.state_url), None, mark_ttl).start()


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
    return str(exc)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


# ---- demo and serve ------------------------------------------------------------------------


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings shared by ``serve`` and ``demo``.

    uvloop and httptools (``uvicorn[standard]``) when they import, else asyncio and h11: the
    same app either way, a fraction of the server's CPU per request with the fast pair. No
    access log from uvicorn: ``idp.web.edge`` writes one redacted line per request. No
    forwarded-header handling either: the app does it itself (``idp.web.proxy``), because it
    must see the TCP peer to decide whether the client-certificate headers are the proxy's.

    The limits (README "Server limits"): past ``limit_concurrency`` connections or tasks uvicorn
    answers 503 at once instead of queueing without bound; idle keep-alive connections close
    after ``timeout_keep_alive`` (longer than the proxy's upstream keepalive_timeout, so the
    proxy never reuses a connection uvicorn is closing); h11 refuses a request line and headers
    beyond ``h11_max_incomplete_event_size``. uvicorn has no request timeout: the proxy's
    client_header_timeout, client_body_timeout and proxy_read_timeout bound a request.
    """
    return {
        "loop": "uvloop" if _importable("uvloop") else "asyncio",
        "http": "httptools" if _importable("httptools") else "h11",
        "access_log": False,
        "proxy_headers": False,
        "limit_concurrency": settings.server_concurrency_limit,
        "timeout_keep_alive": settings.server_keepalive_timeout,
        "h11_max_incomplete_event_size": settings.server_max_header_bytes,
        "timeout_graceful_shutdown": settings.server_shutdown_timeout,
    }


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    config: ConfigOpt = None,
) -> None:
    """Run the whole product on embedded defaults, with demo data and the demo EPD."""
    import uvicorn

    from idp.demo import build_demo_app

    shown_host = f"[{host}]" if ":" in host else host
    settings = _settings(config, issuer=f"http://{shown_host}:{port}", demo=True)
    demo_app = build_demo_app(settings)
    typer.echo(f"zorg-idp demo: issuer {settings.issuer}")
    typer.echo(f"  Demo EPD:   {settings.issuer}/demo-epd/  (log in as 900000027, the carer)")
    typer.echo(f"  Discovery:  {settings.issuer}/.well-known/openid-configuration")
    typer.echo(f"  Health:     {settings.issuer}/healthz   Metrics: {settings.issuer}/metrics")
    typer.echo(f"  Data:       {settings.database_url}  keys in {settings.data_dir}/")
    # One process: the demo keeps its state in memory (serve --workers needs Redis).
    uvicorn.run(demo_app, host=host, port=port, log_level="warning", **server_options(settings))


@app.command()
def serve(
    config: ConfigOpt = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Production server (uvicorn). Put a TLS proxy in front (deploy/)."""
    import uvicorn

    # Validate once here, before any worker starts; each worker then opens the same database.
    settings = _settings_with_database(config)
    if config is not None:
        os.environ["IDP_CONFIG"] = str(config.resolve())
    if workers > 1 and settings.state_url == "memory://":
        raise _fail("several workers need a shared state store: set IDP_STATE_URL=redis://…", 2)
    # An import string and a factory: with --workers, uvicorn starts N processes and each
    # builds its own app from IDP_CONFIG / IDP_* (idp.asgi), sharing the Redis state store.
    uvicorn.run(
        "idp.asgi:create_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        **server_options(settings),
    )


# ---- clients -------------------------------------------------------------------------------


@client_app.command("add")
def client_add(
    client_id: Annotated[str, typer.Option("--client-id")],
    redirect_uri: Annotated[list[str] | None, typer.Option("--redirect-uri")] = None,
    jwks_file: Annotated[Path | None, typer.Option("--jwks-file")] = None,
    jwks_uri: Annotated[str | None, typer.Option("--jwks-uri")] = None,
    auth_method: Annotated[str, typer.Option("--auth-method")] = "private_key_jwt",
    organisation: Annotated[list[str] | None, typer.Option("--organisation")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    profile: Annotated[str, typer.Option("--profile")] = "nlgov",
    backchannel_logout_uri: Annotated[str | None, typer.Option("--backchannel-logout-uri")] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option("--post-logout-redirect-uri")
    ] = None,
    id_token_signed_response_alg: Annotated[
        str, typer.Option("--id-token-signed-response-alg")
    ] = "PS256",
    userinfo_signed_response_alg: Annotated[
        str | None, typer.Option("--userinfo-signed-response-alg")
    ] = None,
    grant_type: Annotated[
        list[str] | None,
        typer.Option("--grant-type", help="authorization_code (default), client_credentials"),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="openid (default), registry")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Register (or update) a relying party; idempotent by client id, effective at once.

    An HR system on the registry API: ``--grant-type client_credentials --scope registry``
    (no redirect URI); an administrators' tool adds ``--scope registry`` to ``openid``."""
    from idp.clients import ClientRegistration, register_client

    if auth_method not in ("private_key_jwt", "tls_client_auth", "none"):
        raise _fail("--auth-method must be private_key_jwt, tls_client_auth or none", 2)
    if profile not in ("nlgov", "dezi"):
        raise _fail("--profile must be nlgov or dezi", 2)
    if jwks_file is not None and jwks_uri is not None:
        raise _fail("give --jwks-file or --jwks-uri, not both", 2)
    jwks: dict[str, Any] | None = None
    if jwks_file is not None:
        try:
            jwks = json.loads(jwks_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"cannot read JWKS file {jwks_file}: {exc}", 2) from None
    settings = _settings_with_database(config)
    registration = ClientRegistration(
        client_id=client_id,
        redirect_uris=tuple(redirect_uri or ()),
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        organisations=tuple(organisation or ()),
        name=name,
        profile=profile,
        backchannel_logout_uri=backchannel_logout_uri,
        post_logout_redirect_uris=tuple(post_logout_redirect_uri or ()),
        id_token_signed_response_alg=id_token_signed_response_alg,
        userinfo_signed_response_alg=userinfo_signed_response_alg,
        grant_types=tuple(grant_type or ("authorization_code",)),
        scopes=tuple(scope or ("openid",)),
    )
    try:
        changed = register_client(settings, registration)
    except ValueError as exc:
        raise _fail(str(exc), 1) from None
    typer.echo(f"client {client_id}: {'registered' if changed else 'unchanged'}")


# ---- database ------------------------------------------------------------------------------


@database_app.command("init")
def database_init(config: ConfigOpt = None) -> None:
    """Create the database the settings name (SQLite: the file) and migrate it; idempotent.

    The one command besides ``demo`` that creates a database: a new deployment runs it once
    (also on an empty PostgreSQL database) before ``serve`` and ``client add``."""
    settings = _settings(config)
    try:
        init_database(settings)
    except DatabaseUnusable as exc:
        raise _fail(str(exc), exc.exit_code) from None
    typer.echo(f"database ready: {display_url(settings.database_url)}")


# ---- keys ----------------------------------------------------------------------------------


@keys_app.command("list")
def keys_list(config: ConfigOpt = None) -> None:
    """List signing keys with their state."""
    from idp.keys import KeyRing

    settings = _settings(config)
    ring = KeyRing(
        settings.data_dir,
        rsa_key_size=settings.rsa_key_size,
        grace_period=settings.key_grace_period,
    )
    published = {k["kid"] for k in ring.public_jwks()["keys"]}
    for stored in ring.keys():
        flag = "published" if stored.kid in published else "expired"
        typer.echo(f"{stored.kid}  {stored.family:3}  {stored.state:8} {flag}")


@keys_app.command("revoke")
def keys_revoke(
    kid: Annotated[str, typer.Argument(help="The key id, as `keys list` shows it.")],
    config: ConfigOpt = None,
) -> None:
    """Emergency: remove a key from the JWKS and from use at once (signing or verklaring key);
    an active key's place is taken by the next key. Every instance sharing the data directory
    stops using it within a second; tokens it signed no longer validate here."""
    from idp.keys import KeyRing

    settings = _settings(config)
    size, grace = settings.rsa_key_size, settings.key_grace_period
    rings = [
        KeyRing(settings.data_dir, rsa_key_size=size, grace_period=grace),
        KeyRing(
            settings.data_dir,
            rsa_key_size=size,
            grace_period=grace,
            subdir="verklaring-keys",
            families=("RSA",),
        ),
    ]
    for ring in rings:
        if any(stored.kid == kid for stored in ring.keys()):
            revoked = ring.revoke(kid)
            typer.echo(f"{kid}  {revoked.family:3}  was {revoked.state}: revoked")
            for stored in ring.keys():
                typer.echo(f"{stored.kid}  {stored.family:3}  {stored.state}")
            return
    raise _fail(f"no key with kid {kid!r} (see `zorg-idp keys list`)", 1)


@keys_app.command("rotate")
def keys_rotate(config: ConfigOpt = None) -> None:
    """next → active, active → retired (kept in the JWKS for the grace period), new next."""
    from idp.keys import KeyRing

    settings = _settings(config)
    ring = KeyRing(
        settings.data_dir,
        rsa_key_size=settings.rsa_key_size,
        grace_period=settings.key_grace_period,
    )
    ring.rotate()
    for stored in ring.keys():
        typer.echo(f"{stored.kid}  {stored.family:3}  {stored.state}")


def main() -> None:
    try:
        app(prog_name="zorg-idp")
    except KeyboardInterrupt:
        sys.exit(130)
