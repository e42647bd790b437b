"""Relying-party registration: validation and idempotent upsert (DECISIONS.md #3, #4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from registry import service
from registry.errors import InvalidIdentifier, InvariantViolation, NotFound
from registry.models import RelyingParty, RelyingPartyOrganisation
from registry.repository import SqlRegister

from .factories import ACTOR, T0, audit_actions, count, make_organisation, make_professional

PUBLIC_JWK = {"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch", "e": "AQAB"}
JWKS = {"keys": [PUBLIC_JWK]}
RP = "https://epd.example.nl/callback"


def _register(engine: Engine, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "client_id": "epd-1",
        "redirect_uris": [RP],
        "auth_method": "private_key_jwt",
        "jwks": JWKS,
        "actor": ACTOR,
    }
    arguments.update(overrides)
    return service.register_client(engine, **arguments)


def test_register_client_and_read_it_back(engine: Engine) -> None:
    make_organisation(engine, "90000001")
    record = _register(
        engine,
        organisations=["90000001"],
        name="EPD Één",
        profile="dezi",
        backchannel_logout_uri="https://epd.example.nl/bcl",
        post_logout_redirect_uris=["https://epd.example.nl/bye"],
        userinfo_signed_response_alg="ES256",
        sector_identifier="epd.example.nl",
    )
    assert SqlRegister(engine).get_client("epd-1") == record
    assert record.redirect_uris == (RP,) and record.organisations == ("90000001",)
    assert record.jwks == JWKS and record.active
    assert (record.name, record.profile, record.id_token_signed_response_alg) == (
        "EPD Één",
        "dezi",
        "PS256",
    )
    assert record.post_logout_redirect_uris == ("https://epd.example.nl/bye",)


def test_register_client_is_idempotent(engine: Engine) -> None:
    first = _register(engine)
    assert _register(engine) == first
    assert audit_actions(engine) == ["client.register"]
    assert count(engine, RelyingParty) == 1


def test_changes_are_applied_and_audited_once(engine: Engine) -> None:
    make_organisation(engine, "90000001")
    make_organisation(engine, "90000002")
    _register(engine)
    changed = _register(
        engine,
        redirect_uris=[RP, "http://127.0.0.1:8080/cb"],
        organisations=["90000001", "90000002"],
    )
    assert changed.redirect_uris == (RP, "http://127.0.0.1:8080/cb")
    assert changed.organisations == ("90000001", "90000002")
    narrowed = _register(
        engine, redirect_uris=[RP, "http://127.0.0.1:8080/cb"], organisations=["90000002"]
    )
    assert narrowed.organisations == ("90000002",)
    widened = _register(
        engine,
        redirect_uris=[RP, "http://127.0.0.1:8080/cb"],
        organisations=["90000002", "90000001"],
    )
    assert widened.organisations == ("90000001", "90000002")
    # Links are never deleted: the removed one came back.
    assert count(engine, RelyingPartyOrganisation) == 2
    assert audit_actions(engine)[-4:] == [
        "client.register",
        "client.update",
        "client.update",
        "client.update",
    ]
    assert SqlRegister(engine).get_client("epd-1") == widened


def test_public_client_without_keys(engine: Engine) -> None:
    record = _register(engine, auth_method="none", jwks=None, profile="dezi")
    assert record.auth_method == "none" and record.jwks is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"redirect_uris": ["/relative"]}, "redirect_uris"),
        ({"redirect_uris": ["http://epd.example.nl/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["https://epd.example.nl/cb#frag"]}, "redirect_uris"),
        ({"redirect_uris": ["https://user:pw@epd.example.nl/cb"]}, "redirect_uris"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "redirect_uris"),
        ({"redirect_uris": ["https://epd.example.nl:99999/cb"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"redirect_uris": RP}, "redirect_uris"),
        ({"post_logout_redirect_uris": ["http://evil.example/"]}, "post_logout_redirect_uris"),
        ({"backchannel_logout_uri": "ftp://epd.example.nl/"}, "backchannel_logout_uri"),
        ({"jwks": {"keys": [{**PUBLIC_JWK, "d": "secret"}]}}, "jwks"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks"),
        ({"jwks": {"keys": []}}, "jwks"),
        ({"jwks": [PUBLIC_JWK]}, "jwks"),
        ({"jwks": {"keys": [{"n": "x"}]}}, "jwks"),
        ({"auth_method": "client_secret_basic"}, "auth_method"),
        ({"profile": "other"}, "profile"),
        ({"id_token_signed_response_alg": "none"}, "id_token_signed_response_alg"),
        ({"id_token_signed_response_alg": "HS256"}, "id_token_signed_response_alg"),
        ({"userinfo_signed_response_alg": "HS256"}, "userinfo_signed_response_alg"),
        ({"client_id": "has space"}, "client_id"),
        ({"client_id": ""}, "client_id"),
        ({"organisations": ["123"]}, "ura"),
        ({"name": "EPD\u202e"}, "name"),
    ],
)
def test_invalid_metadata_is_refused(engine: Engine, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        _register(engine, **overrides)
    assert info.value.field == field
    assert count(engine, RelyingParty) == 0 and audit_actions(engine) == []


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8000/cb",
        "http://[::1]/cb",
        "http://localhost:3000/cb",
        "https://epd.example.nl/cb?x=1",
    ],
)
def test_allowed_redirect_uris(engine: Engine, uri: str) -> None:
    assert _register(engine, redirect_uris=[uri]).redirect_uris == (uri,)


def test_key_rules(engine: Engine) -> None:
    with pytest.raises(InvariantViolation):
        _register(engine, jwks=None)
    with pytest.raises(InvariantViolation):
        _register(engine, jwks_uri="https://epd.example.nl/jwks")
    assert _register(engine, jwks=None, jwks_uri="https://epd.example.nl/jwks").jwks is None


def test_unknown_organisation_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        _register(engine, organisations=["90000009"])
    assert count(engine, RelyingParty) == 0


def test_client_restriction_on_usable_declarations(engine: Engine) -> None:
    """What the IdP does with a restricted client: pass its organisations to the register."""
    for ura in ("90000001", "90000002"):
        make_organisation(engine, ura)
    make_professional(engine, "900000027")
    for ura in ("90000001", "90000002"):
        service.add_declaration(engine, "900000027", ura, "86.000", T0, actor=ACTOR)
    client = _register(engine, organisations=["90000002"])
    register = SqlRegister(engine)
    usable = register.usable_declarations("900000027", client.organisations, datetime.now(UTC))
    assert [d.abonnee_nummer for d in usable] == ["90000002"]


def test_deactivate(engine: Engine) -> None:
    _register(engine)
    assert not _register(engine, active=False).active
    assert audit_actions(engine) == ["client.register", "client.update"]
