"""Storage on a real PostgreSQL server: migrations, overlapping turns, an outage."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from assistant import migrations
from assistant.conversation import Turn
from assistant.profiles import Profile
from assistant.storage import Storage, StorageUnavailable, metadata

pytestmark = pytest.mark.integration


def turn(text: str) -> Turn:
    return Turn(message=text, query_used={}, resource_ids=(), answer=f"re: {text}")


def test_overlapping_turns_on_one_session_all_land(
    postgres_url: str, overlapping_turns: Callable[[Storage], None]
) -> None:
    overlapping_turns(Storage(postgres_url))


def test_the_migrations_make_exactly_the_tables_the_code_uses(postgres_url: str) -> None:
    Storage(postgres_url)
    Storage(postgres_url)  # a second server starting on the same database changes nothing
    with sa.create_engine(postgres_url).connect() as conn:
        assert migrations.current(conn) == migrations.head()
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_two_processes_share_users_and_sessions(postgres_url: str) -> None:
    one, other = Storage(postgres_url), Storage(postgres_url)
    user = one.create_user(Profile())
    other.authorize(user.user_id, user.token)
    session = one.new_session(user.user_id)
    one.append_turn(session, turn("first"))
    continued = other.load_session(session.id)
    assert other.append_turn(continued, turn("second")) == 1
    assert [t.message for t in one.load_session(session.id).turns] == ["first", "second"]


def test_a_database_that_goes_away_is_unavailable(postgres_url: str) -> None:
    storage = Storage(postgres_url)
    name = sa.make_url(postgres_url).database
    admin = sa.create_engine(
        postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    with pytest.raises(StorageUnavailable, match="database is unavailable"):
        storage.load_session("anything")
