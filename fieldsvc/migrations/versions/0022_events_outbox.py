"""events out: the outbox, deliveries per channel and target, webhook subscriptions

Revision ID: 0022_events_outbox
Revises: 0022_notify_customer_messages
Create Date: 2026-12-04 12:00:00

`outbox_event` rows are written in the transaction of the change that causes them and
numbered per aggregate; `event_delivery` holds one row per event and target of a channel
(attempts, backoff, dead letters); `webhook_subscription` the endpoints and their secrets.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fieldsvc.models.base

# revision identifiers, used by Alembic.
revision = "0022_events_outbox"
down_revision = "0022_notify_customer_messages"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = fieldsvc.models.base.UTCDateTime(timezone=True)
STATUSES = ("pending", "delivered", "dead")


def _timestamps():
    return [
        sa.Column("created_at", UTC, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", UTC, server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
    ]


def upgrade():
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("aggregate_type", sa.String(length=40), nullable=False),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("fanned_out_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_event")),
        sa.UniqueConstraint(
            "aggregate_type",
            "aggregate_id",
            "sequence",
            name=op.f("uq_outbox_event_aggregate_type_aggregate_id_sequence"),
        ),
    )
    op.create_index(
        "ix_outbox_event_pending",
        "outbox_event",
        ["id"],
        postgresql_where=sa.text("fanned_out_at IS NULL"),
        sqlite_where=sa.text("fanned_out_at IS NULL"),
    )
    op.create_table(
        "event_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("aggregate_type", sa.String(length=40), nullable=False),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES,
                name="delivery_status",
                native_enum=False,
                create_constraint=True,
                length=13,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("last_attempt_at", UTC, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        *_timestamps(),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_event_delivery_attempts")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_event.id"],
            ondelete="CASCADE",
            name=op.f("fk_event_delivery_event_id_outbox_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery")),
        sa.UniqueConstraint(
            "event_id",
            "channel",
            "target_id",
            name=op.f("uq_event_delivery_event_id_channel_target_id"),
        ),
    )
    op.create_index("ix_event_delivery_event_id", "event_delivery", ["event_id"])
    op.create_index("ix_event_delivery_due", "event_delivery", ["status", "next_attempt_at"])
    op.create_index(
        "ix_event_delivery_order",
        "event_delivery",
        ["channel", "target_id", "aggregate_type", "aggregate_id", "sequence"],
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )


def downgrade():
    op.drop_table("webhook_subscription")
    op.drop_index("ix_event_delivery_order", table_name="event_delivery")
    op.drop_index("ix_event_delivery_due", table_name="event_delivery")
    op.drop_index("ix_event_delivery_event_id", table_name="event_delivery")
    op.drop_table("event_delivery")
    op.drop_index("ix_outbox_event_pending", table_name="outbox_event")
    op.drop_table("outbox_event")
