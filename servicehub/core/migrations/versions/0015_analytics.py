"""Analytics: rollup tables, request and post facts, follower snapshots, engagement snapshots.

Revision ID: 0015
Revises: 0016b
Create Date: 2026-12-06

Two indexes on existing tables let the rollup task work incrementally: messages by
(account, created_at) to recompute one account's days, service requests by ``updated_at``
to find what changed since the last run. ``engagement_snapshots`` is written by publishing
(reposts, comments and likes of a sent post over time) and read by the publishing figures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0015"
down_revision = "0016b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_watermarks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_watermarks")),
    )
    op.create_table(
        "analytics_fan_monthly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_fan_monthly_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_fan_monthly")),
    )
    with op.batch_alter_table("analytics_fan_monthly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_fan_monthly_interactions", ["month", "account_id", "interactions"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_fan_monthly_followers", ["month", "account_id", "followers"], unique=False
        )
        batch_op.create_index("ix_analytics_fan_monthly_customer", ["customer_id", "month"], unique=False)

    op.create_table(
        "analytics_fans_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("gained", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_fans_daily_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_fans_daily")),
        sa.UniqueConstraint("account_id", "day", name=op.f("uq_analytics_fans_daily_account_id_day")),
    )
    op.create_table(
        "analytics_followed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform_uid", sa.String(length=64), nullable=False),
        sa.Column("screen_name", sa.String(length=120), nullable=False),
        sa.Column("followers_count", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_followed_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_followed")),
        sa.UniqueConstraint(
            "account_id", "platform_uid", name=op.f("uq_analytics_followed_account_id_platform_uid")
        ),
    )
    op.create_table(
        "analytics_follower_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.Column("new_followers", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_follower_snapshots_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_follower_snapshots")),
    )
    with op.batch_alter_table("analytics_follower_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_follower_snapshots_account_taken", ["account_id", "taken_at"], unique=False
        )

    op.create_table(
        "analytics_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform_uid", sa.String(length=64), nullable=False),
        sa.Column("screen_name", sa.String(length=120), nullable=False),
        sa.Column("followers_count", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_followers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_followers")),
        sa.UniqueConstraint(
            "account_id", "platform_uid", name=op.f("uq_analytics_followers_account_id_platform_uid")
        ),
    )
    op.create_table(
        "analytics_keyword_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_keyword_daily_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_keyword_daily")),
    )
    with op.batch_alter_table("analytics_keyword_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_keyword_daily_day_account", ["day", "account_id"], unique=False)

    op.create_table(
        "analytics_message_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("interaction", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("drop_reason", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_message_daily_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_message_daily")),
    )
    with op.batch_alter_table("analytics_message_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_message_daily_day_account", ["day", "account_id"], unique=False)

    op.create_table(
        "analytics_service_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("sla_due", sa.Integer(), nullable=False),
        sa.Column("sla_met", sa.Integer(), nullable=False),
        sa.Column("first_response_hist", sa.Text(), nullable=False),
        sa.Column("resolution_hist", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_service_daily_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_service_daily")),
    )
    with op.batch_alter_table("analytics_service_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_service_daily_day_account", ["day", "account_id"], unique=False)

    op.create_table(
        "analytics_tie_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source_customer_id", sa.Integer(), nullable=False),
        sa.Column("target_customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ties", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_tie_daily_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_tie_daily")),
    )
    with op.batch_alter_table("analytics_tie_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_tie_daily_day_account", ["day", "account_id"], unique=False)

    op.create_table(
        "analytics_request_facts",
        sa.Column("request_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.Column("responded_day", sa.Date(), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolved_day", sa.Date(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("due_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("sla_day", sa.Date(), nullable=True),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_request_facts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_analytics_request_facts_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_analytics_request_facts")),
    )
    with op.batch_alter_table("analytics_request_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_request_facts_created", ["created_day", "account_id"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_request_facts_open",
            ["account_id", "created_at"],
            unique=False,
            postgresql_where=sa.text("is_open"),
            sqlite_where=sa.text("is_open"),
        )
        batch_op.create_index(
            "ix_analytics_request_facts_resolved", ["resolved_day", "account_id"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_request_facts_responded", ["responded_day", "account_id"], unique=False
        )
        batch_op.create_index("ix_analytics_request_facts_sla", ["sla_day", "account_id"], unique=False)
        batch_op.create_index(
            "ix_analytics_request_facts_sla_pending",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("sla_met IS NULL"),
            sqlite_where=sa.text("sla_met IS NULL"),
        )

    op.create_table(
        "analytics_post_facts",
        sa.Column("outbound_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("sent_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_post_facts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["outbound_messages.id"],
            name=op.f("fk_analytics_post_facts_outbound_id_outbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbound_id", name=op.f("pk_analytics_post_facts")),
    )
    with op.batch_alter_table("analytics_post_facts", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_post_facts_day_account", ["day", "account_id"], unique=False)

    op.create_table(
        "engagement_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("sampled_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["outbound_messages.id"],
            name=op.f("fk_engagement_snapshots_outbound_id_outbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_snapshots")),
    )
    with op.batch_alter_table("engagement_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engagement_snapshots_outbound_sampled", ["outbound_id", "sampled_at"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_account_created", ["account_id", "created_at"], unique=False)

    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_updated", ["updated_at"], unique=False)

    op.create_table(
        "analytics_keyword_monthly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_keyword_monthly_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_keyword_monthly")),
    )
    with op.batch_alter_table("analytics_keyword_monthly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_keyword_monthly_month_account", ["month", "account_id"], unique=False
        )

    op.create_table(
        "analytics_service_monthly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("sla_due", sa.Integer(), nullable=False),
        sa.Column("sla_met", sa.Integer(), nullable=False),
        sa.Column("first_response_hist", sa.Text(), nullable=False),
        sa.Column("resolution_hist", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_analytics_service_monthly_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_service_monthly")),
    )
    with op.batch_alter_table("analytics_service_monthly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_service_monthly_month_account", ["month", "account_id"], unique=False
        )

    op.create_table(
        "analytics_fan_monthly_all",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_fan_monthly_all")),
    )
    with op.batch_alter_table("analytics_fan_monthly_all", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_fan_monthly_all_customer", ["customer_id", "month"], unique=False)
        batch_op.create_index("ix_analytics_fan_monthly_all_followers", ["month", "followers"], unique=False)
        batch_op.create_index(
            "ix_analytics_fan_monthly_all_interactions", ["month", "interactions"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analytics_fan_monthly_all", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_fan_monthly_all_interactions")
        batch_op.drop_index("ix_analytics_fan_monthly_all_followers")
        batch_op.drop_index("ix_analytics_fan_monthly_all_customer")

    op.drop_table("analytics_fan_monthly_all")
    with op.batch_alter_table("analytics_service_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_service_monthly_month_account")

    op.drop_table("analytics_service_monthly")
    with op.batch_alter_table("analytics_keyword_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_keyword_monthly_month_account")

    op.drop_table("analytics_keyword_monthly")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_updated")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_account_created")

    with op.batch_alter_table("engagement_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_engagement_snapshots_outbound_sampled")

    op.drop_table("engagement_snapshots")
    with op.batch_alter_table("analytics_post_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_post_facts_day_account")

    op.drop_table("analytics_post_facts")
    with op.batch_alter_table("analytics_request_facts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_analytics_request_facts_sla_pending",
            postgresql_where=sa.text("sla_met IS NULL"),
            sqlite_where=sa.text("sla_met IS NULL"),
        )
        batch_op.drop_index("ix_analytics_request_facts_sla")
        batch_op.drop_index("ix_analytics_request_facts_responded")
        batch_op.drop_index("ix_analytics_request_facts_resolved")
        batch_op.drop_index(
            "ix_analytics_request_facts_open",
            postgresql_where=sa.text("is_open"),
            sqlite_where=sa.text("is_open"),
        )
        batch_op.drop_index("ix_analytics_request_facts_created")

    op.drop_table("analytics_request_facts")
    with op.batch_alter_table("analytics_tie_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_tie_daily_day_account")

    op.drop_table("analytics_tie_daily")
    with op.batch_alter_table("analytics_service_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_service_daily_day_account")

    op.drop_table("analytics_service_daily")
    with op.batch_alter_table("analytics_message_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_message_daily_day_account")

    op.drop_table("analytics_message_daily")
    with op.batch_alter_table("analytics_keyword_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_keyword_daily_day_account")

    op.drop_table("analytics_keyword_daily")
    op.drop_table("analytics_followers")
    with op.batch_alter_table("analytics_follower_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_follower_snapshots_account_taken")

    op.drop_table("analytics_follower_snapshots")
    op.drop_table("analytics_followed")
    op.drop_table("analytics_fans_daily")
    with op.batch_alter_table("analytics_fan_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_fan_monthly_customer")
        batch_op.drop_index("ix_analytics_fan_monthly_followers")
        batch_op.drop_index("ix_analytics_fan_monthly_interactions")

    op.drop_table("analytics_fan_monthly")
    op.drop_table("analytics_watermarks")
