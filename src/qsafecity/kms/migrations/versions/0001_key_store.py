"""Key store: link state, pool blocks, holds and handed-out keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kms_link_state",
        sa.Column("link_id", sa.String(200), primary_key=True),
        sa.Column("next_index", sa.BigInteger, nullable=False),
        sa.Column("filled_s", sa.Float, nullable=False),
    )
    op.create_table(
        "kms_blocks",
        sa.Column("link_id", sa.String(200), primary_key=True),
        sa.Column("block_index", sa.BigInteger, primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "kms_holds",
        sa.Column("hold_id", sa.String(64), primary_key=True),
        sa.Column("link_id", sa.String(200), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_s", sa.Float, nullable=False),
    )
    op.create_table(
        "kms_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("master_sae", sa.String(200), nullable=False),
        sa.Column("slave_saes", sa.Text, nullable=False),
        sa.Column("pending_saes", sa.Text, nullable=False),
        sa.Column("size_bits", sa.Integer, nullable=False),
        sa.Column("origin_kme", sa.String(200), nullable=False),
        sa.Column("created_s", sa.Float, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("kms_keys", "kms_holds", "kms_blocks", "kms_link_state"):
        op.drop_table(table)
