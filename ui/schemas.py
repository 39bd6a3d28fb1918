"""UI adapter: the HTTP API's request and response models (they make /openapi.json)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from assistant.profiles import Profile
from assistant.service import MAX_K
from assistant.settings import Settings
from ingest.vocabulary import KINDS, TOPICS, Cost, Kind, Level

# Shown in OpenAPI; the server enforces its own MLSD_MAX_MESSAGE_CHARS (this is its default).
MESSAGE_CHARS = Settings.model_fields["max_message_chars"].default
# Characters kept although Unicode calls them control characters: line breaks and tabs.
_KEPT_CONTROLS = frozenset("\t\n\r")


def clean_text(value: object) -> object:
    """Text as a person meant it: NFC-normalized, invisible characters (zero-width spaces,
    direction marks, control characters) removed; a lone surrogate (not text at all) is
    refused. Runs before the length checks, so they count what is left."""
    if not isinstance(value, str):
        return value
    bad = next((c for c in value if unicodedata.category(c) == "Cs"), None)
    if bad is not None:
        raise ValueError(
            f"contains an unpaired surrogate (U+{ord(bad):04X}), which is not text; "
            "send valid Unicode"
        )
    return "".join(
        c
        for c in unicodedata.normalize("NFC", value)
        if unicodedata.category(c) not in ("Cf", "Cc") or c in _KEPT_CONTROLS
    )


def _no_surrogates(value: object, where: str = "") -> object:
    """Refuse a lone surrogate anywhere in a JSON value, before any other check runs (one that
    quoted it in its message would fail to encode that message)."""
    if isinstance(value, str):
        try:
            clean_text(value)
        except ValueError as exc:
            raise ValueError(f"{where or 'text'} {exc}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_surrogates(key, f"{where}.{key}".strip(".") if isinstance(key, str) else where)
            _no_surrogates(item, f"{where}.{key}".strip("."))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            _no_surrogates(item, f"{where}[{n}]")
    return value


# A profile as a request body (or inside one): the profile's own checks, surrogates refused.
ProfileIn = Annotated[Profile, BeforeValidator(_no_surrogates)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty (once invisible characters are removed); write some words")
    return value


def _no_bool(value: object) -> object:
    # JSON true is not the number 1 (pydantic's Literal[1] would take it).
    if isinstance(value, bool):
        raise ValueError(f"must be 1 or -1, not {str(value).lower()}")
    return value


# Free text from a person: cleaned, then it must say something.
Text = Annotated[str, BeforeValidator(clean_text), AfterValidator(_not_blank)]


def _between(low: int, high: int) -> AfterValidator:
    # One message naming both bounds reads better than pydantic's one-sided ones.
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return AfterValidator(check)


K = Annotated[
    int,
    _between(1, MAX_K),
    # strict: `true` is not 1 and "5" is not 5.
    Field(
        strict=True,
        json_schema_extra={"minimum": 1, "maximum": MAX_K},
        description="How many results.",
    ),
]
# Session and user ids are hex; resource ids are slugs. Nothing else is ever an id.
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Request(BaseModel):
    """A request body: unknown fields are errors, so a typo ("kind" for "kinds") is caught."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: object) -> object:
        return _no_surrogates(data)


class SearchRequest(Request):
    """One-off search."""

    query: Text = Field(
        json_schema_extra={"maxLength": MESSAGE_CHARS},
        description="What you are looking for, in plain language (the message limit applies).",
    )
    k: K = 10
    kinds: list[Kind] = Field(
        default=[], max_length=len(KINDS), description="Only these kinds of resource."
    )
    user_id: Id | None = Field(default=None, description="Personalize for this user (token).")


class ChatRequest(Request):
    """One conversational turn."""

    # The limit is the server's setting, enforced with a 400 that names it; OpenAPI shows
    # the default.
    message: Text = Field(
        json_schema_extra={"maxLength": MESSAGE_CHARS},
        description=f"Your question or follow-up (at most MLSD_MAX_MESSAGE_CHARS characters, "
        f"{MESSAGE_CHARS} by default).",
    )
    session_id: Id | None = Field(default=None, description="Continue this session.")
    user_id: Id | None = Field(default=None, description="Answer for this user (token).")
    k: K = 5


