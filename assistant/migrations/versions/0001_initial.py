"""The first schema: sessions, turns, users, feedback (what pre-Alembic SQLite files hold).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "sessions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("user_id", sa.String, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "turns",
        sa.Column("session_id", sa.String, sa.ForeignKey("sessions.id"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("query_used", sa.Text, nullable=False),
        sa.Column("resource_ids", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("intent", sa.String, nullable=False),
        sa.Column("topic_text", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("token_sha256", sa.String, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("turn_idx", sa.Integer, nullable=True),
        sa.Column("user_id", sa.String, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("resource_id", sa.String, nullable=True),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.CheckConstraint("rating IN (-1, 1)", name="ck_feedback_rating"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_feedback_user_id", "feedback", ["user_id"])


def downgrade() -> None:
    """Drop them again."""
    for index, table in (("ix_feedback_user_id", "feedback"), ("ix_sessions_user_id", "sessions")):
        op.drop_index(index, table_name=table)
    for table in ("feedback", "users", "turns", "sessions"):
        op.drop_table(table)
