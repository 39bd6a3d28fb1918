"""Every route's happy path, over HTTP against `mlsd serve`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.api]

RESOURCE_FIELDS = {"id", "title", "kind", "url", "authors"}
REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """Server-sent events as (event, data) pairs, in order."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_health_ready_and_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["resources"] == 92 and ready.json()["chunks"] > 100
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/search", "post"),
        ("/api/chat", "post"),
        ("/api/chat/stream", "post"),
        ("/api/recommend", "post"),
        ("/api/resources", "get"),
        ("/api/resources/{resource_id}", "get"),
        ("/api/users", "post"),
        ("/api/users/{user_id}/profile", "get"),
        ("/api/users/{user_id}/profile", "put"),
        ("/api/feedback", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths[path], path


def test_search_ranks_resources_with_evidence(client: httpx.Client) -> None:
    response = client.post("/api/search", json={"query": "open source feature store", "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["results"][0]["id"] == "feast"
    assert len(body["results"]) == 5
    for hit in body["results"]:
        assert hit.keys() >= RESOURCE_FIELDS
        assert hit["score"] > 0 and hit["snippet"] and hit["source"]["title"]
    assert "feature-stores" in body["query_used"]["topics"]


def test_search_kinds_filter(client: httpx.Client) -> None:
    body = client.post("/api/search", json={"query": "MLOps", "kinds": ["book"], "k": 5}).json()
    assert body["results"] and {hit["kind"] for hit in body["results"]} == {"book"}


def test_chat_then_follow_up_in_the_same_session(client: httpx.Client) -> None:
    first = client.post("/api/chat", json={"message": "what should I read for feature stores?"})
    assert first.status_code == 200
    answer = first.json()
    assert answer["session_id"] and answer["intent"] == "recommend"
    assert answer["sources"] and all(s.keys() >= RESOURCE_FIELDS for s in answer["sources"])
    assert answer["citations"] and answer["query_used"]["topics"] == ["feature-stores"]
    assert answer["sources"][0]["title"] in answer["answer"]

    follow = client.post(
        "/api/chat",
        json={"message": "any of those open source?", "session_id": answer["session_id"]},
    ).json()
    assert follow["session_id"] == answer["session_id"]
    before = {s["id"] for s in answer["sources"]}
    assert follow["sources"] and {s["id"] for s in follow["sources"]} <= before
    assert all(s["open_source"] for s in follow["sources"])


def test_chat_stream_sends_tokens_then_the_final_answer(client: httpx.Client) -> None:
    with client.stream("POST", "/api/chat/stream", json={"message": "a free course on MLOps"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode("utf-8"))
    kinds = [event for event, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"token"} and len(kinds) > 10
    final = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]
    assert final["sources"] and {s["kind"] for s in final["sources"]} == {"course"}
    assert all(s.keys() >= RESOURCE_FIELDS for s in final["sources"])
    assert final["citations"] and final["query_used"]["free_only"] is True
    # The streamed turn is stored: the session continues over the plain endpoint.
    follow = client.post(
        "/api/chat",
        json={"message": "any of those open source?", "session_id": final["session_id"]},
    )
    assert follow.status_code == 200


def test_recommend_for_an_inline_profile(client: httpx.Client) -> None:
    body = client.post(
        "/api/recommend", json={"profile": {"role": "sre", "budget": "free"}, "k": 4}
    ).json()
    assert len(body["items"]) == 4
    for item in body["items"]:
        assert item.keys() >= RESOURCE_FIELDS and item["reason"]
        assert item["cost"] in ("free", "freemium")  # freemium fits a free budget
    assert body["answer"]


def test_recommend_for_a_stored_user_skips_what_they_read(client, make_user) -> None:
    user = make_user({"level": "beginner", "already_read": ["designing-machine-learning-systems"]})
    response = client.post(
        "/api/recommend", json={"user_id": user.id, "topic": "ML system design"}, headers=user.auth
    )
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["items"]]
    assert ids and "designing-machine-learning-systems" not in ids


def test_search_and_chat_for_a_user(client, make_user) -> None:
    user = make_user({"formats": ["course"]})
    search = client.post(
        "/api/search", json={"query": "MLOps", "user_id": user.id}, headers=user.auth
    )
    assert search.status_code == 200 and search.json()["results"]
    chat = client.post(
        "/api/chat", json={"message": "MLOps resources", "user_id": user.id}, headers=user.auth
    )
    assert chat.status_code == 200 and chat.json()["sources"]


def test_resources_filters(client: httpx.Client) -> None:
    everything = client.get("/api/resources").json()
    assert everything["total"] == len(everything["items"]) == 92
    books = client.get("/api/resources", params={"kind": "book", "level": "beginner"}).json()
    assert books["total"] > 0
    assert all(r["kind"] == "book" and r["level"] == "beginner" for r in books["items"])
    free_serving = client.get("/api/resources", params={"topic": "serving", "cost": "free"}).json()
    assert free_serving["total"] > 0
    assert all("serving" in r["topics"] and r["cost"] == "free" for r in free_serving["items"])
    by_author = client.get("/api/resources", params={"q": "chip huyen"}).json()
    assert "designing-machine-learning-systems" in {r["id"] for r in by_author["items"]}
    two_kinds = client.get("/api/resources", params=[("kind", "book"), ("kind", "paper")]).json()
    assert {r["kind"] for r in two_kinds["items"]} == {"book", "paper"}


def test_resource_detail(client: httpx.Client) -> None:
    feast = client.get("/api/resources/feast").json()
    assert feast.keys() >= RESOURCE_FIELDS
    assert feast["title"] == "Feast" and feast["kind"] == "tool" and feast["summary"]


def test_user_profile_round_trip(client, make_user) -> None:
    user = make_user({"level": "beginner", "role": "SRE"})
    got = client.get(f"/api/users/{user.id}/profile", headers=user.auth)
    assert got.status_code == 200
    assert got.json() == {
        "level": "beginner",
        "role": "sre",
        "goals": [],
        "formats": [],
        "budget": "any",
        "already_read": [],
    }
    wanted = {
        "level": "advanced",
        "role": "ml-engineer",
        "goals": ["interviews"],
        "formats": ["book", "paper"],
        "budget": "free",
        "already_read": ["feast"],
    }
    put = client.put(f"/api/users/{user.id}/profile", json=wanted, headers=user.auth)
    assert put.status_code == 200 and put.json() == wanted
    assert client.get(f"/api/users/{user.id}/profile", headers=user.auth).json() == wanted


def test_create_user_without_a_body(client: httpx.Client) -> None:
    response = client.post("/api/users")
    assert response.status_code == 201
    assert response.json()["user_id"] and len(response.json()["token"]) >= 32


def test_feedback_on_an_answer_and_a_resource(client, make_user) -> None:
    anonymous = client.post("/api/chat", json={"message": "books on model serving"}).json()
    first = client.post("/api/feedback", json={"session_id": anonymous["session_id"], "rating": 1})
    assert first.status_code == 201 and isinstance(first.json()["id"], int)

    user = make_user()
    mine = client.post(
        "/api/chat", json={"message": "feature stores", "user_id": user.id}, headers=user.auth
    ).json()
    second = client.post(
        "/api/feedback",
        json={
            "session_id": mine["session_id"],
            "rating": -1,
            "resource_id": mine["sources"][0]["id"],
            "user_id": user.id,
        },
        headers=user.auth,
    )
    assert second.status_code == 201 and second.json()["id"] > first.json()["id"]


def test_the_gradio_ui_is_served_at_the_root(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "window.gradio_config" in page.text and '"title":"MLSD Assistant"' in page.text
    config = client.get("/config")  # the Gradio app's layout, served by the mounted app
    assert config.status_code == 200 and config.json()["title"] == "MLSD Assistant"


def test_api_docs_load_from_local_assets(client: httpx.Client) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page)
        assert html.status_code == 200
        assert f"/docs-assets/{asset}" in html.text
        assert "cdn." not in html.text and "fonts.googleapis" not in html.text  # nothing remote
        script = client.get(f"/docs-assets/{asset}")
        assert script.status_code == 200 and len(script.content) > 100_000


def test_chat_citations_link_to_their_source_pages(client: httpx.Client) -> None:
    pages = {
        s["title"]: s.get("url")
        for s in yaml.safe_load((REAL_CORPUS / "sources.yaml").read_text(encoding="utf-8"))[
            "sources"
        ]
    }
    answer = client.post("/api/chat", json={"message": "books on ML system design"}).json()
    cited = [c for c in answer["citations"] if c["source_title"] in pages]
    assert cited
    for citation in cited:
        assert citation["url"] == pages[citation["source_title"]]
        assert citation["url"].startswith("https://")
