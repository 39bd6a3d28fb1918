"""UI adapter: the HTTP API's request and response models (they make /openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assistant.profiles import Profile
from assistant.service import MAX_K
from ingest.vocabulary import Cost, Kind, Level


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
    Field(json_schema_extra={"minimum": 1, "maximum": MAX_K}, description="How many results."),
]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class Request(BaseModel):
    """A request body: unknown fields are errors, so a typo ("kind" for "kinds") is caught."""

    model_config = ConfigDict(extra="forbid")


class SearchRequest(Request):
    """One-off search."""

    query: str = Field(description="What you are looking for, in plain language.")
    k: K = 10
    kinds: list[Kind] = Field(default=[], description="Only these kinds of resource.")
    user_id: Id | None = Field(default=None, description="Personalize for this user (token).")


class ChatRequest(Request):
    """One conversational turn."""

    message: str = Field(description="Your question or follow-up.")
    session_id: Id | None = Field(default=None, description="Continue this session.")
    user_id: Id | None = Field(default=None, description="Answer for this user (token).")
    k: K = 5


class RecommendRequest(Request):
    """A personalized list, for a stored user or for a profile given inline."""

    user_id: Id | None = None
    profile: Profile | None = None
    topic: str | None = Field(default=None, max_length=200)
    k: K = 5


class NewUserRequest(Request):
    """A new user, optionally with a profile."""

    profile: Profile | None = None


class FeedbackRequest(Request):
    """Thumbs up or down on a session's latest answer, or on one resource in it."""

    session_id: Id
    rating: Literal[1, -1]
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
