"""The register's tables (SQLModel on SQLAlchemy).

Conventions: UUID strings as primary keys (``seq`` for the audit log), timestamps as aware UTC
datetimes (SQLModel's ``UTCDateTime``: ``timestamptz`` on PostgreSQL, UTC text on SQLite),
identifiers as strings (leading zeros matter, identifiers-and-codes.md §1), statuses as short
strings guarded by CHECK constraints. Nothing is hard-deleted: rows change status, and links
carry ``removed_at`` (security-checklist.md §3.4). The Alembic revisions under
``migrations/versions/`` build exactly these tables; a test compares them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    text,
)
from sqlalchemy.orm import registry as sa_registry
from sqlmodel import Field, SQLModel

__all__ = [
    "ADMIN_ROLES",
    "AUTH_METHODS",
    "CLIENT_GRANT_TYPES",
    "CLIENT_PROFILES",
    "CLIENT_SCOPES",
    "DECLARATION_STATUSES",
    "ORGANISATION_STATUSES",
    "AdminGrant",
    "ApiIdempotencyRecord",
    "AuditRecord",
    "Consent",
    "Declaration",
    "DeziNumberSequence",
    "Employment",
    "IdentityBinding",
    "Organisation",
    "OrganisationStatusChange",
    "PasskeyCredential",
    "Professional",
    "RegistryModel",
    "RelyingParty",
    "RelyingPartyOrganisation",
    "metadata",
    "new_id",
    "utcnow",
]

ORGANISATION_STATUSES = ("pending", "active", "suspended", "ended")
DECLARATION_STATUSES = ("active", "suspended", "revoked", "expired")
ADMIN_ROLES = ("registry_admin", "org_admin")
CLIENT_PROFILES = ("nlgov", "dezi")
AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "none")
# RFC 7591 §2 "grant_types" and "scope": what a client may ask the token endpoint for.
CLIENT_GRANT_TYPES = ("authorization_code", "client_credentials")
CLIENT_SCOPES = ("openid", "registry")

# Named constraints keep later batch migrations on SQLite workable (Alembic "Dealing with
# Constraints"); the register has its own MetaData, apart from anything else using SQLModel.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class RegistryModel(SQLModel, registry=sa_registry(metadata=metadata)):
    """Base of the register's tables."""


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Organisation(RegistryModel, table=True):
    """A care provider (zorgaanbieder), identified by its URA."""

    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint(_one_of("status", ORGANISATION_STATUSES), name="status"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    ura: str = Field(max_length=8, unique=True)
    agb_code: str | None = Field(default=None, max_length=8)
    naam: str = Field(max_length=128)
    categorie: str = Field(max_length=16)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OrganisationStatusChange(RegistryModel, table=True):
    """History of an organisation's status."""

    __tablename__ = "organisation_status_change"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=512)
    actor: str = Field(max_length=128)
    at: datetime = Field(default_factory=utcnow)


class Professional(RegistryModel, table=True):
    """A care worker (zorgmedewerker), identified by the Dezi number.

    Names are stored in the three parts of the verklaring and never parsed out of a full name
    (identifiers-and-codes.md §5.6).
    """

    __tablename__ = "professional"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    dezi_nummer: str = Field(max_length=9, unique=True)
    big_nummer: str | None = Field(default=None, max_length=11, unique=True)
    voorletters: str = Field(max_length=128)
    voorvoegsel: str | None = Field(default=None, max_length=128)
    achternaam: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdentityBinding(RegistryModel, table=True):
    """A login subject bound to a professional, as a keyed hash (never a BSN in clear)."""

    __tablename__ = "identity_binding"
    __table_args__ = (Index("uq_identity_binding_subject", "method", "subject_hash", unique=True),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    method: str = Field(max_length=64)
    subject_hash: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class PasskeyCredential(RegistryModel, table=True):
    """A passkey (WebAuthn public key credential) bound to a professional (``registry.passkeys``).

    Bound only from a session at level high (``idp.authn.passkey``). The register keeps the
    credential public key (COSE_Key, WebAuthn L2 §6.5.1) and the signature counter (§6.1.1),
    never a private key. ``credential_id`` is the base64url credential ID (at most 1023 bytes,
    WebAuthn L3 §5.1), unique across all professionals (L2 §7.1). Revoked rows stay.
    """

    __tablename__ = "passkey_credential"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    credential_id: str = Field(max_length=1400, unique=True)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    public_key: bytes = Field(sa_type=LargeBinary)
    sign_count: int = Field(default=0, sa_type=BigInteger)
    user_handle: str = Field(max_length=128)
    name: str = Field(max_length=64)
    aaguid: str = Field(max_length=36)
    backup_eligible: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=128)


class Consent(RegistryModel, table=True):
    """A care worker's approval that a relying party receives the verklaring of one declaration
    (issue 6 item 5). Withdrawn rows stay, with ``withdrawn_at`` (``registry.consents``)."""

    __tablename__ = "consent"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    relying_party_id: str = Field(foreign_key="relying_party.id", max_length=36)
    declaration_id: str = Field(foreign_key="declaration.id", max_length=36)
    granted_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = None


