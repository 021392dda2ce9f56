"""The queue's order indexes: every tab walks an index in ``priority DESC, id`` order.

Revision ID: 0016b
Revises: 0002
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
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN_SQL = "state NOT IN ('resolved', 'closed')"


def upgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_all_order", [sa.literal_column("priority DESC"), "id"])
        batch_op.create_index(
            "ix_requests_open_order",
            [sa.literal_column("priority DESC"), "id"],
            postgresql_where=sa.text(_OPEN_SQL),
            sqlite_where=sa.text(_OPEN_SQL),
        )
        batch_op.create_index(
            "ix_requests_mine_order",
            ["assignee_id", sa.literal_column("priority DESC"), "id"],
            postgresql_where=sa.text(_OPEN_SQL),
            sqlite_where=sa.text(_OPEN_SQL),
        )


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_mine_order")
        batch_op.drop_index("ix_requests_open_order")
        batch_op.drop_index("ix_requests_all_order")
