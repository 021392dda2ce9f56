"""The service-term dictionary administrators keep (5G套餐, 携号转网 ...).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keyword_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_keyword_terms_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_terms")),
        sa.UniqueConstraint("term", name=op.f("uq_keyword_terms_term")),
    )


def downgrade() -> None:
    op.drop_table("keyword_terms")
