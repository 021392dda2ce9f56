"""contact: built-in CRM table, customer e-mail / CRM profile / merge, send keys and delivery

Revision ID: 0013b
Revises: 0004
Create Date: 2026-12-06 19:03:29.825324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0013b"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm_number", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("plan", sa.String(length=120), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_entries")),
        sa.UniqueConstraint("crm_number", name=op.f("uq_crm_entries_crm_number")),
    )
    with op.batch_alter_table("crm_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_entries_phone"), ["phone"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm_profile", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_phone"), ["phone"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_merged_into_id_customers"), "customers", ["merged_into_id"], ["id"]
        )

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_key", sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", servicehub.core.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbound_messages_send_key"), ["send_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_send_key"))
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("send_key")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_merged_into_id_customers"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_phone"))
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("email")
        batch_op.drop_column("crm_profile")

    with op.batch_alter_table("crm_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_entries_phone"))

    op.drop_table("crm_entries")
