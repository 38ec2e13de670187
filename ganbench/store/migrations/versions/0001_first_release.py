"""The schema of the releases before schema versions, frozen as they made it.

A database from those releases has no alembic_version and may lack the tables added over
them (networks, costs, early stops...): this creates whichever are missing, so a new database
and an old one both come out at this revision.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from ganbench.store.sql import _BIG, FaithfulFloat, UtcDateTime, _text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _runs():
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", _text(200), nullable=False),
        sa.Column("study", _text(100), nullable=True, index=True),
        sa.Column("plugins", _text(500), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("config_hash", _text(64), nullable=False, index=True),
        sa.Column("seed", _BIG, nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("started_at", UtcDateTime, nullable=True),
        sa.Column("ended_at", UtcDateTime, nullable=True),
        sa.Column("target_steps", sa.Integer, nullable=False),
        sa.Column("steps_done", sa.Integer, nullable=False),
        sa.Column("g_params", _BIG, nullable=True),
        sa.Column("d_params", _BIG, nullable=True),
        sa.Column("train_s", sa.Float, nullable=False),
        sa.Column("eval_s", sa.Float, nullable=False),
        sa.Column("device", _text(50), nullable=True),
        sa.Column("gpu", _text(200), nullable=True),
        sa.Column("torch_version", _text(50), nullable=True),
        sa.Column("cuda_version", _text(50), nullable=True),
        sa.Column("ganbench_version", _text(50), nullable=True),
        sa.Column("git_sha", _text(64), nullable=True),
        sa.Column("plugin_versions", sa.JSON, nullable=True),
        sa.Column("score_directions", sa.JSON, nullable=True),
        sa.Column("environment", sa.JSON, nullable=True),
        sa.Column("host", _text(200), nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
    ]


def _run_id(primary_key=True):
    return sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=primary_key)


TABLES = {  # in an order that creates each table after those it refers to
    "runs": _runs,
    "protocols": lambda: [
        sa.Column("id", _text(32), primary_key=True),
        sa.Column("details", sa.JSON, nullable=False),
    ],
    "metrics": lambda: [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("name", _text(100), nullable=False),
        sa.Column("value", FaithfulFloat, nullable=True),
        sa.Column("protocol", _text(32), sa.ForeignKey("protocols.id"), nullable=True),
    ],
    "networks": lambda: [
        _run_id(),
        sa.Column("name", _text(100), primary_key=True),
        sa.Column("kind", _text(50), nullable=False),
        sa.Column("params", _BIG, nullable=False),
    ],
    "costs": lambda: [
        _run_id(),
        sa.Column("peak_mem_mb", sa.Float, nullable=True),
        sa.Column("energy_j", sa.Float, nullable=True),
    ],
    "early_stops": lambda: [
        _run_id(),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    ],
    "tags": lambda: [_run_id(), sa.Column("tag", _text(100), primary_key=True)],
    "ganbench_meta": lambda: [
        sa.Column("key", _text(50), primary_key=True),
        sa.Column("value", _text(200), nullable=False),
    ],
    "heartbeats": lambda: [
        _run_id(),
        sa.Column("host", _text(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("beat_at", UtcDateTime, nullable=False),
    ],
}


def upgrade():
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns in TABLES.items():
        if name not in present:
            op.create_table(name, *columns())
    _widen(present & TABLES.keys())


def _widen(tables):
    """On PostgreSQL, 0.1.0 made VARCHAR(n) and INTEGER where labels may be longer and seeds
    and parameter counts larger (SQLite never minded): TEXT and BIGINT, as the models say."""
    dialect = op.get_bind().dialect
    if dialect.name != "postgresql":
        return
    for name in tables:
        for column in TABLES[name]():
            wide = column.type.dialect_impl(dialect)
            if isinstance(wide, (sa.Text, sa.BigInteger)):
                op.alter_column(name, column.name, type_=wide)


def downgrade():
    raise NotImplementedError("ganbench does not downgrade a database: restore a copy instead")
