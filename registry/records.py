"""Read-only records the register hands out.

``ClientRecord``, ``ProfessionalRecord`` and ``DeclarationRecord`` have exactly the attributes of
the IdP's views (``ClientView``, ``ProfessionalView``, ``DeclarationView`` in
``idp/protocol/ports.py``) and satisfy them structurally, without the registry importing the IdP
(ARCHITECTURE.md, "Layers and the direction of imports").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry import codes
from registry.models import Declaration, Organisation, Professional, RelyingParty

__all__ = [
    "ClientRecord",
    "DeclarationRecord",
    "DeclarationStatusRecord",
    "OrganisationRecord",
    "ProfessionalRecord",
    "RevocationRecord",
    "client_record",
    "declaration_record",
    "declaration_record_of",
    "organisation_record",
    "professional_record",
]


@dataclass(frozen=True)
class ClientRecord:
    """A registered relying party (``ClientView``)."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    profile: str
    organisations: tuple[str, ...]
    id_token_signed_response_alg: str
    userinfo_signed_response_alg: str | None
    sector_identifier: str | None
    backchannel_logout_uri: str | None
    post_logout_redirect_uris: tuple[str, ...]
    active: bool
    grant_types: tuple[str, ...] = ("authorization_code",)
    scopes: tuple[str, ...] = ("openid",)


@dataclass(frozen=True)
class ProfessionalRecord:
    """A care worker (``ProfessionalView``)."""

    dezi_nummer: str
    voorletters: str
    voorvoegsel: str | None
    achternaam: str
    big_nummer: str | None


@dataclass(frozen=True)
class DeclarationRecord:
    """One declaration with what the verklaring needs (``DeclarationView``)."""

    declaration_id: str
    dezi_nummer: str
    voorletters: str
    voorvoegsel: str | None
    achternaam: str
    abonnee_nummer: str
    abonnee_naam: str
    rol_code: str
    rol_naam: str
    rol_code_bron: str
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class DeclarationStatusRecord:
    """Where a declaration stands, whatever its status (the IdP's ``DeclarationStatusView``)."""

    declaration_id: str
    status: str
    organisation_status: str
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class RevocationRecord:
    """A declaration no longer usable for a reason other than time (``RevocationView``)."""

    declaration_id: str
    revoked_at: datetime
    dezi_nummer: str = ""  # whose declaration: to end the sessions that use it


@dataclass(frozen=True)
class OrganisationRecord:
    """A care provider as the service layer reports it."""

    ura: str
    naam: str
    agb_code: str | None
    categorie: str
    status: str


def client_record(row: RelyingParty, organisations: tuple[str, ...]) -> ClientRecord:
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris),
        auth_method=row.auth_method,
        jwks=copy.deepcopy(row.jwks),
        jwks_uri=row.jwks_uri,
        profile=row.profile,
        organisations=organisations,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        userinfo_signed_response_alg=row.userinfo_signed_response_alg,
        sector_identifier=row.sector_identifier,
        backchannel_logout_uri=row.backchannel_logout_uri,
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        active=row.active,
        grant_types=tuple(row.grant_types),
        scopes=tuple(row.scopes),
    )


def professional_record(row: Any) -> ProfessionalRecord:
    """From a ``Professional`` row, or any row with its columns (a Core row)."""
    return ProfessionalRecord(
        dezi_nummer=row.dezi_nummer,
        voorletters=row.voorletters,
        voorvoegsel=row.voorvoegsel,
        achternaam=row.achternaam,
        big_nummer=row.big_nummer,
    )


def declaration_record(
    declaration: Declaration, professional: Professional, organisation: Organisation
) -> DeclarationRecord:
    """Raises ``InvalidIdentifier`` when the role is no longer in the code list."""
    return declaration_record_of(
        declaration_id=declaration.id,
        rol_code=declaration.rol_code,
        valid_from=declaration.valid_from,
        valid_until=declaration.valid_until,
        professional=professional,
        ura=organisation.ura,
        naam=organisation.naam,
    )


def declaration_record_of(
    *,
    declaration_id: str,
    rol_code: str,
    valid_from: datetime,
    valid_until: datetime | None,
    professional: Any,
    ura: str,
    naam: str,
) -> DeclarationRecord:
    """The record from plain values (``professional``: anything with the professional's name
    columns, an ORM row or a Core row). Raises ``InvalidIdentifier`` for a role no longer in
    the code list."""
    role = codes.role(rol_code)
    return DeclarationRecord(
        declaration_id=declaration_id,
        dezi_nummer=professional.dezi_nummer,
        voorletters=professional.voorletters,
        voorvoegsel=professional.voorvoegsel,
        achternaam=professional.achternaam,
        abonnee_nummer=ura,
        abonnee_naam=naam,
        rol_code=role.code,
        rol_naam=codes.rol_naam(role),
        rol_code_bron=codes.rol_code_bron(role),
        valid_from=valid_from,
        valid_until=valid_until,
    )


def organisation_record(row: Organisation) -> OrganisationRecord:
    return OrganisationRecord(
        ura=row.ura,
        naam=row.naam,
        agb_code=row.agb_code,
        categorie=row.categorie,
        status=row.status,
    )
