"""UI adapter: the assistant as an MCP server (the official `mcp` SDK), over stdio or HTTP.

Tools take the same typed fields, with the same limits, as the HTTP API (`ui.schemas`), and
return the API's response models, so a client gets a schema for both. A user's token never goes
through a tool's arguments (a model would read it): it comes with the connection, as
`Authorization: Bearer <token>` over HTTP or `--token`/`MLSD_TOKEN` for a stdio server.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from assistant.errors import InvalidInput
from assistant.profiles import Forbidden, Profile, UnknownUser
from assistant.service import Assistant
from ingest.catalog import Kind
from ui import schemas
from ui.api import describe_error
from ui.views import answer_view, hit_view, recommendation_view, resource_detail_view

CATALOG_URI = "mlsd://catalog"
RESOURCE_URI = "mlsd://resources/{id}"
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

INSTRUCTIONS = (
    "Resources for learning machine-learning system design (books, courses, papers, repos, "
    "blogs, tools, communities) from a curated catalog. search_resources finds resources for a "
    "need; recommend builds a personalized list or learning path; explain_concept answers "
    "'what is X?' with resources and numbered citations; get_resource returns one catalog "
    "entry. Cite the URLs the tools return; never invent resources."
)

Question = Annotated[str, Field(description="What you are looking for, in plain language.")]
UserId = Annotated[
    schemas.Id | None,
    Field(description="Personalize for this stored user; the connection must carry its token."),
]


@contextmanager
def _tool_errors() -> Iterator[None]:
    """The assistant's errors as tool errors: the message says what to fix."""
    try:
        yield
    except (InvalidInput, Forbidden, UnknownUser) as exc:
        raise ToolError(str(exc)) from exc


def _token(ctx: Context, user_id: str | None, default: str | None) -> str | None:
    """The connection's token: the HTTP bearer header, else the server's own (stdio)."""
    if user_id is None:
        return None
    header = (ctx.headers or {}).get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    token = (credentials.strip() if scheme.lower() == "bearer" else "") or default
    if not token:
        raise ToolError(
            f"user '{user_id}' needs its token: start a stdio server with --token (or "
            "MLSD_TOKEN), or send 'Authorization: Bearer <token>' to the HTTP server"
        )
    return token


class _Server(MCPServer):
    """An MCP server whose argument errors read like the API's ("k: must be between ...")."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            problems = "; ".join(
                describe_error({**e, "loc": ("arguments", *e["loc"])})
                for e in exc.__cause__.errors()
            )
            raise ToolError(f"invalid arguments for {name}: {problems}") from exc.__cause__


def build_server(assistant: Assistant, token: str | None = None) -> MCPServer:
    """An MCP server over `assistant`; `token` is the stdio user's (HTTP sends its own)."""
    server = _Server(
        "mlsd-assistant",
        title="MLSD Assistant",
        instructions=INSTRUCTIONS,
        version="0.1.0",
    )

    @server.tool(annotations=_READ_ONLY)
    def search_resources(
        ctx: Context,
        query: Question,
        k: schemas.K = 10,
        kinds: Annotated[tuple[Kind, ...], Field(description="Only these kinds of resource.")] = (),
        user_id: UserId = None,
    ) -> schemas.SearchResponse:
        """Ranked catalog resources for a need, each with the passage that supports it."""
        with _tool_errors():
            result = assistant.search(
                query, k=k, kinds=kinds, user_id=user_id, token=_token(ctx, user_id, token)
            )
        return schemas.SearchResponse(
            results=[schemas.SearchHit.model_validate(hit_view(h)) for h in result.hits],
            query_used=result.parsed.to_dict(),
        )

    @server.tool(annotations=_READ_ONLY)
    def recommend(
        ctx: Context,
        user_id: UserId = None,
        profile: Annotated[
            Profile | None, Field(description="A profile given inline instead of a user.")
        ] = None,
        topic: Annotated[
            str | None, Field(max_length=200, description="A subject; none gives a path.")
        ] = None,
        k: schemas.K = 5,
    ) -> schemas.RecommendResponse:
        """A personalized list for a stored user or an inline profile; with no topic, an
        ordered learning path."""
        if user_id is not None and profile is not None:
            raise ToolError("send either user_id or profile, not both")
        with _tool_errors():
            answer = assistant.recommend(
                profile=profile,
                topic=topic,
                k=k,
                user_id=user_id,
                token=_token(ctx, user_id, token),
            )
        view = answer_view(answer)
        return schemas.RecommendResponse.model_validate(
            {
                "items": [recommendation_view(item, with_score=True) for item in answer.items],
                "answer": view["answer"],
                "citations": view["citations"],
                "query_used": view["query_used"],
            }
        )

    @server.tool(annotations=_READ_ONLY)
    def explain_concept(
        ctx: Context,
        concept: Annotated[
            str, Field(description="An ML system design idea, e.g. 'training-serving skew'.")
        ],
        user_id: UserId = None,
    ) -> schemas.ChatResponse:
        """What a concept is and where to learn it, with numbered citations to sources."""
        # The assistant's explain intent answers it; nothing is stored (no session).
        if not concept.strip():
            raise ToolError("concept is empty: name an idea, e.g. 'feature store'")
        with _tool_errors():
            answer = assistant.ask_in_context(
                [],
                f"what is {concept.strip()}?",
                user_id=user_id,
                token=_token(ctx, user_id, token),
            )
        return schemas.ChatResponse.model_validate(answer_view(answer) | {"session_id": ""})

    @server.tool(annotations=_READ_ONLY)
    def get_resource(
        resource_id: Annotated[schemas.Id, Field(description="A catalog id, e.g. 'feast'.")],
    ) -> schemas.ResourceDetail:
        """One catalog entry: title, authors, URL, level, cost, topics, summary."""
        found = assistant.catalog.get(resource_id)
        if found is None:
            raise ToolError(
                f"unknown resource '{resource_id}'; search_resources finds ids, "
                f"and the resource {CATALOG_URI} lists them all"
            )
        return schemas.ResourceDetail.model_validate(resource_detail_view(found))

    add_catalog(server, assistant)
    return server


def add_catalog(server: MCPServer, assistant: Assistant) -> None:
    """The catalog as MCP resources: an index, and one JSON document per entry."""
    entries = list(assistant.catalog.resources.values())
    index = [
        {"id": r.id, "title": r.title, "kind": r.kind, "uri": RESOURCE_URI.format(id=r.id)}
        for r in entries
    ]
    server.add_resource(
        TextResource(
            uri=CATALOG_URI,
            name="catalog",
            title="MLSD catalog",
            description=f"Every resource in the catalog ({len(entries)}): id, title, kind, URI.",
            mime_type="application/json",
            text=json.dumps(index, ensure_ascii=False),
        )
    )
    for resource in entries:
        server.add_resource(
            TextResource(
                uri=RESOURCE_URI.format(id=resource.id),
                name=resource.id,
                title=resource.title,
                description=f"{resource.kind}, {resource.level}: {resource.best_for}",
                mime_type="application/json",
                text=json.dumps(resource_detail_view(resource), ensure_ascii=False),
            )
        )


def serve_http(server: MCPServer, listener: socket.socket, on_ready: Callable[[], None]) -> None:
    """Streamable HTTP at `/mcp` on an already bound socket; `on_ready` runs once it listens."""
    import uvicorn

    host = listener.getsockname()[0]

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                on_ready()

    # `host` turns on the SDK's DNS-rebinding protection for a loopback address.
    app = server.streamable_http_app(host=host)
    Server(uvicorn.Config(app, log_level="info")).run(sockets=[listener])
