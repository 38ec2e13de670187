"""Alembic migrations of the results database (see ganbench.store.schema)."""
