"""In-memory stand-ins for the register, for protocol unit tests with no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class FakeClient:
    client_id: str = "rp"
    name: str = "RP"
    redirect_uris: tuple[str, ...] = ("https://rp.example/cb",)
    auth_method: str = "private_key_jwt"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    profile: str = "nlgov"
    organisations: tuple[str, ...] = ()
    id_token_signed_response_alg: str = "PS256"
    userinfo_signed_response_alg: str | None = None
    sector_identifier: str | None = None
    backchannel_logout_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    active: bool = True
    grant_types: tuple[str, ...] = ("authorization_code",)
    scopes: tuple[str, ...] = ("openid",)


@dataclass(frozen=True)
class FakeDeclaration:
    declaration_id: str = "decl-1"
    dezi_nummer: str = "900000019"
    voorletters: str = "A."
    voorvoegsel: str | None = None
    achternaam: str = "Jansen"
    abonnee_nummer: str = "90000001"
    abonnee_naam: str = "Huisartsenpraktijk"
    rol_code: str = "01.015"
    rol_naam: str = "Huisarts"
    rol_code_bron: str = "http://www.dezi.nl/rol_code_bron/big"
    valid_from: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    valid_until: datetime | None = None
    big_nummer: str | None = "19022222201"


@dataclass
class FakeClients:
    clients: dict[str, FakeClient] = field(default_factory=dict)

    def add(self, client: FakeClient) -> FakeClient:
        self.clients[client.client_id] = client
        return client

    def get_client(self, client_id: str) -> FakeClient | None:
        return self.clients.get(client_id)


@dataclass
class FakeRegister:
    declarations: dict[str, FakeDeclaration] = field(default_factory=dict)
    registry_admins: set[str] = field(default_factory=set)

    def find_professional(self, dezi_nummer: str) -> FakeDeclaration | None:
        return next((d for d in self.declarations.values() if d.dezi_nummer == dezi_nummer), None)

    def usable_declarations(
        self, dezi_nummer: str, organisations: Sequence[str], at: datetime
    ) -> list[FakeDeclaration]:
        return [
            d
            for d in self.declarations.values()
            if d.dezi_nummer == dezi_nummer
            and (not organisations or d.abonnee_nummer in organisations)
        ]

    def usable_declaration(self, declaration_id: str, at: datetime) -> FakeDeclaration | None:
        return self.declarations.get(declaration_id)

    def is_registry_admin(self, dezi_nummer: str) -> bool:
        return dezi_nummer in self.registry_admins

    def admin_organisations(self, dezi_nummer: str) -> list[str]:
        return []

    def ping(self) -> bool:
        return True
