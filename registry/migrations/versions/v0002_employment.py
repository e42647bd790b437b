"""Staff numbers: the ``employment`` table (organisation x personeelsnummer -> professional).

The bulk import matches a professional on (URA, personeelsnummer) (INTERFACES.md "Bulk import
files"); until now the staff number was only a free column on ``declaration``. This revision adds
the link table with a unique index per organisation and fills it from those columns where they
are unambiguous (one professional per organisation and number); ambiguous pairs are left out, to
be linked again by the next import. Written by hand to match ``registry.models.Employment``.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATION_ACTOR = "system:migration-0002"


def upgrade() -> None:
    employment = op.create_table(
        "employment",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.Column("personeelsnummer", sa.String(64), nullable=False),
        sa.Column("professional_id", sa.String(36), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name="fk_employment_organisation_id_organisation",
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professional.id"],
            name="fk_employment_professional_id_professional",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_employment"),
    )
    op.create_index("ix_employment_professional_id", "employment", ["professional_id"])
    op.create_index(
        "uq_employment_staff_number",
        "employment",
        ["organisation_id", "personeelsnummer"],
        unique=True,
    )
    declaration = sa.table(
        "declaration",
        sa.column("organisation_id", sa.String),
        sa.column("personeelsnummer", sa.String),
        sa.column("professional_id", sa.String),
    )
    unambiguous = (
        sa.select(
            declaration.c.organisation_id,
            declaration.c.personeelsnummer,
            sa.func.min(declaration.c.professional_id),
        )
        .where(declaration.c.personeelsnummer.is_not(None))
        .group_by(declaration.c.organisation_id, declaration.c.personeelsnummer)
        .having(sa.func.count(sa.distinct(declaration.c.professional_id)) == 1)
    )
    now = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "organisation_id": organisation_id,
            "personeelsnummer": number,
            "professional_id": professional_id,
            "created_by": MIGRATION_ACTOR,
            "created_at": now,
        }
        for organisation_id, number, professional_id in op.get_bind().execute(unambiguous)
    ]
    if rows:
        op.bulk_insert(employment, rows)


def downgrade() -> None:
    raise NotImplementedError("the register is never downgraded: restore a backup instead")
