"""Alembic's environment: ganbench hands it the connection whose transaction holds the
database's write lock, so migrations and the rest of opening a database are one transaction."""

from alembic import context

connection = context.config.attributes["connection"]
# batch mode: SQLite alters a table by copying it, which Alembic does for us in batch operations
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
