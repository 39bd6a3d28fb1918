"""Assistant stage: SQLite storage (SQLAlchemy Core) for sessions, users and feedback."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from assistant.conversation import Session, Turn
from assistant.profiles import Forbidden, NewUser, Profile, UnknownUser

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
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("token_sha256", sa.String, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String, sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("turn_idx", sa.Integer, nullable=True),
    sa.Column("user_id", sa.String, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("resource_id", sa.String, nullable=True),
    sa.Column("rating", sa.Integer, nullable=False),
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
    # v4: users with a hashed token and a JSON profile; feedback on answers and resources.
    """CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL, profile TEXT NOT NULL,
        created REAL NOT NULL, updated REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES sessions(id),
        turn_idx INTEGER, user_id TEXT REFERENCES users(id), resource_id TEXT,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)), created REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_feedback_user_id ON feedback (user_id)",
]


class UnknownSession(KeyError):
    """No session with that id."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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

    # -- users ------------------------------------------------------------------------------

    def create_user(self, profile: Profile) -> NewUser:
        """A new user with its profile; the token is returned once, only its hash is kept."""
        user = NewUser(user_id=uuid.uuid4().hex, token=secrets.token_urlsafe(32))
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(
                users.insert().values(
                    id=user.user_id,
                    token_sha256=_token_hash(user.token),
                    profile=profile.model_dump_json(),
                    created=now,
                    updated=now,
                )
            )
        return user

    def authorize(self, user_id: str, token: str | None) -> None:
        """Pass when `token` is this user's; `UnknownUser` or `Forbidden` otherwise."""
        with self._engine.connect() as conn:
            stored = conn.execute(
                sa.select(users.c.token_sha256).where(users.c.id == user_id)
            ).scalar()
        if stored is None:
            raise UnknownUser(user_id)
        if not token:
            raise Forbidden(f"user '{user_id}' needs its token (Authorization: Bearer <token>)")
        # Constant-time comparison: the time taken must not reveal how much of a guess matched.
        if not hmac.compare_digest(stored, _token_hash(token)):
            raise Forbidden(f"that token does not belong to user '{user_id}'")

    def load_profile(self, user_id: str) -> Profile:
        """A user's stored profile (call `authorize` first)."""
        with self._engine.connect() as conn:
            raw = conn.execute(sa.select(users.c.profile).where(users.c.id == user_id)).scalar()
        if raw is None:
            raise UnknownUser(user_id)
        return Profile.model_validate_json(raw)

    def save_profile(self, user_id: str, profile: Profile) -> None:
        """Replace a user's profile (call `authorize` first)."""
        with self._lock, self._engine.begin() as conn:
            done = conn.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(profile=profile.model_dump_json(), updated=time.time())
            )
            if done.rowcount != 1:
                raise UnknownUser(user_id)

    # -- feedback ---------------------------------------------------------------------------

    def add_feedback(
        self,
        session: Session,
        rating: int,
        resource_id: str | None = None,
        user_id: str | None = None,
    ) -> int:
        """Store a thumbs up (1) or down (-1) on a session's latest answer or one resource."""
        values: dict[str, Any] = {
            "session_id": session.id,
            "turn_idx": len(session.turns) - 1 if session.turns else None,
            "user_id": user_id,
            "resource_id": resource_id,
            "rating": rating,
            "created": time.time(),
        }
        with self._lock, self._engine.begin() as conn:
            new_id = conn.execute(feedback.insert().values(**values).returning(feedback.c.id))
            return int(new_id.scalar_one())

    def feedback_rows(self, session_id: str) -> list[dict[str, Any]]:
        """Every feedback row stored for a session, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(feedback)
                .where(feedback.c.session_id == session_id)
                .order_by(feedback.c.id)
            ).all()
        return [dict(row._mapping) for row in rows]

    def resource_ratings(self, user_id: str) -> dict[str, int]:
        """A user's net rating per resource (the sum of their thumbs on it)."""
        query = (
            sa.select(feedback.c.resource_id, sa.func.sum(feedback.c.rating))
            .where(feedback.c.user_id == user_id, feedback.c.resource_id.is_not(None))
            .group_by(feedback.c.resource_id)
        )
        with self._engine.connect() as conn:
            return {str(rid): int(total) for rid, total in conn.execute(query).all()}
