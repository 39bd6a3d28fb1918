"""Assistant stage: SQLite storage (SQLAlchemy Core) for sessions, users and feedback."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assistant.conversation import Session, Turn

metadata = sa.MetaData()
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("user_id", sa.String, nullable=True, index=True),
    sa.Column("created", sa.Float, nullable=False),
)
turns = sa.Table(
    "turns",
    metadata,
    sa.Column("session_id", sa.String, sa.ForeignKey("sessions.id"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("query_used", sa.Text, nullable=False),
    sa.Column("resource_ids", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("intent", sa.String, nullable=False),
    sa.Column("topic_text", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

# Ordered schema migrations; the database's PRAGMA user_version says how many have run.
MIGRATIONS: list[str] = [
    """CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, user_id TEXT, created REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_sessions_user_id ON sessions (user_id)",
    """CREATE TABLE IF NOT EXISTS turns (
        session_id TEXT NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL,
        message TEXT NOT NULL, query_used TEXT NOT NULL, resource_ids TEXT NOT NULL,
        answer TEXT NOT NULL, intent TEXT NOT NULL, topic_text TEXT NOT NULL,
        created REAL NOT NULL, PRIMARY KEY (session_id, idx))""",
]


class UnknownSession(KeyError):
    """No session with that id."""


class Storage:
    """One SQLite file under MLSD_DATA_DIR; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._engine = sa.create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        self._lock = threading.Lock()
        self.migrate()

    def migrate(self) -> int:
        """Run the migrations this database has not seen yet; returns the schema version."""
        with self._engine.begin() as conn:
            version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
            for statement in MIGRATIONS[version:]:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f"PRAGMA user_version = {len(MIGRATIONS)}")
        return len(MIGRATIONS)

    def new_session(self, user_id: str | None = None) -> Session:
        """Create an empty session."""
        session = Session(id=uuid.uuid4().hex, user_id=user_id)
        with self._engine.begin() as conn:
            conn.execute(
                sessions.insert().values(id=session.id, user_id=user_id, created=time.time())
            )
        return session

    def load_session(self, session_id: str) -> Session:
        """A stored session with its turns; `UnknownSession` if there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(sessions).where(sessions.c.id == session_id)).first()
            if row is None:
                raise UnknownSession(session_id)
            rows = conn.execute(
                sa.select(turns).where(turns.c.session_id == session_id).order_by(turns.c.idx)
            ).all()
        return Session(
            id=row.id,
            user_id=row.user_id,
            turns=[
                Turn(
                    message=r.message,
                    query_used=json.loads(r.query_used),
                    resource_ids=tuple(json.loads(r.resource_ids)),
                    answer=r.answer,
                    intent=r.intent,
                    topic_text=r.topic_text,
                )
                for r in rows
            ],
        )

    def append_turn(self, session: Session, turn: Turn) -> None:
        """Store a turn at the end of a session (one transaction: all or nothing)."""
        values: dict[str, Any] = {
            "session_id": session.id,
            "idx": len(session.turns),
            "message": turn.message,
            "query_used": json.dumps(turn.query_used),
            "resource_ids": json.dumps(list(turn.resource_ids)),
            "answer": turn.answer,
            "intent": turn.intent,
            "topic_text": turn.topic_text,
            "created": time.time(),
        }
        with self._lock, self._engine.begin() as conn:
            conn.execute(turns.insert().values(**values))
        session.turns.append(turn)
