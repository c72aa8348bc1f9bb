"""Keys agreed in advance ("stock", see ``kms.kme``): an index to find a pair's stock fast.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("kms_keys_by_pair", "kms_keys", ["role", "master_sae", "slave_saes"])


def downgrade() -> None:
    op.drop_index("kms_keys_by_pair", table_name="kms_keys")
