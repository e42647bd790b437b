"""The REST API: what a client may ask the token endpoint for, and stored POST answers.

- ``relying_party.grant_types`` and ``relying_party.scopes`` (RFC 7591 §2 ``grant_types`` and
  ``scope``): which grants and scopes a client may use. Existing clients keep exactly what they
  could do before: ``["authorization_code"]`` and ``["openid"]``. The server defaults stay so
  that rows written by an older process during a rolling upgrade get the same values.
- ``api_idempotency``: responses to API POSTs sent with an ``Idempotency-Key``
  (``registry.models.ApiIdempotencyRecord``).

Written by hand to match ``registry.models``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("relying_party") as batch:
        batch.add_column(
            sa.Column(
                "grant_types",
                sa.JSON(),
                nullable=False,
                server_default=sa.text("'[\"authorization_code\"]'"),
            )
        )
        batch.add_column(
            sa.Column("scopes", sa.JSON(), nullable=False, server_default=sa.text("'[\"openid\"]'"))
        )
    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_idempotency"),
    )
    op.create_index(
        "uq_api_idempotency_key",
        "api_idempotency",
        ["principal", "idempotency_key"],
        unique=True,
    )


def downgrade() -> None:
    raise NotImplementedError("the register is never downgraded: restore a backup instead")
