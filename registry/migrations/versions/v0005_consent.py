"""Consent: the ``consent`` table (``registry.models.Consent``).

One row per approval that a relying party receives the verklaring of one declaration (issue 6
item 5); a withdrawal sets ``withdrawn_at`` and the row stays. Written by hand to match
``registry.models``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("relying_party_id", sa.String(36), nullable=False),
        sa.Column("declaration_id", sa.String(36), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"], ["professional.id"], name="fk_consent_professional_id_professional"
        ),
        sa.ForeignKeyConstraint(
            ["relying_party_id"],
            ["relying_party.id"],
            name="fk_consent_relying_party_id_relying_party",
        ),
        sa.ForeignKeyConstraint(
            ["declaration_id"], ["declaration.id"], name="fk_consent_declaration_id_declaration"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consent"),
    )
    op.create_index("ix_consent_professional_id", "consent", ["professional_id"])


def downgrade() -> None:
    raise NotImplementedError("the register is never downgraded: restore a backup instead")
