"""UI adapter: the HTTP API (FastAPI), with the Gradio UI mounted on the same server at `/`."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.middleware import SlowAPIMiddleware
from slowapi.util import get_remote_address

from assistant.compose import Answer
from assistant.errors import InvalidInput
from assistant.profiles import Forbidden, Profile, UnknownUser
from assistant.service import Assistant, IndexNotReady, UnknownSessionError, build_assistant
from assistant.settings import Settings
from assistant.storage import StorageUnavailable
from ingest.catalog import KINDS, TOPICS, CatalogError, Cost, Kind, Level, Resource
from ingest.embedding import EmbedderError
from ingest.store import StoreError
from ui import schemas
from ui.guards import RequestGuard
from ui.observability import instrument
from ui.views import answer_view, hit_view, recommendation_view, resource_detail_view


class NotReady(RuntimeError):
    """The assistant is not built (yet); the message says why."""


class Runtime:
    """The app's one assistant, or why there is none yet.

    When the build fails (a Chroma server not up yet, an index not built yet), the server still
    starts, and a request that finds no assistant starts another build in the background, at
    most once every `settings.ready_retry_s` seconds. So a team's API comes up by itself once
    its Chroma server does, without a restart.
    """

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings = settings
        self.assistant = assistant
        self.error: str | None = None
        self._lock = threading.Lock()
        self._building = False
        self._last_attempt = time.monotonic()
        if assistant is None:
            self._build()

    def _build(self) -> None:
        try:
            assistant = build_assistant(self.settings)
        except (IndexNotReady, StoreError, CatalogError, EmbedderError, StorageUnavailable) as exc:
            # Recorded, not raised: the server still runs and /readyz says what is wrong.
            self.error = str(exc)
        else:
            if self.error is not None:  # a retry succeeded: say so where the failure was said
                print(f"ready: {assistant.store.describe()}", file=sys.stderr, flush=True)
            assistant.prepare_in_background()  # the typo index and glossary, after ready
            self.assistant, self.error = assistant, None
        finally:
            with self._lock:
                self._building = False
                self._last_attempt = time.monotonic()

    def _retry_in_background(self) -> None:
        with self._lock:
            due = time.monotonic() - self._last_attempt >= self.settings.ready_retry_s
            if self._building or not due:
                return
            self._building = True
        threading.Thread(target=self._build, name="assistant-build", daemon=True).start()

    def require(self) -> Assistant:
        """The assistant, or `NotReady` with the reason (and another build attempt started)."""
        if self.assistant is None:
            self._retry_in_background()
            raise NotReady(self.error or "the assistant is not available")
        return self.assistant


def get_assistant(request: Request) -> Assistant:
    """FastAPI dependency: the app's assistant (503 while it is not ready)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.require()


_bearer = HTTPBearer(auto_error=False, description="The token POST /api/users returned.")


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """FastAPI dependency: the bearer token, if one was sent."""
    return credentials.credentials if credentials else None


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
TokenDep = Annotated[str | None, Depends(get_token)]


def require_token(user_id: str | None, token: str | None) -> None:
    """401 when a request names a user but carries no token (authentication before access)."""
    if user_id is not None and not token:
        raise HTTPException(
            status_code=401,
            detail=(
                f"user '{user_id}' needs its token: send the header "
                "'Authorization: Bearer <token>' with the token POST /api/users returned"
            ),
            headers={"WWW-Authenticate": "Bearer"},
        )


# -- errors ------------------------------------------------------------------------------------

_ERROR_STATUS: dict[type[Exception], int] = {
    InvalidInput: 400,
    UnknownSessionError: 404,
    Forbidden: 403,
    UnknownUser: 404,
    IndexNotReady: 503,
    StoreError: 503,
    NotReady: 503,
    StorageUnavailable: 503,
}


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error that quotes what a client sent (a lone surrogate
    included) still renders, where the UTF-8 encoding of the default would fail."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def unavailable(request: Request, detail: str, **extra: str) -> SafeJSONResponse:
    """503 with the reason and when to try again (`MLSD_RETRY_AFTER_S`)."""
    retry = str(request.app.state.runtime.settings.retry_after_s)
    return SafeJSONResponse(
        {**extra, "detail": detail}, status_code=503, headers={"Retry-After": retry}
    )


