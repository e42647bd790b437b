"""Typed settings, read once at the entry point and passed to ``create_app(settings)``.

Sources, highest priority first: the ``IDP_*`` environment variables of INTERFACES.md, then the
TOML file named by ``--config`` or ``IDP_CONFIG``, then the defaults below. Validation happens
here, once, with messages that say what to change.
"""

from __future__ import annotations

import ipaddress
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from idp.settings_digid import DigidSettings
from idp.settings_paths import DEFAULT_DATA_DIR, fill_defaults, resolve_paths
from idp.settings_upstream import UpstreamProvider

Environment = Literal["dev", "test", "prod"]
LoaName = Literal["low", "substantial", "high"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# Names of the login methods idp.authn.factory builds itself; upstream providers need others.
BUILTIN_LOGIN_METHODS = frozenset({"dev", "uzi", "saml", "digid", "passkey"})


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything the product can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="IDP_", extra="forbid", frozen=True, validate_default=True
    )

    issuer: str = "http://127.0.0.1:8000"
    # Empty: sqlite:///<data_dir>/demo.db. Relative paths are made absolute once, here
    # (idp.settings_paths has the rule), so no command opens a file by its own directory.
    database_url: str = ""
    state_url: str = "memory://"
    environment: Environment = "dev"
    data_dir: Path = DEFAULT_DATA_DIR

    # Login methods enabled, by name (built by idp.authn.factory; no dotted-path loading).
    login_methods: tuple[str, ...] = ("dev",)
    dev_login_loa: LoaName = "high"
    # UZI-pas login (idp.authn.uzi): the UZI CA chain (PEM, the file the TLS proxy's
    # ssl_client_certificate names too), optional CRLs of the issuing CAs (re-read when the
    # file changes), and the mTLS origin the proxy serves, e.g. https://idp.example.nl:8443.
    uzi_ca_bundle: Path | None = None
    uzi_crl_file: Path | None = None
    uzi_mtls_url: str | None = None
    # Upstream OpenID Providers (a DigiD broker, eHerkenning, an eIDAS node), each one login
    # method named by its ``name`` (idp.authn.oidc_upstream; fields in idp.settings_upstream).
    upstream_providers: tuple[UpstreamProvider, ...] = ()
    # DigiD over SAML 2.0 (idp.authn.digid; fields and an example in idp.settings_digid).
    digid: DigidSettings | None = None

    # Lifetimes in seconds (DECISIONS.md #8); the validators below cap them.
    code_ttl: int = Field(default=60, ge=5, le=60)
    id_token_ttl: int = Field(default=300, ge=30, le=300)
    access_token_ttl: int = Field(default=3600, ge=60, le=3600)
    login_transaction_ttl: int = Field(default=900, ge=60, le=3600)
    session_absolute_ttl: int = Field(default=10 * 3600, ge=300, le=24 * 3600)
    session_idle_ttl: int = Field(default=2 * 3600, ge=60, le=24 * 3600)
    key_grace_period: int = Field(default=7 * 24 * 3600, ge=0)
    client_jwks_cache_ttl: int = Field(default=300, ge=0, le=86400)
    # How often revocations are looked for to end the relying-party sessions that use them
    # (0 turns the watcher off; at most 30 s, DECISIONS.md #11).
    revocation_poll_interval: float = Field(default=10.0, ge=0, le=30)
    # How often each instance reads the audit trail for changes made by other processes
    # (revocation marks, client cache; idp.register_feed). At most one second.
    register_poll_interval: float = Field(default=0.5, gt=0, le=1.0)

    # Signing: default alg for ID tokens (DECISIONS.md #1).
    default_signing_alg: Literal["PS256", "RS256", "ES256"] = "PS256"
    # RFC 9068 access tokens: only this OP verifies them, so the cheapest FAPI 2.0 algorithm.
    access_token_signing_alg: Literal["ES256", "PS256"] = "ES256"
    rsa_key_size: int = Field(default=3072, ge=2048, le=8192)

    # Secrets. When empty they are generated once into IDP_DATA_DIR/secrets.json (0600).
    pairwise_secret: SecretStr | None = None
    cookie_secret: SecretStr | None = None

    # Addresses whose X-Forwarded-* headers are trusted (the TLS proxy in production).
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # uvicorn's limits, per worker process (idp.cli.server_options; README "Server limits").
    # Past server_concurrency_limit open connections or running requests it answers 503.
    # server_max_header_bytes bounds the request line and headers with the h11 parser only;
    # httptools has no such knob, so the proxy's large_client_header_buffers is the limit.
    server_concurrency_limit: int = Field(default=1000, ge=2)
    server_keepalive_timeout: int = Field(default=20, ge=1, le=300)
    server_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    server_shutdown_timeout: int = Field(default=30, ge=1, le=600)

    # Abuse resistance (idp.protocol.throttle, which documents the policy; ASVS 6.1.1, 6.3.1;
    # checklist J7). Counts per fixed window in seconds. Failed logins per client address (the
    # address behind trusted_proxies; IPv6 per /64) and per account and login method (that method
    # is then locked for that account until the window closes); token requests per address and
    # per client at one address. Sites with many users behind one NAT may raise the first.
    login_failures_per_address: int = Field(default=30, ge=1)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failure_window: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    token_requests_per_address: int = Field(default=1200, ge=1)
    token_requests_per_client: int = Field(default=600, ge=1)
    token_request_window: int = Field(default=60, ge=1, le=3600)
    demo: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Set by the CLI from --config / IDP_CONFIG; not a setting of its own.
    config_file: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [env_settings, init_settings]
        toml_file = _toml_path_from(init_settings)
        if toml_file is not None:
            sources.append(_TomlFile(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @model_validator(mode="before")
    @classmethod
    def _absolute_paths(cls, data: Any) -> Any:
        # After the sources merged: what is still relative came from the environment, an
        # argument or a default, and is taken relative to the starting directory.
        return fill_defaults(data, Path.cwd()) if isinstance(data, dict) else data

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        hint = "use sqlite:////absolute/path.db or postgresql+psycopg://user@host/database"
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"not a database URL; {hint}") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}; {hint}")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("issuer must be an absolute https:// URL, e.g. https://idp.example.nl")
        if parts.query or parts.fragment:
            raise ValueError("issuer must not have a query or fragment (OIDC Discovery §3)")
        if value.endswith("/"):
            raise ValueError("issuer must not end with '/': tokens carry it byte for byte")
        return value

    @field_validator("state_url")
    @classmethod
    def _state_url_shape(cls, value: str) -> str:
        if not (value == "memory://" or value.startswith(("redis://", "rediss://"))):
            raise ValueError("state_url must be memory:// or redis://host:port/db")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an IP address or network (no '*')"
                ) from None
        return value

    @model_validator(mode="after")
    def _uzi_rules(self) -> Settings:
        if "uzi" in self.login_methods and (self.uzi_ca_bundle is None or not self.uzi_mtls_url):
            raise ValueError("the uzi login method needs uzi_ca_bundle and uzi_mtls_url")
        if self.uzi_mtls_url is None:
            return self
        parts, issuer = urlsplit(self.uzi_mtls_url), urlsplit(self.issuer)
        if parts.scheme != "https" or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                "uzi_mtls_url must be an https:// origin, e.g. https://idp.example.nl:8443"
            )
        if parts.hostname != issuer.hostname or parts.netloc == issuer.netloc:
            # The browser-binding cookie is host-only: it reaches another port, not another host.
            raise ValueError("uzi_mtls_url must be the issuer's host name on another port")
        return self

    @model_validator(mode="after")
    def _digid_rules(self) -> Settings:
        if "digid" in self.login_methods and self.digid is None:
            raise ValueError("the digid login method needs [digid] idp_metadata, sp_key, sp_cert")
        return self

    @model_validator(mode="after")
    def _upstream_rules(self) -> Settings:
        names = [p.name for p in self.upstream_providers]
        if len(set(names)) != len(names):
            raise ValueError("upstream_providers: every name must be different")
        for provider in self.upstream_providers:
            if provider.name in BUILTIN_LOGIN_METHODS:
                raise ValueError(
                    f"upstream_providers: {provider.name!r} is a built-in login method's name"
                )
            parts = urlsplit(provider.issuer)
            if parts.scheme == "http" and (
                self.environment == "prod" or not is_loopback_host(parts.hostname)
            ):
                raise ValueError(
                    f"upstream_providers.{provider.name}.issuer: http:// only for a loopback "
                    "host outside prod; use https://"
                )
        return self

    @model_validator(mode="after")
    def _environment_rules(self) -> Settings:
        parts = urlsplit(self.issuer)
        if parts.scheme == "http":
            if self.environment == "prod":
                raise ValueError("an http:// issuer is refused in prod; use https://")
            if not is_loopback_host(parts.hostname):
                raise ValueError("plain http:// issuers are allowed only for loopback hosts")
        if self.environment == "prod" and "dev" in self.login_methods:
            raise ValueError("the dev login method is refused in prod (DECISIONS.md #10)")
        if self.session_idle_ttl > self.session_absolute_ttl:
            raise ValueError("session_idle_ttl must not exceed session_absolute_ttl")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def extra_origins(self) -> tuple[str, ...]:
        """Origins besides the issuer's that serve this OP's pages (the UZI-pas mTLS origin)."""
        if not self.uzi_mtls_url:
            return ()
        parts = urlsplit(self.uzi_mtls_url)
        return (f"{parts.scheme}://{parts.netloc}",)


class _TomlFile(TomlConfigSettingsSource):
    """The TOML file, its relative paths taken relative to the file's own directory, so
    ``--config /etc/zorg-idp/idp.toml`` means the same files from any directory."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        values = super()._read_file(file_path)
        return resolve_paths(values, Path(str(file_path)).resolve().parent)


def _toml_path_from(init_settings: PydanticBaseSettingsSource) -> Path | None:
    values: dict[str, Any] = init_settings()
    path = values.get("config_file")
    return Path(path) if path else None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the one Settings object: env > explicit overrides > TOML file > defaults."""
    import os

    if config_file is None and os.environ.get("IDP_CONFIG"):
        config_file = Path(os.environ["IDP_CONFIG"])
    if config_file is not None and not config_file.is_file():
        raise ValueError(f"config file not found: {config_file}")
    return Settings(config_file=config_file, **overrides)
