"""Run ids are never used again: on SQLite `runs` becomes AUTOINCREMENT, so the id of a deleted
run (and whatever its folder kept) never passes to a new run. PostgreSQL's serial sequence
never hands out an id twice already.

SQLite cannot add AUTOINCREMENT to a table, so the batch rebuilds `runs`: a copy with every
row, then the old table dropped and the copy renamed to `runs`, its indexes made again. The
other tables' foreign keys name `runs`, so they hold to the copy. The counter starts at the
highest id left: one deleted before this upgrade may still come again, which is why a store
moves a folder found at a new run's place aside (RunFolders.set_aside).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    autoincrement = {"sqlite_autoincrement": True}
    with op.batch_alter_table("runs", recreate="always", table_kwargs=autoincrement):
        pass  # the rebuild is the change


def downgrade():
    raise NotImplementedError("ganbench does not downgrade a database: restore a copy instead")