def _location(loc: tuple[Any, ...]) -> str:
    # ("body", "kinds", 0) -> "kinds[0]": the field as a client wrote it. A repeated query
    # parameter is written `?kind=a&kind=b`, so its index means nothing to the client.
    text = ""
    for part in loc[1:]:
        if isinstance(part, int) and loc[0] == "query":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_error(error: Any) -> str:
    """One validation error as a sentence that says what to fix."""
    where = _location(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        return f"the body is not valid JSON ({ctx.get('error', 'cannot parse it')})"
    if kind == "missing":
        return f"{where}: required" if where else "the body is missing: send a JSON object"
    if kind == "extra_forbidden":
        return f"{where}: unknown field (see /openapi.json for the fields)"
    if not where and kind in ("model_attributes_type", "dict_type", "model_type"):
        return "the body must be a JSON object (Content-Type: application/json)"
    if kind == "literal_error":
        return f"{where}: {error.get('input')!r} is not allowed; use {ctx.get('expected')}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    message = f"{message[:1].lower()}{message[1:]}"
    # A whole-body check names its field in the message itself.
    return f"{where}: {message}" if where else message


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return SafeJSONResponse(
        status_code=422,
        content={
            "detail": "; ".join(describe_error(e) for e in errors),
            "errors": [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in errors],
        },
    )


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    # The most specific class wins: an unknown session is an InvalidInput, but a 404.
    status = next(_ERROR_STATUS[cls] for cls in type(exc).__mro__ if cls in _ERROR_STATUS)
    if status == 503:
        return unavailable(request, str(exc))
    return SafeJSONResponse(status_code=status, content={"detail": str(exc)})


def _rate_limited(request: Request, exc: Exception) -> Response:
    # Synchronous: SlowAPIMiddleware calls only a sync handler (else it uses its own).
    assert isinstance(exc, RateLimitExceeded)
    detail = f"too many requests: the limit is {exc.detail} per client (MLSD_RATE_LIMIT)"
    # When the window that was hit frees a request (slowapi would add Retry-After to every
    # response, so its headers stay off and this one is computed here).
    limiter: Limiter = request.app.state.limiter
    limit, key = request.state.view_rate_limit
    reset_at, _ = limiter.limiter.get_window_stats(limit, *key)
    retry = max(1, math.ceil(reset_at - time.time()))
    return SafeJSONResponse(
        {"detail": detail}, status_code=429, headers={"Retry-After": str(retry)}
    )


# -- the app -----------------------------------------------------------------------------------

_TOKEN_PIECES = re.compile(r"^\s+|\S+\s*")


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _answer_events(events: Iterator[str | Answer]) -> Iterator[str]:
    # Input is checked and the answer composed before the first byte is sent (so errors are
    # plain 4xx JSON). With an LLM, `token` events carry its tokens as they arrive; the `final`
    # answer is authoritative (the composed one if the LLM's failed the checks). A composed
    # answer is sent in word pieces at once, for clients that render tokens.
    streamed = False
    for event in events:
        if isinstance(event, str):
            streamed = True
            yield _sse("token", {"text": event})
            continue
        view = schemas.ChatResponse.model_validate(answer_view(event)).model_dump(mode="json")
        if not streamed:
            for piece in _TOKEN_PIECES.findall(view["answer"]):
                yield _sse("token", {"text": piece})
        yield _sse("final", view)


def _matches(resource: Resource, words: list[str]) -> bool:
    text = " ".join(
        (resource.title, *resource.aliases, *resource.authors, resource.summary, resource.best_for)
    ).lower()
    return all(word in text for word in words)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.Problem} for code in (400, 401, 403, 404, 413, 422, 429, 503)
}
# Routes where a token is optional: anonymous use works, a token personalizes. OpenAPI lists
# "no security" next to the bearer scheme (FastAPI appends this to the scheme it adds).
OPTIONAL_TOKEN: dict[str, Any] = {"security": [{}]}


