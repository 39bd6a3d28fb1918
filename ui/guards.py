"""UI adapter: what stands between the network and the API routes (pure ASGI middleware).

- Size limits: headers over `MLSD_MAX_HEADER_BYTES` get 431 and bodies over
  `MLSD_MAX_BODY_BYTES` get 413, before the body is read (Content-Length is checked up front;
  a chunked body is counted as it arrives and cut off at the limit).
- 405 with `Allow` for a known API path asked with the wrong method (the Gradio app mounted at
  `/` would otherwise answer 404), and a JSON 404 for unknown `/api/` paths.
- Gradio's upload route is closed: the UI has no file input, and Gradio would otherwise store
  any anonymous upload on disk.
- A last resort for exceptions nothing else handled: a JSON 500, sent as a normal response, so
  the client's keep-alive connection survives (an exception that escapes to the server makes
  uvicorn close the connection, failing unrelated requests queued on it).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("mlsd.api")

# Paths the API owns; everything else belongs to the Gradio UI mounted at `/`.
API_PREFIXES = ("/api/", "/v1/")
OPS_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc")
# Gradio's file upload (and its progress stream): nothing in this UI takes a file.
CLOSED_PATHS = ("/gradio_api/upload", "/gradio_api/upload_progress")


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class DescribedApi(Protocol):
    """What the guard needs of the app: its OpenAPI document (every API route and method,
    those of included routers too)."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document."""
        ...


class BodyTooLarge(Exception):
    """A chunked body went past the limit while it was being read."""


async def send_json(
    send: Send, status: int, content: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """One complete JSON response (ASCII-escaped: it is valid whatever the client sent)."""
    body = json.dumps(content, ensure_ascii=True).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def is_api_path(path: str) -> bool:
    """Whether a path belongs to the API (not to the web UI)."""
    return path.startswith(API_PREFIXES) or path in OPS_PATHS


class RequestGuard:
    """Size limits, 405s and the last-resort 500 (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_header_bytes: int, api: DescribedApi
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_headers = max_header_bytes
        self.api = api
        self._methods: list[tuple[re.Pattern[str], set[str]]] | None = None

    def _allowed(self, path: str) -> set[str] | None:
        """The methods an API path takes (None: no such path), from the OpenAPI document,
        read once, on the first request (all routes exist by then)."""
        if self._methods is None:
            table = []
            for template, operations in self.api.openapi().get("paths", {}).items():
                pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
                methods = {m.upper() for m in operations if m in HTTP_METHODS}
                if "GET" in methods:
                    methods.add("HEAD")  # Starlette answers HEAD wherever GET is
                table.append((re.compile(f"^{pattern}$"), methods))
            self._methods = table
        found = [methods for pattern, methods in self._methods if pattern.match(path)]
        return set().union(*found) if found else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if header_bytes > self.max_headers:
            await send_json(send, 431, {"detail": self._too_big("headers", header_bytes)})
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            # The announced body stays unread, so this connection can't carry another request.
            await send_json(
                send, 413, {"detail": self._too_big("body", length)}, {"Connection": "close"}
            )
            return
        if scope["path"].rstrip("/") in CLOSED_PATHS:
            await send_json(send, 404, {"detail": "this server takes no uploads"})
            return
        if is_api_path(scope["path"]) and await self._method_or_path(scope, send):
            return
        await self._run(scope, self._counted(receive), send)

    def _too_big(self, part: str, size: int) -> str:
        limit = self.max_body if part == "body" else self.max_headers
        setting = "MLSD_MAX_BODY_BYTES" if part == "body" else "MLSD_MAX_HEADER_BYTES"
        return f"the request {part} has {size} bytes; the limit is {limit} ({setting})"

    async def _method_or_path(self, scope: Scope, send: Send) -> bool:
        """Answer a wrong method (405) or an unknown API path (404); False to go on."""
        allowed = self._allowed(scope["path"])
        if allowed is not None and scope["method"] in allowed:
            return False
        if allowed:
            methods = ", ".join(sorted(allowed - {"HEAD"}))
            detail = f"{scope['method']} is not allowed on {scope['path']}; use {methods}"
            await send_json(send, 405, {"detail": detail}, {"Allow": methods})
            return True
        if scope["path"].startswith(API_PREFIXES):
            detail = f"no API route {scope['path']}; see /docs for the routes"
            await send_json(send, 404, {"detail": detail})
            return True
        return False

    def _counted(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self._too_big("body", seen))
            return message

        return counted

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except BodyTooLarge as exc:
            if started:
                raise
            await send_json(send, 413, {"detail": str(exc)}, {"Connection": "close"})
        except Exception as exc:
            if started:  # half a response is on the wire: only the server can end it
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            detail = f"internal error ({type(exc).__name__}); see the server log"
            await send_json(send, 500, {"detail": detail})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
