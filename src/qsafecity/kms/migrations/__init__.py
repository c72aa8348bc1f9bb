"""Alembic migrations of the SQL key store, shipped as package data (``kms.sql.migrate``)."""
