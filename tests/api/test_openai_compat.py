"""/v1/chat/completions and /v1/models through the real clients (the `openai` SDK and
LangChain's ChatOpenAI) against `mlsd serve`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

pytestmark = [pytest.mark.integration, pytest.mark.api]

MODEL = "mlsd-assistant"
FEATURE_STORES = "what should I read for feature stores?"


@pytest.fixture
def sdk(api_server: Any) -> openai.OpenAI:
    """The `openai` SDK pointed at the server; no user, so the key is not checked."""
    return openai.OpenAI(base_url=f"{api_server.url}v1", api_key="unused", max_retries=0)


@pytest.fixture
def chat_model(api_server: Any) -> ChatOpenAI:
    """LangChain's ChatOpenAI pointed at the server."""
    return ChatOpenAI(base_url=f"{api_server.url}v1", api_key="unused", model=MODEL, max_retries=0)


def test_models_lists_the_assistant(sdk: openai.OpenAI, client: httpx.Client) -> None:
    assert [model.id for model in sdk.models.list()] == [MODEL]
    assert sdk.models.retrieve(MODEL).owned_by == "mlsd"
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/v1/chat/completions"] and "get" in paths["/v1/models"]


def test_completion_carries_sources_and_citations(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": FEATURE_STORES}]
    )
    content = completion.choices[0].message.content or ""
    sources, citations = completion.model_extra["sources"], completion.model_extra["citations"]
    assert completion.choices[0].finish_reason == "stop"
    # Reading material leads a "what should I read" answer (issue 13); the tool is still there.
    assert "feast" in [source["id"] for source in sources]
    assert all(source["title"] in content for source in sources)
    assert citations and all(f"[{c['number']}]" in content for c in citations)
    linked = [s for s in sources if s["url"]]
    assert all(f"]({s['url']})" in content for s in linked)  # Markdown links where URLs exist


def test_links_every_resource_that_has_a_url(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "courses on deploying and monitoring models"}],
    )
    content = completion.choices[0].message.content or ""
    linked = [s for s in completion.model_extra["sources"] if s["url"]]
    assert linked, "expected at least one resource with a URL for this question"
    assert all(f"[{s['title']}]({s['url']})" in content for s in linked)


def test_follow_up_from_the_messages_list(sdk: openai.OpenAI) -> None:
    first = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": FEATURE_STORES}]
    )
    follow = sdk.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": FEATURE_STORES},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": [{"type": "text", "text": "any of those open source?"}]},
        ],
    )
    before = {s["id"] for s in first.model_extra["sources"]}
    after = follow.model_extra["sources"]
    # "those" are the first answer's resources: a narrower list, all open source.
    assert after and {s["id"] for s in after} < before
    assert all(s["open_source"] for s in after)


def test_streaming_matches_the_whole_answer(sdk: openai.OpenAI, client: httpx.Client) -> None:
    messages = [{"role": "user", "content": "books on model serving"}]
    whole = sdk.chat.completions.create(model=MODEL, messages=messages)
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=messages, stream=True))
    assert len(chunks) > 10  # word by word, not one blob
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["sources"] == whole.model_extra["sources"]
    raw = client.post(
        "/v1/chat/completions", json={"model": MODEL, "messages": messages, "stream": True}
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in raw.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    assert {json.loads(e)["object"] for e in events[:-1]} == {"chat.completion.chunk"}


def test_langchain_chat_openai_invoke_stream_and_follow_up(chat_model: ChatOpenAI) -> None:
    first = chat_model.invoke(FEATURE_STORES)
    assert "Feast" in str(first.content)
    follow = chat_model.invoke(
        [("user", FEATURE_STORES), ("assistant", str(first.content)), ("user", "which are free?")]
    )
    assert str(follow.content).startswith("Of those")  # narrowed the earlier answer
    pieces = list(chat_model.stream("books on model serving"))
    streamed = "".join(str(piece.content) for piece in pieces)
    assert len(pieces) > 10 and streamed == chat_model.invoke("books on model serving").content


def test_a_user_gets_their_own_answer(sdk: openai.OpenAI, api_server: Any, make_user: Any) -> None:
    user = make_user({"already_read": ["feast"]})
    theirs = openai.OpenAI(base_url=f"{api_server.url}v1", api_key=user.token, max_retries=0)
    messages = [{"role": "user", "content": FEATURE_STORES}]
    anonymous = sdk.chat.completions.create(model=MODEL, messages=messages)
    personal = theirs.chat.completions.create(model=MODEL, messages=messages, user=user.id)
    assert "feast" in {s["id"] for s in anonymous.model_extra["sources"]}
    assert "feast" not in {s["id"] for s in personal.model_extra["sources"]}  # already read
    with pytest.raises(openai.PermissionDeniedError) as denied:
        sdk.chat.completions.create(model=MODEL, messages=messages, user=user.id)
    assert denied.value.body["type"] == "permission_error"


@pytest.mark.parametrize(
    ("request_body", "error", "says"),
    [
        ({"model": "gpt-4o"}, openai.NotFoundError, "unknown model 'gpt-4o'"),
        ({"messages": []}, openai.BadRequestError, "messages: list should have at least 1"),
        ({"messages": [{"role": "user", "content": " "}]}, openai.BadRequestError, "empty"),
        (
            {"messages": [{"role": "user", "content": "x" * 2001}]},
            openai.BadRequestError,
            "the limit is 2000",
        ),
        (
            {"messages": [{"role": "assistant", "content": "hi"}]},
            openai.BadRequestError,
            "the last message must be the user's question",
        ),
        (
            {"messages": [{"role": "bot", "content": "hi"}]},
            openai.BadRequestError,
            "messages[0].role: 'bot' is not allowed",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
                ]
            },
            openai.BadRequestError,
            "only text can be answered, not image_url",
        ),
        ({"n": 2}, openai.BadRequestError, "n: only 1 answer per request"),
        ({"extra_body": {"k": 0}}, openai.BadRequestError, "k: must be between 1 and 50"),
        ({"user": "nobody"}, openai.NotFoundError, "unknown user 'nobody'"),
    ],
)
def test_bad_input_gets_an_openai_error(
    sdk: openai.OpenAI, request_body: dict[str, object], error: type[Exception], says: str
) -> None:
    arguments: dict[str, object] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": FEATURE_STORES}],
    } | request_body
    with pytest.raises(error) as raised:
        sdk.chat.completions.create(**arguments)  # type: ignore[call-overload]
    body = raised.value.body  # type: ignore[attr-defined]
    assert says in body["message"]
    assert body["type"] in {"invalid_request_error", "not_found_error"}


def test_bad_input_through_langchain(chat_model: ChatOpenAI, client: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError, match="the message is empty"):
        chat_model.invoke("   ")
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        chat_model.model_copy(update={"model_name": "gpt-4o"}).invoke("feature stores")
    # No token for a named user: 401 in OpenAI's shape, with the header that asks for one.
    response = client.post(
        "/v1/chat/completions",
        json={"model": MODEL, "user": "u1", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["type"] == "authentication_error"
    assert client.post("/v1/chat/completions", content=b"{not json").json()["error"]["message"]
