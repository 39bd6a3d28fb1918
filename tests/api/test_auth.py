"""Tokens: a user's data needs that user's token, and one user never reaches another's."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.api]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["none", "basic", "empty-bearer"],
)
def test_a_missing_token_is_401_and_says_how_to_send_one(client, make_user, headers) -> None:
    user = make_user()
    response = client.get(f"/api/users/{user.id}/profile", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/chat", {"message": "mlops", "user_id": "{id}"}),
        ("POST", "/api/chat/stream", {"message": "mlops", "user_id": "{id}"}),
        ("POST", "/api/search", {"query": "mlops", "user_id": "{id}"}),
        ("POST", "/api/recommend", {"user_id": "{id}"}),
        ("PUT", "/api/users/{id}/profile", {"level": "advanced"}),
        ("POST", "/api/feedback", {"session_id": "s", "rating": 1, "user_id": "{id}"}),
    ],
)
def test_every_user_route_needs_the_token(client, make_user, method, path, body) -> None:
    user = make_user()
    filled = {k: v.replace("{id}", user.id) if isinstance(v, str) else v for k, v in body.items()}
    response = client.request(method, path.replace("{id}", user.id), json=filled)
    assert response.status_code == 401, response.text


def test_a_wrong_token_is_403(client: httpx.Client, make_user) -> None:
    user = make_user()
    response = client.get(
        f"/api/users/{user.id}/profile", headers={"Authorization": "Bearer not-the-token"}
    )
    assert response.status_code == 403
    assert "does not belong to user" in response.json()["detail"]


def test_one_user_cannot_read_or_write_anothers_profile(client: httpx.Client, make_user) -> None:
    alice = make_user({"level": "advanced", "role": "researcher"})
    bob = make_user()
    path = f"/api/users/{alice.id}/profile"
    assert client.get(path, headers=bob.auth).status_code == 403
    assert client.put(path, json={"level": "beginner"}, headers=bob.auth).status_code == 403
    assert client.get(path, headers=alice.auth).json()["level"] == "advanced"
    # Bob's token with Alice's id anywhere else is refused too.
    for route, body in [
        ("/api/search", {"query": "mlops", "user_id": alice.id}),
        ("/api/chat", {"message": "mlops", "user_id": alice.id}),
        ("/api/recommend", {"user_id": alice.id}),
    ]:
        assert client.post(route, json=body, headers=bob.auth).status_code == 403, route


def test_one_user_cannot_continue_or_rate_anothers_session(client, make_user) -> None:
    alice, bob = make_user(), make_user()
    session = client.post(
        "/api/chat", json={"message": "feature stores", "user_id": alice.id}, headers=alice.auth
    ).json()["session_id"]
    attempts = [
        ("/api/chat", {"message": "more?", "session_id": session, "user_id": bob.id}, bob.auth),
        ("/api/chat", {"message": "more?", "session_id": session}, {}),
        ("/api/chat/stream", {"message": "more?", "session_id": session}, {}),
        ("/api/feedback", {"session_id": session, "rating": -1, "user_id": bob.id}, bob.auth),
        ("/api/feedback", {"session_id": session, "rating": -1}, {}),
    ]
    for route, body, headers in attempts:
        response = client.post(route, json=body, headers=headers)
        assert response.status_code == 403, (route, body, response.text)
        assert "belongs to another user" in response.json()["detail"]
    # Alice herself carries on.
    mine = client.post(
        "/api/chat",
        json={"message": "any of those open source?", "session_id": session, "user_id": alice.id},
        headers=alice.auth,
    )
    assert mine.status_code == 200 and mine.json()["session_id"] == session
