"""UI adapter: the CLI's client for a running `mlsd serve`, so a question skips the model load.

The answers are the API's JSON bodies, the same views the CLI prints in-process.
"""

from __future__ import annotations

from typing import Any

import httpx

from assistant.settings import Settings
from ingest.store import store_location

# /readyz answers in milliseconds on a server that is up, and a refused connection fails at
# once; a server slower than this is busier than answering in-process would be.
PROBE_TIMEOUT_S = 1.0
# The longest a composed answer or an LLM-generated one may take over HTTP.
REQUEST_TIMEOUT_S = 120.0


class ServerError(RuntimeError):
    """The server refused the request (4xx/5xx); the message is its `detail`."""


class ServerGone(RuntimeError):
    """The server stopped answering after it was found; answering in-process loses nothing."""


def _base_url(settings: Settings) -> str:
    if settings.server_url:
        return settings.server_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # listening on every address: reach it on loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def find_server(settings: Settings) -> tuple[Server | None, str | None]:
    """A ready server to answer through, or None and (when worth saying) why not.

    MLSD_SERVER_URL names one; otherwise MLSD_HOST:MLSD_PORT is used only when its /readyz
    reports this CLI's own index, so a server on another data directory never answers.
    """
    if not settings.use_server:
        return None, None
    url = _base_url(settings)
    explicit = settings.server_url is not None
    try:
        response = httpx.get(f"{url}/readyz", timeout=PROBE_TIMEOUT_S)
        ready = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"the server at {url} does not answer ({exc})" if explicit else None
    if not isinstance(ready, dict):
        return None, f"the server at {url} is not ready (HTTP {response.status_code})" if (
            explicit
        ) else None
    if not explicit and ready.get("store") != store_location(settings):
        return None, None
    return Server(url), None


class Server:
    """The assistant's HTTP API, as the CLI calls it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _post(self, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = httpx.post(
                f"{self.url}{path}", json=body, headers=headers, timeout=REQUEST_TIMEOUT_S
            )
        except httpx.TransportError as exc:
            raise ServerGone(f"the server at {self.url} stopped answering ({exc})") from exc
        try:
            data = response.json()
        except ValueError:
            data = {"detail": f"HTTP {response.status_code} without a JSON body"}
        if response.status_code >= 400:
            raise ServerError(str(data.get("detail", f"HTTP {response.status_code}")))
        return dict(data)

    def search(
        self, query: str, k: int, kinds: list[str], user_id: str | None, token: str | None
    ) -> dict[str, Any]:
        """POST /api/search: {"results", "query_used"}."""
        body = {"query": query, "k": k, "kinds": kinds, "user_id": user_id}
        return self._post("/api/search", body, token)

    def ask(
        self, message: str, session_id: str | None, user_id: str | None, token: str | None
    ) -> dict[str, Any]:
        """POST /api/chat: the answer view (answer, session_id, sources, citations, ...)."""
        body = {"message": message, "session_id": session_id, "user_id": user_id}
        return self._post("/api/chat", body, token)

    def recommend(
        self,
        profile: dict[str, Any] | None,
        topic: str | None,
        k: int,
        user_id: str | None,
        token: str | None,
    ) -> dict[str, Any]:
        """POST /api/recommend: {"items", "answer", "citations", "query_used"}."""
        body = {"profile": profile, "topic": topic, "k": k, "user_id": user_id}
        return self._post("/api/recommend", body, token)

    def check_user(self, user_id: str, token: str | None) -> None:
        """GET the user's profile: an unknown user or a wrong token fails before a chat starts."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = httpx.get(
                f"{self.url}/api/users/{user_id}/profile", headers=headers, timeout=PROBE_TIMEOUT_S
            )
        except httpx.TransportError as exc:
            raise ServerGone(f"the server at {self.url} stopped answering ({exc})") from exc
        if response.status_code >= 400:
            raise ServerError(str(response.json().get("detail", f"HTTP {response.status_code}")))
