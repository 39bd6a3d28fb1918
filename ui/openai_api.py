"""UI adapter: the assistant as an OpenAI-compatible chat model (`/v1/chat/completions`,
`/v1/models`), for chat front ends and SDKs that speak the OpenAI API.

The conversation is the client's `messages` list: the last user message is the question and
the earlier user messages are replayed, so follow-ups ("any of those free?") work without a
session. `user` names a stored user, whose token is the bearer token (the SDKs' API key);
without `user` the key is ignored. Errors have OpenAI's shape:
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import inspect
import json
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from assistant.compose import Answer
from assistant.errors import InvalidInput
from ui import schemas
from ui.api import AssistantDep, TokenDep, describe_error, require_token
from ui.views import answer_view

MODEL_ID = "mlsd-assistant"
_PIECES = re.compile(r"^\s+|\S+\s*")  # streamed word by word, as /api/chat/stream does

# OpenAI's error `type` for each status its SDKs map to an exception class.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def openai_error(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    """An error as OpenAI's API returns it."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(status_code=status, content=body)


class OpenAIErrorRoute(APIRoute):
    """A route whose errors have OpenAI's shape; the app's handlers decide status and message."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                return openai_error(
                    400,  # OpenAI answers a bad parameter with 400, not 422
                    "; ".join(describe_error(e) for e in errors),
                    code="invalid_value",
                    param=_param(errors[0]) if errors else None,
                )
            except Exception as exc:
                # The app's handler for this error (the API's domain errors, HTTPException,
                # and any that other layers register) gives the status and the message.
                handler = next(
                    (
                        request.app.exception_handlers[cls]
                        for cls in type(exc).__mro__
                        if cls is not Exception and cls in request.app.exception_handlers
                    ),
                    None,
                )
                if handler is None:
                    raise  # unexpected: the app's 500 handler logs it
                response = handler(request, exc)
                if inspect.isawaitable(response):  # handlers may be sync (slowapi's is)
                    response = await response
                error = openai_error(response.status_code, _message(bytes(response.body)))
                for name in ("www-authenticate", "retry-after"):
                    if name in response.headers:
                        error.headers[name] = response.headers[name]
                return error

        return route


def _message(body: bytes) -> str:
    # The API says `detail`; a handler another layer registers may say `error` or plain text.
    try:
        payload = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    if isinstance(payload, dict):
        return str(payload.get("detail") or payload.get("error") or payload)
    return str(payload)


def _param(error: Any) -> str | None:
    # ("body", "messages", 0, "role") -> "messages[0].role"; none for an unreadable body.
    if error.get("type") == "json_invalid":
        return None
    text = ""
    for part in tuple(error.get("loc", ()))[1:]:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


class ContentPart(BaseModel):
    """One part of a message's content; only text parts can be answered."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: not used

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self, index: int) -> str:
        """The message's text; `InvalidInput` for content that is not text (an image...)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        other = sorted({part.type for part in self.content if part.type != "text"})
        if other:
            raise InvalidInput(
                f"messages[{index}].content: only text can be answered, not {', '.join(other)}"
            )
        return "\n".join(part.text or "" for part in self.content)


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request. Its sampling parameters (temperature, max_tokens,
    ...) do not apply to answers composed from evidence: they are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description=f"'{MODEL_ID}' (GET /v1/models lists it).")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation so far.")
    stream: bool = Field(default=False, description="Send chat.completion.chunk events.")
    user: schemas.Id | None = Field(
        default=None, description="A stored user to answer for; the bearer token is theirs."
    )
    n: Annotated[int, Field(description="Only 1 answer per request.")] = 1
    k: schemas.K = 5


class AssistantMessage(BaseModel):
    """The answer: text with Markdown links and numbered citations."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one answer a request gets."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, plus the answer's resources and citations as data."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    sources: list[schemas.AnswerItem]
    citations: list[schemas.CitationOut]


class ErrorBody(BaseModel):
    """What went wrong and what to fix."""

    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    """An error in OpenAI's shape."""

    error: ErrorBody


class ModelCard(BaseModel):
    """A model as /v1/models lists it."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """Every model this server answers as: one, the assistant."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


