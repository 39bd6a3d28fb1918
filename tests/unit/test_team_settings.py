"""The team-service settings: where state lives, and a rate limit that parses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings
from assistant.storage import database_url, open_storage


def test_state_is_a_sqlite_file_in_the_data_dir_unless_a_url_is_given(tmp_path: Path) -> None:
    storage = open_storage(Settings(data_dir=tmp_path / "data"))
    assert storage.path == tmp_path / "data" / "assistant.sqlite3" and storage.path.is_file()
    other = tmp_path / "elsewhere.sqlite3"
    assert open_storage(Settings(database_url=f"sqlite:///{other}")).path is None
    assert other.is_file()


def test_a_postgresql_url_gets_the_psycopg_driver() -> None:
    assert database_url("postgresql://u:p@db:5432/mlsd") == "postgresql+psycopg://u:p@db:5432/mlsd"
    assert database_url("postgres://db/mlsd") == "postgresql+psycopg://db/mlsd"


def test_a_rate_limit_that_does_not_parse_fails_at_start() -> None:
    assert Settings(rate_limit="5/second").rate_limit == "5/second"
    with pytest.raises(ValidationError, match="write it like '120/minute'"):
        Settings(rate_limit="lots")
