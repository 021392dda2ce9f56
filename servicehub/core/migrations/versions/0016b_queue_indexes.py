"""The queue's order indexes: every tab walks an index in ``priority DESC, id`` order.

Revision ID: 0016b
Revises: 0011
Create Date: 2026-12-06

The queue used to count every visible request and sort by ``priority DESC, id`` without an
index in that order, so a page read the whole open queue (about 14,000 buffer hits a page
at a million requests). These three indexes give each tab (all, open, mine) a range scan
that stops after a page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016b"
down_revision = "0011"
branch_labels = None
depends_on = None

_OPEN_SQL = "state NOT IN ('resolved', 'closed')"
# The tables every scope clause joins (``core.permissions``). They hold a few dozen rows, fewer
# than autovacuum's default analyze threshold (50 changed rows), so PostgreSQL never gathered
# statistics for them and guessed one account per organization: it then planned the queue
# as a loop over "the one" account and sorted every open request. Analyzed after any change
# (and once now), the planner walks the queue's index and stops after a page.
_SMALL_TABLES = ("accounts", "account_operators", "organizations", "teams", "user_teams", "users")


def upgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_requests_all_order",
            [sa.literal_column("priority DESC"), "id"],
            postgresql_include=["account_id", "assignee_id"],
        )
        batch_op.create_index(
            "ix_requests_open_order",
            [sa.literal_column("priority DESC"), "id"],
            postgresql_include=["account_id", "assignee_id"],
            postgresql_where=sa.text(_OPEN_SQL),
            sqlite_where=sa.text(_OPEN_SQL),
        )
        batch_op.create_index(
            "ix_requests_mine_order",
            ["assignee_id", sa.literal_column("priority DESC"), "id"],
            postgresql_include=["account_id"],
            postgresql_where=sa.text(_OPEN_SQL),
            sqlite_where=sa.text(_OPEN_SQL),
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in _SMALL_TABLES:
            op.execute(
                f"ALTER TABLE {table} SET (autovacuum_analyze_threshold = 1, "
                "autovacuum_analyze_scale_factor = 0.01)"
            )
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _SMALL_TABLES:
            op.execute(
                f"ALTER TABLE {table} RESET (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor)"
            )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_mine_order")
        batch_op.drop_index("ix_requests_open_order")
        batch_op.drop_index("ix_requests_all_order")