def unknown_model(name: str) -> JSONResponse:
    """404 for a model this server does not offer, as OpenAI words it."""
    message = f"unknown model '{name}'; this server offers '{MODEL_ID}' (GET /v1/models)"
    return openai_error(404, message, code="model_not_found", param="model")


def conversation(body: ChatCompletionRequest) -> tuple[list[str], str]:
    """The earlier user messages and the question (the last message, which must be the user's).

    The assistant's own earlier answers are not read back: replaying the user's messages gives
    them again (answers are composed from the same index), and system prompts do not apply.
    """
    last = body.messages[-1]
    if last.role != "user":
        raise InvalidInput(
            f"messages[{len(body.messages) - 1}]: the last message must be the user's question, "
            f"not a '{last.role}' message"
        )
    said = [(i, m) for i, m in enumerate(body.messages) if m.role == "user"]
    texts = [m.text(i) for i, m in said]
    return [t for t in texts[:-1] if t.strip()], texts[-1]


def markdown(answer: Answer) -> str:
    """The answer text, then links to the resources it names whose URL it does not show yet
    (the composer links titles itself; a generator's text may not)."""
    links = [
        f"- [{item.resource.title}]({item.resource.url})"
        for item in answer.items
        if item.resource.url and f"({item.resource.url})" not in answer.text
    ]
    return answer.text + ("\n\nLinks:\n" + "\n".join(links) if links else "")


def build_router() -> APIRouter:
    """The `/v1` routes; `created` of the model is when the router was built (server start)."""
    router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIErrorRoute)
    card = ModelCard(id=MODEL_ID, created=int(time.time()), owned_by="mlsd")
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": OpenAIError} for code in (400, 401, 403, 404, 503)
    }

    @router.get("/models", response_model=ModelList, responses=errors)
    def models() -> ModelList:
        """The assistant, as the one model this server offers."""
        return ModelList(data=[card])

    @router.get("/models/{model_id}", response_model=ModelCard, responses=errors)
    def model(model_id: str) -> ModelCard | JSONResponse:
        """One model: the assistant."""
        return card if model_id == MODEL_ID else unknown_model(model_id)

    @router.post(
        "/chat/completions",
        response_model=ChatCompletion,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "A chat.completion, or (stream: true) server-sent "
                "chat.completion.chunk events ending with `data: [DONE]`. Both carry "
                "`sources` and `citations` besides the message.",
            },
            **errors,
        },
    )
    def chat_completions(
        body: ChatCompletionRequest, assistant: AssistantDep, token: TokenDep
    ) -> Response:
        """An answer in OpenAI's chat completion shape, streamed or not."""
        if body.model != MODEL_ID:
            return unknown_model(body.model)
        if body.n != 1:
            raise InvalidInput(f"n: only 1 answer per request, got {body.n}")
        require_token(body.user, token)
        history, question = conversation(body)
        answer = assistant.ask_in_context(
            history, question, user_id=body.user, k=body.k, token=token if body.user else None
        )
        view = answer_view(answer)
        completion = ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=MODEL_ID,
            choices=[Choice(message=AssistantMessage(content=markdown(answer)))],
            sources=view["sources"],
            citations=view["citations"],
        )
        if not body.stream:
            return JSONResponse(completion.model_dump(mode="json"))
        return StreamingResponse(
            _chunks(completion.model_dump(mode="json")),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _chunks(completion: dict[str, Any]) -> Iterator[str]:
    # The answer is complete before the first byte (errors stay plain JSON); it goes out word
    # by word: the role first, then the text, then the finish reason with sources.
    base = {key: completion[key] for key in ("id", "created", "model")}
    extra = {key: completion[key] for key in ("sources", "citations")}

    def event(delta: dict[str, str], finish: str | None = None, **more: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        chunk = base | {"object": "chat.completion.chunk", "choices": [choice]} | more
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in _PIECES.findall(completion["choices"][0]["message"]["content"]):
        yield event({"content": piece})
    yield event({}, "stop", **extra)
    yield "data: [DONE]\n\n"