def create_app(
    settings: Settings, assistant: Assistant | None = None, *, ui: bool = True
) -> FastAPI:
    """The API app, with the Gradio UI at `/` unless `ui=False`.

    The assistant is built here, once (unless one is passed in), not in a lifespan hook: the
    Gradio UI is laid out from it (the catalog fills the Browse tab), in the background once
    the server is up (see `mount_ui`).
    """
    runtime = Runtime(settings, assistant)
    app = FastAPI(
        title="MLSD Assistant",
        version="0.1.0",
        summary="Resources for learning ML system design: search, chat, recommendations.",
        docs_url=None,  # served below from local assets: /docs works without a network
        redoc_url=None,
    )
    add_offline_docs(app)
    app.state.runtime = runtime
    app.add_exception_handler(RequestValidationError, _validation_error)
    for error in _ERROR_STATUS:
        app.add_exception_handler(error, _domain_error)
    # Per client address, over all API routes together; /healthz, /readyz, /metrics and the
    # UI are exempt (the UI calls the assistant in-process, not through these routes).
    limiter = Limiter(
        key_func=get_remote_address,
        application_limits=[settings.rate_limit],
    )
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limited)
    # Middleware runs outermost-last-added: metrics see every answer, the guard's included.
    # The BaseHTTPMiddleware variant: slowapi's pure-ASGI one (0.1.10) sends the response
    # start again before every body chunk, which breaks streamed answers.
    app.add_middleware(SlowAPIMiddleware)
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        api=app,
    )

    def index_size() -> int:
        return len(runtime.assistant.retriever.chunks) if runtime.assistant else 0

    def catalog_size() -> int:
        return len(runtime.assistant.catalog.resources) if runtime.assistant else 0

    instrument(app, index_size, catalog_size)

    @app.get("/healthz", response_model=schemas.Health, tags=["ops"])
    @limiter.exempt
    def healthz() -> schemas.Health:
        """Liveness: the process answers."""
        return schemas.Health()

    @app.get("/readyz", response_model=schemas.Ready, responses=ERRORS, tags=["ops"])
    @limiter.exempt
    def readyz(request: Request) -> schemas.Ready | JSONResponse:
        """Readiness: the index is loaded and the store and database answer (503 if not)."""
        try:
            ready = runtime.require()
            ready.refresh()  # readiness reports the index version being served
            # Only the Chroma adapter can ping; a store without `ping` is in-process.
            ping = getattr(ready.store, "ping", None)
            if ping is not None:
                ping()
            ready.storage.ping()
        except (NotReady, StoreError, StorageUnavailable) as exc:
            return unavailable(request, str(exc), status="not ready")
        return schemas.Ready(
            store=ready.store.describe(),
            chunks=ready.retriever.size,
            resources=len(ready.catalog.resources),
            documents=len(ready.retriever.documents),
            index_version=ready.index_version,
        )

    @app.post(
        "/api/search",
        response_model=schemas.SearchResponse,
        responses=ERRORS,
        openapi_extra=OPTIONAL_TOKEN,
    )
    def search(
        body: schemas.SearchRequest, assistant: AssistantDep, token: TokenDep
    ) -> dict[str, Any]:
        """Ranked resources for a query."""
        require_token(body.user_id, token)
        result = assistant.search(
            body.query, k=body.k, kinds=tuple(body.kinds), user_id=body.user_id, token=token
        )
        return {
            "results": [hit_view(hit) for hit in result.hits],
            "query_used": result.parsed.to_dict(),
        }

    def ask(body: schemas.ChatRequest, assistant: Assistant, token: str | None) -> dict[str, Any]:
        require_token(body.user_id, token)
        answer = assistant.ask(
            body.message, session_id=body.session_id, user_id=body.user_id, k=body.k, token=token
        )
        return answer_view(answer)

    @app.post(
        "/api/chat",
        response_model=schemas.ChatResponse,
        responses=ERRORS,
        openapi_extra=OPTIONAL_TOKEN,
    )
    def chat(body: schemas.ChatRequest, assistant: AssistantDep, token: TokenDep) -> dict[str, Any]:
        """One conversational turn; send the returned session_id back to follow up."""
        return ask(body, assistant, token)

    @app.post(
        "/api/chat/stream",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "`token` events with the answer text in pieces, then one "
                "`final` event with the whole answer (the /api/chat response body).",
            },
            **ERRORS,
        },
        openapi_extra=OPTIONAL_TOKEN,
    )
    def chat_stream(
        body: schemas.ChatRequest, assistant: AssistantDep, token: TokenDep
    ) -> StreamingResponse:
        """One conversational turn as server-sent events."""
        require_token(body.user_id, token)
        events = assistant.ask_stream(
            body.message, session_id=body.session_id, user_id=body.user_id, k=body.k, token=token
        )
        return StreamingResponse(
            _answer_events(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post(
        "/api/recommend",
        response_model=schemas.RecommendResponse,
        responses=ERRORS,
        openapi_extra=OPTIONAL_TOKEN,
    )
    def recommend(
        body: schemas.RecommendRequest, assistant: AssistantDep, token: TokenDep
    ) -> dict[str, Any]:
        """A personalized list for a stored user (token) or an inline profile."""
        if body.user_id is not None and body.profile is not None:
            raise InvalidInput("send either user_id or profile, not both")
        require_token(body.user_id, token)
        answer = assistant.recommend(
            profile=body.profile, topic=body.topic, k=body.k, user_id=body.user_id, token=token
        )
        view = answer_view(answer)
        return {
            "items": [recommendation_view(item, with_score=True) for item in answer.items],
            "answer": view["answer"],
            "citations": view["citations"],
            "query_used": view["query_used"],
        }

    @app.get("/api/resources", response_model=schemas.ResourceList, responses=ERRORS)
    def resources(
        assistant: AssistantDep,
        kind: Annotated[
            list[Kind] | None, Query(max_length=len(KINDS), description="Only these kinds.")
        ] = None,
        topic: Annotated[str | None, Query(description="Only resources on this topic.")] = None,
        level: Level | None = None,
        cost: Cost | None = None,
        q: Annotated[str | None, Query(max_length=200, description="Words to find.")] = None,
    ) -> dict[str, Any]:
        """The catalog, filtered."""
        if topic is not None and topic not in TOPICS:
            raise InvalidInput(f"topic: unknown topic '{topic}'; use one of: {', '.join(TOPICS)}")
        words = (q or "").lower().split()
        found = [
            r
            for r in assistant.catalog.resources.values()
            if (not kind or r.kind in kind)
            and (topic is None or topic in r.topics)
            and (level is None or r.level == level)
            and (cost is None or r.cost == cost)
            and _matches(r, words)
        ]
        return {"total": len(found), "items": [resource_detail_view(r) for r in found]}

    @app.get(
        "/api/resources/{resource_id}", response_model=schemas.ResourceDetail, responses=ERRORS
    )
    def resource(resource_id: str, assistant: AssistantDep) -> dict[str, Any]:
        """One catalog entry."""
        found = assistant.catalog.get(resource_id)
        if found is None:
            raise HTTPException(
                404, f"unknown resource '{resource_id}'; GET /api/resources lists them"
            )
        return resource_detail_view(found)

    @app.post("/api/users", response_model=schemas.NewUser, status_code=201, responses=ERRORS)
    def create_user(
        assistant: AssistantDep, body: schemas.NewUserRequest | None = None
    ) -> schemas.NewUser:
        """A new user; keep the token, it is shown only once."""
        user = assistant.create_user(body.profile if body else None)
        return schemas.NewUser(user_id=user.user_id, token=user.token)

    @app.get("/api/users/{user_id}/profile", response_model=Profile, responses=ERRORS)
    def get_profile(user_id: str, assistant: AssistantDep, token: TokenDep) -> Profile:
        """A user's profile (their token only)."""
        require_token(user_id, token)
        return assistant.get_profile(user_id, token)

    @app.put("/api/users/{user_id}/profile", response_model=Profile, responses=ERRORS)
    def put_profile(
        user_id: str, profile: schemas.ProfileIn, assistant: AssistantDep, token: TokenDep
    ) -> Profile:
        """Replace a user's profile (their token only)."""
        require_token(user_id, token)
        return assistant.set_profile(user_id, token, profile)

    @app.post(
        "/api/feedback",
        response_model=schemas.FeedbackOut,
        status_code=201,
        responses=ERRORS,
        openapi_extra=OPTIONAL_TOKEN,
    )
    def feedback(
        body: schemas.FeedbackRequest, assistant: AssistantDep, token: TokenDep
    ) -> schemas.FeedbackOut:
        """Thumbs up (1) or down (-1) on a session's latest answer or one of its resources."""
        require_token(body.user_id, token)
        feedback_id = assistant.record_feedback(
            body.session_id,
            body.rating,
            resource_id=body.resource_id,
            user_id=body.user_id,
            token=token,
        )
        return schemas.FeedbackOut(id=feedback_id)

    # Issue 15: OpenAI-compatible routes; imported here because they build on this module.
    from ui.openai_api import build_router

    app.include_router(build_router())

    if not ui:
        return app
    if runtime.assistant is None:

        @app.get("/", include_in_schema=False)
        def no_ui() -> JSONResponse:
            if runtime.assistant is not None:  # became ready after start-up
                detail = (
                    "the API is ready, but the web UI is laid out at start-up: "
                    "restart `mlsd serve` to get it"
                )
            else:
                detail = runtime.error or "the assistant is not available"
            return JSONResponse({"detail": detail}, status_code=503)

        return app
    return mount_ui(app, runtime.assistant, settings)


# Swagger UI and ReDoc assets from the `fastapi-offline` wheel (MIT; it vendors swagger-ui-dist
# and redoc's standalone bundle), so the API docs never load from a CDN.
DOCS_ASSETS = "/docs-assets"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # in the bundle's attribution footer


def add_offline_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` (ReDoc) from locally installed assets."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    static = files("fastapi_offline") / "static"
    # ReDoc's bundle shows Redocly's logo from their CDN (no option turns it off): served with
    # the logo pointed at the local favicon instead, read once.
    redoc_js = (static / "redoc.standalone.js").read_text(encoding="utf-8")
    redoc_js = redoc_js.replace(REDOC_LOGO, f"{DOCS_ASSETS}/favicon.png")

    @app.get(f"{DOCS_ASSETS}/redoc.standalone.js", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(redoc_js, media_type="text/javascript")

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    # The pages may load only from this server. Inline scripts start the viewers; ReDoc runs a
    # worker from a blob.
    local_only = {
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
        "worker-src 'self' blob:"
    }

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _with_headers(
            get_swagger_ui_html(
                openapi_url=str(app.openapi_url),
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            ),
            local_only,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_headers(
            get_redoc_html(
                openapi_url=str(app.openapi_url),
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            ),
            local_only,
        )


def _with_headers(response: HTMLResponse, headers: dict[str, str]) -> HTMLResponse:
    response.headers.update(headers)
    return response


def mount_ui(app: FastAPI, assistant: Assistant, settings: Settings) -> FastAPI:
    """Mount the Gradio UI at `/`, behind the API routes (they are matched first).

    The UI is laid out in a worker thread (issue 16): importing Gradio alone takes seconds and
    about 90 MB the API does not need. It is built on the first request for it, or once the
    server is up with `MLSD_UI_AT_START`; a request for the UI waits until it is ready.
    """
    return mount_lazily(app, lambda: gradio_app(assistant, settings), settings.ui_at_start)


def mount_lazily(app: FastAPI, build: Callable[[], FastAPI], at_start: bool = True) -> FastAPI:
    """Mount at `/` the app `build()` returns, built in a worker thread once `app` starts (or
    on the first request for it, when not `at_start`)."""
    lazy = LazyUI(build)
    inner_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner_lifespan(app) as state:
            if at_start:
                lazy.start()
            try:
                yield state
            finally:
                await lazy.stop()

    app.router.lifespan_context = lifespan
    app.mount("/", lazy)
    return app


def gradio_app(assistant: Assistant, settings: Settings) -> FastAPI:
    """The Gradio UI as an ASGI app of its own (Gradio's start-up events in its lifespan)."""
    # Gradio reads this when imported; the CLI sets it too, but not every caller is the CLI.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio

    from ui.web import build_ui

    return gradio.mount_gradio_app(
        FastAPI(), build_ui(assistant, settings), path="/", ssr_mode=False, mcp_server=False
    )


class LazyUI:
    """An ASGI app that builds another in a worker thread, runs its lifespan, then serves it;
    requests that come earlier wait for it (a 503 with the reason if the build failed)."""

    def __init__(self, build: Callable[[], FastAPI]) -> None:
        self._build = build
        self._app: FastAPI | None = None
        self._error: str | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start building (once), in the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            built = await asyncio.to_thread(self._build)
            # Entered and left in this one task, as Gradio's lifespan requires.
            async with built.router.lifespan_context(built):
                self._app = built
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:  # the API keeps serving; `/` says what broke
            self._error = f"the web UI failed to start ({type(exc).__name__}: {exc})"
            print(f"error: {self._error}", file=sys.stderr, flush=True)
        finally:
            self._ready.set()

    async def stop(self) -> None:
        """End the inner app's lifespan (at server shutdown)."""
        self._stop.set()
        if self._task is not None:
            await self._task

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.start()  # a server run without lifespan events still gets its UI
        await self._ready.wait()
        if self._app is None:
            detail = self._error or "the web UI stopped"
            await JSONResponse({"detail": detail}, status_code=503)(scope, receive, send)
            return
        await self._app(scope, receive, send)
