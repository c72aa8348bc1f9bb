"""The tables of the SQL key store (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

link_state = Table(
    "kms_link_state",
    metadata,
    Column("link_id", String(200), primary_key=True),
    Column("next_index", BigInteger, nullable=False),
    Column("filled_s", Float, nullable=False),
)

blocks = Table(
    "kms_blocks",
    metadata,
    Column("link_id", String(200), primary_key=True),
    Column("block_index", BigInteger, primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
)

holds = Table(
    "kms_holds",
    metadata,
    Column("hold_id", String(64), primary_key=True),
    Column("link_id", String(200), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_s", Float, nullable=False),
)

keys = Table(
    "kms_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("master_sae", String(200), nullable=False),
    # Lists of SAE ids, joined by newlines (ids never contain one).
    Column("slave_saes", Text, nullable=False),
    Column("pending_saes", Text, nullable=False),
    Column("size_bits", Integer, nullable=False),
    Column("origin_kme", String(200), nullable=False),
    Column("created_s", Float, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
)

#: A pair's keys agreed in advance (role "stock") are found by this index (migration 0002).
Index("kms_keys_by_pair", keys.c.role, keys.c.master_sae, keys.c.slave_saes)
