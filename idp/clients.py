"""Registering relying parties (``zorg-idp client add``), delegating to the register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.protocol.jose import SIGNING_ALGS, JoseRejected, import_keyset
from idp.protocol.userinfo_jwe import check_encryption_keys
from idp.settings import Settings


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    client_id: str
    redirect_uris: tuple[str, ...]
    auth_method: str = "private_key_jwt"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    organisations: tuple[str, ...] = ()
    name: str | None = None
    profile: str = "nlgov"
    backchannel_logout_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    id_token_signed_response_alg: str = "PS256"
    userinfo_signed_response_alg: str | None = None
    # RFC 7591 §2: client_credentials + scope registry for an HR system using the REST API.
    grant_types: tuple[str, ...] = ("authorization_code",)
    scopes: tuple[str, ...] = ("openid",)


def validate_registration(reg: ClientRegistration) -> None:
    """Checks that need the IdP's knowledge (algorithms, JOSE); the register checks the rest."""
    if reg.id_token_signed_response_alg not in SIGNING_ALGS:
        raise ValueError(f"id_token_signed_response_alg must be one of {', '.join(SIGNING_ALGS)}")
    if reg.userinfo_signed_response_alg not in (None, *SIGNING_ALGS):
        raise ValueError(f"userinfo_signed_response_alg must be one of {', '.join(SIGNING_ALGS)}")
    if reg.auth_method == "private_key_jwt" and reg.jwks is None and reg.jwks_uri is None:
        raise ValueError("private_key_jwt needs --jwks-file or --jwks-uri")
    if reg.jwks is not None:
        try:
            import_keyset(reg.jwks)
        except JoseRejected as exc:
            raise ValueError(f"unusable JWKS: {exc.reason}") from None
        check_encryption_keys(reg.jwks)  # the userinfo JWE key (Dezi v0.7 §2.5)


def register_client(settings: Settings, reg: ClientRegistration) -> bool:
    """Upsert the client in the register database; True when something changed."""
    from registry import RegistryError, SqlRegister, create_engine, upgrade
    from registry import register_client as registry_register_client

    validate_registration(reg)
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
        before = SqlRegister(engine).get_client(reg.client_id)
        after = registry_register_client(
            engine,
            client_id=reg.client_id,
            redirect_uris=reg.redirect_uris,
            auth_method=reg.auth_method,
            jwks=reg.jwks,
            jwks_uri=reg.jwks_uri,
            organisations=reg.organisations,
            name=reg.name,
            profile=reg.profile,
            backchannel_logout_uri=reg.backchannel_logout_uri,
            post_logout_redirect_uris=reg.post_logout_redirect_uris,
            id_token_signed_response_alg=reg.id_token_signed_response_alg,
            userinfo_signed_response_alg=reg.userinfo_signed_response_alg,
            actor="cli:client-add",
            grant_types=reg.grant_types,
            scopes=reg.scopes,
        )
        return before != after
    except RegistryError as exc:
        raise ValueError(exc.description) from None
    finally:
        engine.dispose()