class Employment(RegistryModel, table=True):
    """An organisation's own staff number (personeelsnummer) for a professional.

    The bulk import matches a professional on (URA, personeelsnummer) (INTERFACES.md "Bulk
    import files"), so a staff number names one professional per organisation: a unique index.
    One professional may hold numbers at several organisations (or two at one). Links are
    never removed; the declarations say whether the person still works there.
    """

    __tablename__ = "employment"
    __table_args__ = (
        Index("uq_employment_staff_number", "organisation_id", "personeelsnummer", unique=True),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36)
    personeelsnummer: str = Field(max_length=64)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class Declaration(RegistryModel, table=True):
    """A declaration (verklaring basis): professional x organisation x role.

    At most one ACTIVE declaration per (professional, organisation, role), enforced by a
    partial unique index on both databases (one verklaring per person x abonnee x role,
    dezi-interface.md). Revoked and expired rows stay for history.
    """

    __tablename__ = "declaration"
    __table_args__ = (
        CheckConstraint(_one_of("status", DECLARATION_STATUSES), name="status"),
        Index(
            "uq_declaration_one_active",
            "professional_id",
            "organisation_id",
            "rol_code",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(None, "organisation_id", "personeelsnummer"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36)
    rol_code: str = Field(max_length=6)
    valid_from: datetime
    valid_until: datetime | None = None
    status: str = Field(default="active", max_length=16)
    status_reason: str | None = Field(default=None, max_length=512)
    issued_by: str = Field(max_length=128)
    revoked_by: str | None = Field(default=None, max_length=128)
    revoked_at: datetime | None = None
    personeelsnummer: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class RelyingParty(RegistryModel, table=True):
    """A registered OIDC client (relying party, e.g. an EPD)."""

    __tablename__ = "relying_party"
    __table_args__ = (
        CheckConstraint(_one_of("profile", CLIENT_PROFILES), name="profile"),
        CheckConstraint(_one_of("auth_method", AUTH_METHODS), name="auth_method"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(max_length=255, unique=True)
    name: str = Field(max_length=128)
    redirect_uris: list[str] = Field(default_factory=list, sa_type=JSON)
    auth_method: str = Field(max_length=32)
    jwks: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    jwks_uri: str | None = Field(default=None, max_length=2048)
    profile: str = Field(default="nlgov", max_length=16)
    id_token_signed_response_alg: str = Field(default="PS256", max_length=16)
    userinfo_signed_response_alg: str | None = Field(default=None, max_length=16)
    sector_identifier: str | None = Field(default=None, max_length=255)
    backchannel_logout_uri: str | None = Field(default=None, max_length=2048)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"], sa_type=JSON)
    scopes: list[str] = Field(default_factory=lambda: ["openid"], sa_type=JSON)


class RelyingPartyOrganisation(RegistryModel, table=True):
    """Restricts a client to an organisation's declarations (many-to-many).

    A client with no current link is unrestricted. Removing a link sets ``removed_at``.
    """

    __tablename__ = "relying_party_organisation"
    __table_args__ = (
        Index(
            "uq_relying_party_organisation_link", "relying_party_id", "organisation_id", unique=True
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    relying_party_id: str = Field(foreign_key="relying_party.id", max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    removed_at: datetime | None = None


class AdminGrant(RegistryModel, table=True):
    """Administrative rights: on the whole registry, or on one organisation's staff."""

    __tablename__ = "admin_grant"
    __table_args__ = (
        CheckConstraint(_one_of("role", ADMIN_ROLES), name="role"),
        CheckConstraint(
            "(role = 'registry_admin' AND organisation_id IS NULL)"
            " OR (role = 'org_admin' AND organisation_id IS NOT NULL)",
            name="scope",
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    professional_id: str = Field(foreign_key="professional.id", index=True, max_length=36)
    role: str = Field(max_length=32)
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36)
    granted_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_by: str | None = Field(default=None, max_length=128)
    revoked_at: datetime | None = None


class AuditRecord(RegistryModel, table=True):
    """One append-only audit record (NEN 7513 fields, security-checklist.md §4).

    ``hash`` is SHA-256 over the canonical JSON of the other fields, ``prev_hash`` included,
    so the rows form a chain (``registry.audit``). ``seq`` is assigned by the writer as
    last + 1, so a deleted row leaves a visible gap.
    """

    __tablename__ = "audit_record"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
        sa_column_kwargs={"autoincrement": True},
    )
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=128)
    on_behalf_of: str | None = Field(default=None, max_length=128)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=64)
    object_id: str = Field(max_length=128)
    source: str | None = Field(default=None, max_length=255)
    outcome: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class DeziNumberSequence(RegistryModel, table=True):
    """The counter from which new Dezi numbers are issued (``registry.service``).

    One row per counter; the counter only goes up, and a number already held by a
    professional is skipped, so an issued number is never reused.
    """

    __tablename__ = "dezi_number_sequence"

    name: str = Field(primary_key=True, max_length=32)
    next_value: int = Field(sa_type=BigInteger)


class ApiIdempotencyRecord(RegistryModel, table=True):
    """The stored answer to a REST API POST sent with an ``Idempotency-Key``.

    draft-ietf-httpapi-idempotency-key-header §2: the same key with the same request gets the
    same response and no second effect. Written in the SAME transaction as the change it answers
    (``registry.api.idempotency``), so a change never exists without its answer; the unique
    index makes a concurrent second request with the key lose. A cache of responses, not register
    data: a record past its lifetime may be replaced by a new request with the same key.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (Index("uq_api_idempotency_key", "principal", "idempotency_key", unique=True),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    principal: str = Field(max_length=128)
    idempotency_key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
