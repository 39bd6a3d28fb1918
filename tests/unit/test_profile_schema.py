"""The profile's vocabulary is stated in its schema (what OpenAPI and MCP clients read)."""

from __future__ import annotations

from assistant.profiles import Profile
from ingest.vocabulary import AUDIENCES, GOALS, KINDS


def test_the_profile_schema_names_every_role_goal_and_format() -> None:
    fields = Profile.model_json_schema()["properties"]
    for name, words in (("role", AUDIENCES), ("goals", GOALS), ("formats", KINDS)):
        described = fields[name]["description"]
        missing = [w for w in words if w not in described]
        assert not missing, f"{name}: the schema does not name {missing}"


def test_a_role_the_schema_names_is_one_a_profile_accepts() -> None:
    for role in AUDIENCES:
        assert Profile(role=role).role == role
