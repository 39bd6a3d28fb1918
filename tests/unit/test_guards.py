"""The request guard as ASGI: limits before the body is read, 405s, a complete 500."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ui.guards import RequestGuard

LIMIT = 1_000


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):  # read the whole body, like a JSON route
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _broken(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("a bug")


class Described:
    """An app's OpenAPI document, as much of it as the guard reads."""

    def openapi(self) -> dict[str, Any]:
        return {"paths": {"/api/search": {"post": {}}, "/api/users/{user_id}": {"get": {}}}}


def call(app: Any, method: str = "POST", path: str = "/api/search", headers=(), chunks=(b"",)):
    """Run one request through the guard; (status, headers, body, chunks the app asked for)."""
    guard = RequestGuard(
        app,
        max_body_bytes=LIMIT,
        max_header_bytes=LIMIT,
        api=Described(),
    )
    sent: list[dict[str, Any]] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": n < len(chunks) - 1}
        for n, c in enumerate(chunks)
    ]
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return pending.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}
    # Its own thread and event loop: a test run may already have a loop in this thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()  # nothing may escape
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body, read


def test_an_unexpected_error_is_a_complete_json_500_not_an_escaped_exception() -> None:
    status, headers, body, _ = call(_broken)
    assert status == 500 and headers[b"content-type"] == b"application/json"
    assert json.loads(body)["detail"] == "internal error (RuntimeError); see the server log"
    assert int(headers[b"content-length"]) == len(body)  # complete: keep-alive can go on


def test_a_declared_oversized_body_is_refused_before_it_is_read() -> None:
    status, _, body, read = call(_ok, headers=[(b"content-length", b"50000000")])
    assert status == 413 and read == 0
    assert "MLSD_MAX_BODY_BYTES" in json.loads(body)["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    status, _, _, read = call(_ok, chunks=[b"x" * 600] * 10)
    assert status == 413 and read == 2  # stopped at the chunk that crossed the limit


def test_oversized_headers_are_431() -> None:
    status, _, body, _ = call(_ok, headers=[(b"x-big", b"a" * 2_000)])
    assert status == 431 and "MLSD_MAX_HEADER_BYTES" in json.loads(body)["detail"]


def test_a_wrong_method_on_an_api_path_is_405_with_allow() -> None:
    for method in ("TRACE", "DELETE", "GET"):
        status, headers, _, _ = call(_ok, method=method)
        assert status == 405 and headers[b"allow"] == b"POST"
    status, headers, _, _ = call(_ok, method="POST", path="/api/users/u1")
    assert status == 405 and headers[b"allow"] == b"GET"  # a templated path
    status, _, _, _ = call(_ok, path="/api/nothing-here")
    assert status == 404
    status, _, body, _ = call(_ok, path="/gradio_api/info")  # the UI's own paths pass
    assert (status, body) == (200, b"ok")


def test_gradio_uploads_are_closed() -> None:
    status, _, body, read = call(_ok, path="/gradio_api/upload")
    assert status == 404 and read == 0 and b"no uploads" in body


def test_a_request_within_the_limits_goes_through() -> None:
    status, _, body, _ = call(_ok, chunks=[b"x" * 400, b"x" * 400])
    assert (status, body) == (200, b"ok")
