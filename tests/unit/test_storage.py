"""Storage on SQLite: overlapping turn writes, Alembic migrations, the pre-Alembic file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assistant import migrations
from assistant.conversation import Turn
from assistant.storage import Storage, StorageUnavailable, metadata


def turn(text: str) -> Turn:
    return Turn(message=text, query_used={}, resource_ids=(), answer=f"re: {text}")


def test_overlapping_turns_on_one_session_all_land(
    tmp_path: Path, overlapping_turns: Callable[[Storage], None]
) -> None:
    overlapping_turns(Storage(tmp_path / "a.sqlite3"))


def test_a_session_is_stored_with_its_first_turn(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "a.sqlite3")
    session = storage.new_session("someone")
    with sqlite3.connect(tmp_path / "a.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
    storage.append_turn(session, turn("hello"))
    loaded = storage.load_session(session.id)
    assert loaded.user_id == "someone" and [t.message for t in loaded.turns] == ["hello"]


def test_the_migrations_make_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "a.sqlite3")
    engine = sa.create_engine(storage.url)
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.head()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


# What every SQLite file held before Alembic (the hand-written SQL, PRAGMA user_version = 6).
PRE_ALEMBIC = [
    "CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT, created REAL NOT NULL)",
    "CREATE INDEX ix_sessions_user_id ON sessions (user_id)",
    """CREATE TABLE turns (session_id TEXT NOT NULL REFERENCES sessions(id),
        idx INTEGER NOT NULL, message TEXT NOT NULL, query_used TEXT NOT NULL,
        resource_ids TEXT NOT NULL, answer TEXT NOT NULL, intent TEXT NOT NULL,
        topic_text TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (session_id, idx))""",
    """CREATE TABLE users (id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL,
        profile TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)""",
    """CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id), turn_idx INTEGER,
        user_id TEXT REFERENCES users(id), resource_id TEXT,
        rating INTEGER NOT NULL CHECK (rating IN (-1, 1)), created REAL NOT NULL)""",
    "CREATE INDEX ix_feedback_user_id ON feedback (user_id)",
    "PRAGMA user_version = 6",
    "INSERT INTO sessions VALUES ('s1', NULL, 1.0)",
    """INSERT INTO turns VALUES ('s1', 0, 'feature stores?', '{}', '["feast"]', 'Feast.',
        'recommend', 'feature stores', 1.0)""",
]


def test_a_pre_alembic_sqlite_file_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "assistant.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in PRE_ALEMBIC:
            db.execute(statement)
    storage = Storage(path)
    session = storage.load_session("s1")  # the old data is still there ...
    assert [t.message for t in session.turns] == ["feature stores?"]
    assert storage.append_turn(session, turn("any free?")) == 1  # ... and grows
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == (
            migrations.head(),
        )
    assert Storage(path).migrate() == migrations.head()  # a second start changes nothing


def test_an_unreachable_database_is_unavailable_not_a_crash() -> None:
    with pytest.raises(StorageUnavailable, match="database is unavailable"):
        Storage("postgresql://nobody@127.0.0.1:1/none")
