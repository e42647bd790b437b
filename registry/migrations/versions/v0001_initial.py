"""The register's initial schema.

Written by hand to match ``registry.models`` exactly (a test compares them with
``alembic.autogenerate.compare_metadata``). Besides the tables it adds what the models cannot
say: triggers that make ``audit_record`` append-only for the application (security-checklist.md
§3.5, L2: a superuser can still bypass them, which the hash chain then detects), and the first
value of the Dezi number counter.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Issued Dezi numbers start here (registry.service.issue_dezi_nummer).
FIRST_ISSUED_DEZI_NUMMER = 910_000_000


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), nullable=False)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "organisation",
        _id(),
        sa.Column("ura", sa.String(8), nullable=False),
        sa.Column("agb_code", sa.String(8), nullable=True),
        sa.Column("naam", sa.String(128), nullable=False),
        sa.Column("categorie", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'suspended', 'ended')", name="ck_organisation_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_organisation"),
        sa.UniqueConstraint("ura", name="uq_organisation_ura"),
    )
    op.create_table(
        "organisation_status_change",
        _id(),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        _ts("at"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_organisation_status_change_organisation_id_organisation",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_organisation_status_change"),
    )
    op.create_index(
        "ix_organisation_status_change_organisation_id",
        "organisation_status_change",
        ["organisation_id"],
    )
    op.create_table(
        "professional",
        _id(),
        sa.Column("dezi_nummer", sa.String(9), nullable=False),
        sa.Column("big_nummer", sa.String(11), nullable=True),
        sa.Column("voorletters", sa.String(128), nullable=False),
        sa.Column("voorvoegsel", sa.String(128), nullable=True),
        sa.Column("achternaam", sa.String(128), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_professional"),
        sa.UniqueConstraint("dezi_nummer", name="uq_professional_dezi_nummer"),
        sa.UniqueConstraint("big_nummer", name="uq_professional_big_nummer"),
    )
    op.create_table(
        "identity_binding",
        _id(),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("subject_hash", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name="fk_identity_binding_professional_id_professional",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identity_binding"),
    )
    op.create_index("ix_identity_binding_professional_id", "identity_binding", ["professional_id"])
    op.create_index(
        "uq_identity_binding_subject",
        "identity_binding",
        ["method", "subject_hash"],
        unique=True,
    )
    op.create_table(
        "declaration",
        _id(),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("rol_code", sa.String(6), nullable=False),
        _ts("valid_from"),
        _ts("valid_until", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(512), nullable=True),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        _ts("revoked_at", nullable=True),
        sa.Column("personeelsnummer", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked', 'expired')",
            name="ck_declaration_status",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_declaration_organisation_id_organisation",
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name="fk_declaration_professional_id_professional",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_declaration"),
    )
    op.create_index("ix_declaration_professional_id", "declaration", ["professional_id"])
    op.create_index(
        "ix_declaration_organisation_id_personeelsnummer",
        "declaration",
        ["organisation_id", "personeelsnummer"],
    )
    op.create_index(
        "uq_declaration_one_active",
        "declaration",
        ["professional_id", "organisation_id", "rol_code"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "relying_party",
        _id(),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("jwks_uri", sa.String(2048), nullable=True),
        sa.Column("profile", sa.String(16), nullable=False),
        sa.Column("id_token_signed_response_alg", sa.String(16), nullable=False),
        sa.Column("userinfo_signed_response_alg", sa.String(16), nullable=True),
        sa.Column("sector_identifier", sa.String(255), nullable=True),
        sa.Column("backchannel_logout_uri", sa.String(2048), nullable=True),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("profile IN ('nlgov', 'dezi')", name="ck_relying_party_profile"),
        sa.CheckConstraint(
            "auth_method IN ('private_key_jwt', 'tls_client_auth', 'none')",
            name="ck_relying_party_auth_method",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_relying_party"),
        sa.UniqueConstraint("client_id", name="uq_relying_party_client_id"),
    )
    op.create_table(
        "relying_party_organisation",
        _id(),
        sa.Column("relying_party_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        _ts("created_at"),
        _ts("removed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_relying_party_organisation_organisation_id_organisation",
        ),
        sa.ForeignKeyConstraint(
            ["relying_party_id"],
            ["relying_party.id"],
            name="fk_relying_party_organisation_relying_party_id_relying_party",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_relying_party_organisation"),
    )
    op.create_index(
        "ix_relying_party_organisation_organisation_id",
        "relying_party_organisation",
        ["organisation_id"],
    )
    op.create_index(
        "uq_relying_party_organisation_link",
        "relying_party_organisation",
        ["relying_party_id", "organisation_id"],
        unique=True,
    )
    op.create_table(
        "admin_grant",
        _id(),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("granted_by", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        _ts("revoked_at", nullable=True),
        sa.CheckConstraint("role IN ('registry_admin', 'org_admin')", name="ck_admin_grant_role"),
        sa.CheckConstraint(
            "(role = 'registry_admin' AND organisation_id IS NULL)"
            " OR (role = 'org_admin' AND organisation_id IS NOT NULL)",
            name="ck_admin_grant_scope",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_admin_grant_organisation_id_organisation",
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name="fk_admin_grant_professional_id_professional",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_admin_grant"),
    )
    op.create_index("ix_admin_grant_professional_id", "admin_grant", ["professional_id"])
    op.create_table(
        "audit_record",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _ts("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("on_behalf_of", sa.String(128), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(255), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_record"),
        sa.UniqueConstraint("hash", name="uq_audit_record_hash"),
        sqlite_autoincrement=True,
    )
    sequence = op.create_table(
        "dezi_number_sequence",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_dezi_number_sequence"),
    )
    op.bulk_insert(sequence, [{"name": "dezi_nummer", "next_value": FIRST_ISSUED_DEZI_NUMMER}])
    _audit_append_only()


def _audit_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'audit_record is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record"
            " FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_record_no_{event.lower()} BEFORE {event} ON audit_record"
            " BEGIN SELECT RAISE(ABORT, 'audit_record is append-only'); END"
        )


def downgrade() -> None:
    raise NotImplementedError("the register is never downgraded: restore a backup instead")
