"""Assistant stage: Alembic migrations for the storage schema, run at start-up.

A SQLite file made before Alembic (its tables made by hand-written SQL, the revision kept in
`PRAGMA user_version`) holds exactly the first revision's schema: it is stamped with that
revision and upgraded in place, its data kept.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema the pre-Alembic SQLite files have
# Any number works, as long as every process that migrates uses the same one (14: the issue).
_PG_LOCK_KEY = 14


def config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for this package (no alembic.ini: everything is set here)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: sa.Connection) -> str | None:
    """The revision the database is at (None before any migration)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection) -> str:
    """Migrate the database behind `connection` to the newest revision; returns it.

    On PostgreSQL an advisory lock makes servers that start together migrate one at a time.
    """
    with connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        cfg = config(connection)
        if current(connection) is None and sa.inspect(connection).has_table("sessions"):
            command.stamp(cfg, BASELINE)  # a pre-Alembic file: its tables are the baseline
        command.upgrade(cfg, "head")
        revision = current(connection)
    assert revision is not None
    return revision
