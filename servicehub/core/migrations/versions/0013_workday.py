"""The operator's day: announcements, snippets, notes, notifications, viewers, work orders, leads.

Revision ID: 0013
Revises: 0013b
Create Date: 2026-12-06

New tables only (nothing existing changes): announcements and who read them, snippets,
private notes on requests, notifications, who is viewing a request, collaborative work
orders with their steps, and sales leads with their history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0013"
down_revision = "0013b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_announcements_author_id_users")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_announcements_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_announcements_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_announcements_created_at"), ["created_at"], unique=False)

    op.create_table(
        "snippets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_snippets_created_by_users")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_snippets_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_snippets_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snippets")),
    )
    op.create_table(
        "announcement_reads",
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_reads_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_announcement_reads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("announcement_id", "user_id", name=op.f("pk_announcement_reads")),
    )
    op.create_table(
        "request_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_request_notes_author_id_users")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_request_notes_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_notes")),
    )
    with op.batch_alter_table("request_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_notes_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_viewers",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("expires_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_request_viewers_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_request_viewers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("request_id", "user_id", name=op.f("pk_request_viewers")),
    )
    with op.batch_alter_table("request_viewers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_viewers_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "sales_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sales_leads_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_sales_leads_created_by_users")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_sales_leads_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_sales_leads_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_sales_leads_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_requests.id"], name=op.f("fk_sales_leads_request_id_service_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_leads")),
    )
    with op.batch_alter_table("sales_leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_leads_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_sales_leads_org", ["org_id", "stage", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_leads_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("originator_id", sa.Integer(), nullable=True),
        sa.Column("to_user_id", sa.Integer(), nullable=True),
        sa.Column("to_team_id", sa.Integer(), nullable=True),
        sa.Column("to_org_id", sa.Integer(), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("returned_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("closed_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_work_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_work_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_work_orders_handler_id_users")),
        sa.ForeignKeyConstraint(
            ["originator_id"], ["users.id"], name=op.f("fk_work_orders_originator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_requests.id"], name=op.f("fk_work_orders_request_id_service_requests")
        ),
        sa.ForeignKeyConstraint(
            ["to_org_id"], ["organizations.id"], name=op.f("fk_work_orders_to_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(["to_team_id"], ["teams.id"], name=op.f("fk_work_orders_to_team_id_teams")),
        sa.ForeignKeyConstraint(["to_user_id"], ["users.id"], name=op.f("fk_work_orders_to_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_work_orders_due", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_to_org_id"), ["to_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_to_team_id"), ["to_team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_to_user_id"), ["to_user_id"], unique=False)

    op.create_table(
        "lead_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("before", sa.String(length=120), nullable=False),
        sa.Column("after", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_lead_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["sales_leads.id"],
            name=op.f("fk_lead_events_lead_id_sales_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_events")),
    )
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_events_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("read_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_notifications_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_notifications_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["sales_leads.id"],
            name=op.f("fk_notifications_lead_id_sales_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["request_notes.id"],
            name=op.f("fk_notifications_note_id_request_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_notifications_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_notifications_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user", ["user_id", "read_at", "id"], unique=False)

    op.create_table(
        "work_order_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_work_order_steps_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_steps_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_steps")),
    )
    with op.batch_alter_table("work_order_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_order_steps_work_order_id"), ["work_order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("work_order_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_steps_work_order_id"))

    op.drop_table("work_order_steps")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user")

    op.drop_table("notifications")
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_events_lead_id"))

    op.drop_table("lead_events")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_orders_to_user_id"))
        batch_op.drop_index(batch_op.f("ix_work_orders_to_team_id"))
        batch_op.drop_index(batch_op.f("ix_work_orders_to_org_id"))
        batch_op.drop_index(batch_op.f("ix_work_orders_request_id"))
        batch_op.drop_index("ix_work_orders_due")
        batch_op.drop_index(batch_op.f("ix_work_orders_customer_id"))

    op.drop_table("work_orders")
    with op.batch_alter_table("sales_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_leads_owner_id"))
        batch_op.drop_index("ix_sales_leads_org")
        batch_op.drop_index(batch_op.f("ix_sales_leads_customer_id"))

    op.drop_table("sales_leads")
    with op.batch_alter_table("request_viewers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_viewers_expires_at"))

    op.drop_table("request_viewers")
    with op.batch_alter_table("request_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_notes_request_id"))

    op.drop_table("request_notes")
    op.drop_table("announcement_reads")
    op.drop_table("snippets")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcements_created_at"))

    op.drop_table("announcements")
