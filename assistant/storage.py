"""Assistant stage: sessions, users and feedback in SQL (SQLAlchemy Core): a SQLite file by
default, PostgreSQL for a team. The tables below are the one schema source; Alembic migrations
(assistant/migrations) bring any database up to them at start-up."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from assistant.conversation import Session, Turn
from assistant.profiles import Forbidden, NewUser, Profile, UnknownUser
from assistant.settings import Settings

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
    sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
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
    sa.CheckConstraint("rating IN (-1, 1)", name="ck_feedback_rating"),
    sqlite_autoincrement=True,
)

# Writers on one session queue on its row lock, so a conflict on the next index should not
# happen; if one does (a database without row locks), the loser tries again, at most this often.
TURN_WRITE_ATTEMPTS = 5


class StorageUnavailable(RuntimeError):
    """The database cannot be reached (a PostgreSQL server down, a SQLite file locked too long)."""


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL: a path means a SQLite file, a string is taken as a URL.

    `postgresql://` URLs get the psycopg 3 driver, the one this project installs.
    """
    if isinstance(target, Path):
        return f"sqlite:///{target}"
    if target.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    return target


class UnknownSession(KeyError):
    """No session with that id."""


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Storage:
    """Sessions, users and feedback in one database; safe to share between threads and between
    processes (several `mlsd serve` on one PostgreSQL)."""

    def __init__(self, target: str | Path) -> None:
        self.url = database_url(target)
        self.path: Path | None = target if isinstance(target, Path) else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        url = sa.make_url(self.url)
        if url.get_backend_name() == "sqlite":
            # Threads of one server share the engine; 30 s: how long a writer waits for the lock.
            options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        else:
            # pre_ping: a pooled connection a database restart cut is replaced, not handed out.
            options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}
        self._engine = sa.create_engine(url, **options)
        self._insert = sqlite_insert if url.get_backend_name() == "sqlite" else pg_insert
        self.migrate()

    def describe(self) -> str:
        """Where the data lives, without a password."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> str:
        """Bring the database to the newest schema (Alembic); returns its revision."""
        from assistant.migrations import upgrade

        with self._connect(begin=False) as conn:
            return upgrade(conn)

    @contextmanager
    def _connect(self, begin: bool = True) -> Iterator[sa.Connection]:
        """A connection (in a transaction unless `begin=False`); an unreachable database
        becomes `StorageUnavailable` so callers can say "try again" instead of failing."""
        try:
            with self._engine.connect() as conn:
                if begin:
                    with conn.begin():
                        yield conn
                else:
                    yield conn
        except sa.exc.OperationalError as exc:
            raise StorageUnavailable(f"the database is unavailable ({_first_line(exc)})") from exc

    def ping(self) -> None:
        """Raise `StorageUnavailable` unless the database answers."""
        with self._connect(begin=False) as conn:
            conn.execute(sa.text("SELECT 1"))

    def new_session(self, user_id: str | None = None) -> Session:
        """A new, empty session; stored with its first turn, so a failed turn leaves nothing."""
        return Session(id=uuid.uuid4().hex, user_id=user_id)

    def load_session(self, session_id: str) -> Session:
        """A stored session with its turns; `UnknownSession` if there is none."""
        with self._connect(begin=False) as conn:
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

    def append_turn(self, session: Session, turn: Turn) -> int:
        """Store a turn after the session's last stored one; returns its index.

        The database picks the index (one past the highest stored, in the INSERT itself) while
        the writer holds the session's row lock, so overlapping turns on one session (a double
        submit, two tabs, two servers) each get their own; should two still collide, the loser
        tries again. The session row is written with its first turn, in the same transaction.
        """
        values: dict[str, Any] = {
            "session_id": session.id,
            "message": turn.message,
            "query_used": json.dumps(turn.query_used),
            "resource_ids": json.dumps(list(turn.resource_ids)),
            "answer": turn.answer,
            "intent": turn.intent,
            "topic_text": turn.topic_text,
            "created": time.time(),
        }
        next_idx = (
            sa.select(sa.func.coalesce(sa.func.max(turns.c.idx) + 1, 0))
            .where(turns.c.session_id == session.id)
            .scalar_subquery()
        )
        columns = ["idx", *values]
        select = sa.select(next_idx, *(sa.literal(v) for v in values.values()))
        insert = turns.insert().from_select(columns, select).returning(turns.c.idx)
        new_session = (
            self._insert(sessions)
            .values(id=session.id, user_id=session.user_id, created=time.time())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        # PostgreSQL: writers on one session queue on its row, so each reads the index the one
        # before it wrote (SQLite has one writer at a time anyway; FOR UPDATE is not rendered).
        lock_session = sa.select(sessions.c.id).where(sessions.c.id == session.id).with_for_update()
        for attempt in range(TURN_WRITE_ATTEMPTS):
            try:
                with self._connect() as conn:
                    conn.execute(new_session)
                    conn.execute(lock_session)
                    idx = int(conn.execute(insert).scalar_one())
                break
            except sa.exc.IntegrityError:
                if attempt == TURN_WRITE_ATTEMPTS - 1:
                    raise
        session.turns.append(turn)
        return idx

    # -- users ------------------------------------------------------------------------------

    def create_user(self, profile: Profile) -> NewUser:
        """A new user with its profile; the token is returned once, only its hash is kept."""
        user = NewUser(user_id=uuid.uuid4().hex, token=secrets.token_urlsafe(32))
        now = time.time()
        with self._connect() as conn:
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
        with self._connect(begin=False) as conn:
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
        with self._connect(begin=False) as conn:
            raw = conn.execute(sa.select(users.c.profile).where(users.c.id == user_id)).scalar()
        if raw is None:
            raise UnknownUser(user_id)
        return Profile.model_validate_json(raw)

    def save_profile(self, user_id: str, profile: Profile) -> None:
        """Replace a user's profile (call `authorize` first)."""
        with self._connect() as conn:
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
        with self._connect() as conn:
            new_id = conn.execute(feedback.insert().values(**values).returning(feedback.c.id))
            return int(new_id.scalar_one())

    def feedback_rows(self, session_id: str) -> list[dict[str, Any]]:
        """Every feedback row stored for a session, oldest first."""
        with self._connect(begin=False) as conn:
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
        with self._connect(begin=False) as conn:
            return {str(rid): int(total) for rid, total in conn.execute(query).all()}


def open_storage(settings: Settings) -> Storage:
    """The configured storage: `MLSD_DATABASE_URL`, or `MLSD_DATA_DIR/assistant.sqlite3`."""
    return Storage(settings.database_url or settings.data_dir / "assistant.sqlite3")
