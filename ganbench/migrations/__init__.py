"""Alembic migrations of the results database (see ganbench.schema)."""
