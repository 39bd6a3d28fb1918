"""Bad input gets a 4xx whose `detail` says what to fix, and nothing is half-written."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.api]


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("/api/chat", {"message": ""}, 422, "message: is empty"),
        ("/api/chat", {"message": "   \n "}, 422, "message: is empty"),
        ("/api/chat", {"message": "\u200b\u200b\ufeff"}, 422, "message: is empty"),
        ("/api/chat", {"message": "\udc00 mlops"}, 422, "message contains an unpaired surrogate"),
        ("/api/chat/stream", {"message": "\ud800"}, 422, "message contains an unpaired surro"),
        ("/api/search", {"query": "\udc00 mlops"}, 422, "query contains an unpaired surrogate"),
        ("/api/users", {"profile": {"role": "\ud800"}}, 422, "profile.role contains an unpai"),
        ("/api/search", {"query": "mlops", "k": True}, 422, "k: input should be a valid integer"),
        ("/api/search", {"query": "mlops", "k": "5"}, 422, "k: input should be a valid integer"),
        ("/api/feedback", {"session_id": "s", "rating": True}, 422, "rating: must be 1 or -1"),
        ("/api/search", {"query": "x", "kinds": ["book"] * 11}, 422, "kinds: list should have at"),
        ("/api/chat", {"message": "x" * 2001}, 400, "2001 characters; the limit is 2000"),
        ("/api/search", {"query": ""}, 422, "query: is empty"),
        ("/api/search", {"query": "mlops", "k": 0}, 422, "k: must be between 1 and 50, got 0"),
        ("/api/search", {"query": "mlops", "k": 51}, 422, "k: must be between 1 and 50, got 51"),
        ("/api/chat", {"message": "mlops", "k": 99}, 422, "k: must be between 1 and 50"),
        ("/api/recommend", {"k": 0}, 422, "k: must be between 1 and 50"),
        ("/api/search", {"query": "mlops", "k": "many"}, 422, "k: input should be a valid integer"),
        (
            "/api/search",
            {"query": "x", "kinds": ["video"]},
            422,
            "kinds[0]: 'video' is not allowed",
        ),
        ("/api/search", {"qeury": "mlops"}, 422, "query: required; qeury: unknown field"),
        ("/api/chat", {"message": "hi", "session_id": "nope"}, 404, "unknown session 'nope'"),
        ("/api/feedback", {"session_id": "nope", "rating": 1}, 404, "unknown session 'nope'"),
        ("/api/feedback", {"session_id": "s", "rating": 5}, 422, "rating: 5 is not allowed"),
        ("/api/recommend", {"profile": {"level": "guru"}}, 422, "profile.level: 'guru' is not"),
        ("/api/recommend", {"profile": {"role": "wizard"}}, 422, "unknown role 'wizard'"),
        ("/api/recommend", {"profile": {"formats": ["videos"]}}, 422, "unknown format(s)"),
        (
            "/api/recommend",
            {"profile": {"already_read": ["no-such-thing"]}},
            400,
            "unknown resource id(s) ['no-such-thing']",
        ),
        (
            "/api/recommend",
            {"user_id": "u", "profile": {}},
            400,
            "either user_id or profile",
        ),
    ],
)
def test_bad_body(client: httpx.Client, path: str, body: dict, status: int, detail: str) -> None:
    # json.dumps escapes non-ASCII, so a lone surrogate travels as the JSON escape a client
    # would send (httpx's json= encodes UTF-8, which cannot hold one).
    response = client.post(
        path, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_the_kinds_message_lists_what_is_allowed(client: httpx.Client) -> None:
    detail = client.post("/api/search", json={"query": "x", "kinds": ["video"]}).json()["detail"]
    assert "'book'" in detail and "'platform'" in detail


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b'{"query": "feature stores"', "the body is not valid JSON"),
        (b"", "the body is missing"),
        (b'["feature stores"]', "the body must be a JSON object"),
    ],
)
def test_malformed_json(client: httpx.Client, content: bytes, detail: str) -> None:
    response = client.post(
        "/api/search", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


def test_a_body_that_is_not_json(client: httpx.Client) -> None:
    response = client.post("/api/chat", content=b"hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"kind": "video"}, 422, "kind: 'video' is not allowed"),
        ({"level": "guru"}, 422, "level: 'guru' is not allowed"),
        ({"cost": "cheap"}, 422, "cost: 'cheap' is not allowed"),
        ({"topic": "cooking"}, 400, "unknown topic 'cooking'; use one of: feature-stores"),
        ({"q": "x" * 201}, 422, "q: string should have at most 200 characters"),
        ({"kind": ["book"] * 11}, 422, "kind: list should have at most 10 items"),
    ],
)
def test_bad_resource_filters(client: httpx.Client, params, status, detail) -> None:
    response = client.get("/api/resources", params=params)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_unknown_resource(client: httpx.Client) -> None:
    response = client.get("/api/resources/no-such-thing")
    assert response.status_code == 404
    assert (
        response.json()["detail"]
        == "unknown resource 'no-such-thing'; GET /api/resources lists them"
    )


def test_unknown_user(client: httpx.Client, make_user) -> None:
    someone = make_user()
    response = client.get("/api/users/nobody/profile", headers=someone.auth)
    assert response.status_code == 404
    assert "unknown user 'nobody'" in response.json()["detail"]
    chat = client.post(
        "/api/chat", json={"message": "mlops", "user_id": "nobody"}, headers=someone.auth
    )
    assert chat.status_code == 404


def test_an_invalid_profile_changes_nothing(client: httpx.Client, make_user) -> None:
    user = make_user({"level": "beginner", "already_read": ["feast"]})
    before = client.get(f"/api/users/{user.id}/profile", headers=user.auth).json()
    for bad in (
        {"level": "advanced", "already_read": ["feast", "no-such-thing"]},
        {"level": "advanced", "budget": "cheap"},
        {"level": "advanced", "favourite_colour": "blue"},
    ):
        response = client.put(f"/api/users/{user.id}/profile", json=bad, headers=user.auth)
        assert response.status_code in (400, 422), response.text
    assert client.get(f"/api/users/{user.id}/profile", headers=user.auth).json() == before


def test_a_rejected_turn_leaves_the_session_as_it_was(client: httpx.Client) -> None:
    question = {"message": "what should I read for feature stores?"}
    first = client.post("/api/chat", json=question).json()
    session = first["session_id"]
    rejected = client.post("/api/chat", json={"message": "", "session_id": session})
    assert rejected.status_code == 422
    # The follow-up still refers to the first answer: the rejected turn was never stored.
    follow = client.post(
        "/api/chat", json={"message": "any of those open source?", "session_id": session}
    ).json()
    assert {s["id"] for s in follow["sources"]} <= {s["id"] for s in first["sources"]}