class RecommendRequest(Request):
    """A personalized list, for a stored user or for a profile given inline."""

    user_id: Id | None = None
    profile: ProfileIn | None = None
    topic: Text | None = Field(
        default=None,
        max_length=200,
        description=f"What to learn about, in your words (catalog topics: {', '.join(TOPICS)}).",
    )
    k: K = 5


class NewUserRequest(Request):
    """A new user, optionally with a profile."""

    profile: ProfileIn | None = None


class FeedbackRequest(Request):
    """Thumbs up or down on a session's latest answer, or on one resource in it."""

    session_id: Id
    rating: Annotated[Literal[1, -1], BeforeValidator(_no_bool)] = Field(
        description="1: thumbs up, -1: thumbs down."
    )
    resource_id: Id | None = None
    user_id: Id | None = None


class ResourceOut(BaseModel):
    """The fields every resource in an answer carries."""

    id: str
    title: str
    kind: Kind | Literal["document"]  # "document": one of the user's own files
    url: str | None
    authors: list[str]
    year: int | None
    level: Level
    cost: Cost
    open_source: bool | None
    topics: list[str]
    verified: bool = Field(description="false: named only on an affiliate page, or unconfirmed")
    vendor: bool = Field(description="true: a source's own product, recommended by its maker")


class ResourceDetail(ResourceOut):
    """A whole catalog entry."""

    aliases: list[str]
    audience: list[str]
    summary: str
    best_for: str
    mentioned_in: list[str]
    publisher: str | None
    prerequisites: list[str]
    effort: str | None
    pages: int | None


class ResourceList(BaseModel):
    """Catalog entries matching the filters."""

    total: int
    items: list[ResourceDetail]


class Evidence(BaseModel):
    """Where a search hit's snippet was found."""

    title: str
    origin: str
    heading: str


class SearchHit(ResourceOut):
    """A search result: resource, score and the supporting passage."""

    score: float
    snippet: str
    source: Evidence | None


class SearchResponse(BaseModel):
    """Ranked resources and how the query was understood."""

    results: list[SearchHit]
    query_used: dict[str, Any]


class AnswerItem(ResourceOut):
    """A resource named in an answer, why it fits and the citation behind it."""

    reason: str
    citation: int | None
    snippet: str
    group: str = Field(
        "",
        description="Its place in the answer: Start here, Go deeper, Try hands-on, Join, or "
        "Related (off the topics asked, listed last).",
    )


class ScoredItem(AnswerItem):
    """A recommended resource with its score."""

    score: float


class CitationOut(BaseModel):
    """A numbered citation to a source passage."""

    number: int
    source_title: str
    origin: str
    heading: str
    snippet: str
    url: str | None = Field(default=None, description="The source's public page, where it has one.")


class ChatResponse(BaseModel):
    """One answer; pass `session_id` back to follow up."""

    session_id: str
    answer: str
    intent: str
    generator: str
    sources: list[AnswerItem]
    citations: list[CitationOut]
    query_used: dict[str, Any]


class RecommendResponse(BaseModel):
    """A personalized list with the answer text that presents it."""

    items: list[ScoredItem]
    answer: str
    citations: list[CitationOut]
    query_used: dict[str, Any]


class NewUser(BaseModel):
    """Keep the token: it is shown once and sent as `Authorization: Bearer <token>`."""

    user_id: str
    token: str


class FeedbackOut(BaseModel):
    """The stored feedback's id."""

    id: int


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    """Readiness: the index is loaded and the store answers."""

    status: Literal["ready"] = "ready"
    store: str
    chunks: int
    resources: int
    documents: int = Field(default=0, description="The user's own documents in the index.")
    index_version: str = Field(
        default="", description="Changes with every ingest that changed the index."
    )


class Problem(BaseModel):
    """An error: `detail` says what to fix."""

    detail: str
