"""Where a merged run came from: `ganbench merge` records each run it copies by its source
database's identity and the run's id there, so merging the same file twice copies nothing.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ganbench.store.sql import _text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "run_origins",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("source", _text(64), nullable=False),
        sa.Column("source_run", sa.Integer, nullable=False),
        sa.UniqueConstraint("source", "source_run", name="uq_run_origins_source"),
    )


def downgrade():
    raise NotImplementedError("ganbench does not downgrade a database: restore a copy instead")
