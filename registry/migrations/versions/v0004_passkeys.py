"""Passkeys: the ``passkey_credential`` table (``registry.models.PasskeyCredential``).

One row per WebAuthn credential bound to a professional (issue 5, item 6): the credential ID
(base64url, unique across the register, WebAuthn L2 §7.1), the COSE public key, the signature
counter (§6.1.1), the user handle, a name the worker chose, and when it was created, last used
and revoked. Written by hand to match ``registry.models``.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "passkey_credential",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("user_handle", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("aaguid", sa.String(36), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name="fk_passkey_credential_professional_id_professional",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_passkey_credential"),
        sa.UniqueConstraint("credential_id", name="uq_passkey_credential_credential_id"),
    )
    op.create_index(
        "ix_passkey_credential_professional_id", "passkey_credential", ["professional_id"]
    )


def downgrade() -> None:
    raise NotImplementedError("the register is never downgraded: restore a backup instead")
