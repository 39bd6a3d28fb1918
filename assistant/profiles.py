"""Assistant stage: a learner's profile, its vocabulary, and what each field means for ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.vocabulary import (
    AUDIENCES,
    GOAL_KINDS,
    GOAL_TOPICS,
    GOALS,
    KINDS,
    Level,
    goal_for,
    kind_for,
    level_gap,
    role_for,
    slug,
)

if TYPE_CHECKING:
    from ingest.catalog import Resource

# Topics each role usually needs first: a role expands the question towards them.
ROLE_TOPICS: dict[str, tuple[str, ...]] = {
    "sre": ("reliability", "monitoring", "infrastructure", "devops"),
    "data-scientist": ("fundamentals", "mlops", "experiment-tracking", "deployment"),
    "ml-engineer": ("mlops", "serving", "training", "deployment"),
    "software-engineer": ("system-design", "software-engineering", "mlops", "fundamentals"),
    "platform-engineer": ("infrastructure", "orchestration", "serving", "distributed-systems"),
    "data-engineer": ("data-engineering", "feature-stores", "data-quality", "orchestration"),
    "manager": ("product", "career", "mlops", "case-studies"),
    "researcher": ("ml-theory", "deep-learning", "distributed-training", "technical-debt"),
    "student": ("fundamentals", "ml-theory", "system-design"),
}
MAX_LIST = 200


class Profile(BaseModel):
    """Who the learner is and what they want: every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level | None = None
    # The vocabulary goes into the schema (OpenAPI, MCP) as examples, not an enum: the fields
    # also take the usual spellings and aliases ("Site reliability engineer", "interview prep").
    role: str | None = Field(
        default=None,
        max_length=100,
        description=f"One of: {', '.join(AUDIENCES)} (common spellings and aliases accepted).",
        examples=list(AUDIENCES),
    )
    goals: tuple[str, ...] = Field(
        default=(),
        max_length=len(GOALS),
        description=f"Any of: {', '.join(GOALS)}.",
        examples=[list(GOALS[:2])],
    )
    formats: tuple[str, ...] = Field(
        default=(),
        max_length=len(KINDS),
        description=f"Preferred kinds, any of: {', '.join(KINDS)}.",
        examples=[list(KINDS[:2])],
    )
    budget: Literal["free", "any"] = "any"
    already_read: tuple[str, ...] = Field(default=(), max_length=MAX_LIST)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return slug(value) or None if isinstance(value, str) else value

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        role = role_for(value)
        if role is None:
            raise ValueError(f"unknown role '{value}'; use one of: {', '.join(AUDIENCES)}")
        return role

    @field_validator("goals", mode="before")
    @classmethod
    def _goals(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        goals: list[str] = []
        for raw in value:
            goal = goal_for(str(raw))
            if goal is None:
                raise ValueError(f"unknown goal '{raw}'; use any of: {', '.join(GOALS)}")
            goals.append(goal)
        return tuple(dict.fromkeys(goals))

    @field_validator("formats", mode="before")
    @classmethod
    def _formats(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return value
        kinds = [kind_for(str(v)) for v in value]  # "courses" means course
        unknown = [str(raw) for raw, kind in zip(value, kinds, strict=True) if kind is None]
        if unknown:
            raise ValueError(f"unknown format(s) {unknown}; use any of: {', '.join(KINDS)}")
        return tuple(dict.fromkeys(kinds))

    @field_validator("already_read", mode="before")
    @classmethod
    def _already_read(cls, value: object) -> object:
        return (
            tuple(dict.fromkeys(str(v) for v in value))
            if isinstance(value, list | tuple)
            else value
        )

    @property
    def is_empty(self) -> bool:
        """Whether the profile says nothing that could change a ranking."""
        return self == Profile()

    def wanted_topics(self) -> set[str]:
        """Topics the goals ask for."""
        return {t for g in self.goals for t in GOAL_TOPICS[g]}

    def role_topics(self) -> set[str]:
        """Topics the role usually needs."""
        return set(ROLE_TOPICS.get(self.role or "", ()))

    def fits(self, resource: Resource) -> bool:
        """Whether a resource serves the learner's role or goals: written for their role, or
        on a topic the role needs or a goal asks for."""
        if self.role and self.role in resource.audience:
            return True
        return bool(set(resource.topics) & (self.role_topics() | self.wanted_topics()))

    def wanted_kinds(self) -> set[str]:
        """Kinds the goals favour (research favours papers), beyond the stated formats."""
        return {k for g in self.goals for k in GOAL_KINDS.get(g, ())}

    def expansion(self) -> str:
        """Words for the topics the role and goals point at, to widen a keyword search."""
        return " ".join(
            sorted(t.replace("-", " ") for t in self.role_topics() | self.wanted_topics())
        )

    def level_gap(self, level: str) -> int | None:
        """How many levels a resource is from the learner's (None when no level is set)."""
        if self.level is None:
            return None
        return level_gap(level, self.level)


@dataclass(frozen=True)
class NewUser:
    """A freshly created user: the token is shown once and only its hash is stored."""

    user_id: str
    token: str


class UnknownUser(KeyError):
    """No user with that id."""

    def __str__(self) -> str:
        return (
            f"unknown user '{self.args[0]}': create one first "
            "(`mlsd user create` or POST /api/users)"
        )


class Forbidden(PermissionError):
    """The token is missing or does not belong to the user (or session) asked for."""
