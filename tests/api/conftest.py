"""API fixtures: `mlsd serve` as a real process over a real index of the real corpus."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

MLSD = Path(sys.executable).parent / "mlsd"
REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
STARTUP_LIMIT_S = 180.0  # model load and index scan; generous for a loaded CI machine
URL = re.compile(r"MLSD Assistant at (http://\S+/)")


@dataclass
class Served:
    """A running `mlsd serve` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    database_url: str = ""  # where its sessions and users live
    data_dir: Path | None = None  # its MLSD_DATA_DIR (the index); logs may live elsewhere

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down cleanly), SIGKILL if it hangs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def closed_port() -> int:
    """A port nothing listens on (the OS picks a free one and we let it go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data_dir: Path, log_dir: Path | None = None, **env: str) -> Served:
    """Start `mlsd serve --port 0` and wait for the URL it prints once it is listening.

    Its output goes to `log_dir` (default `data_dir`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = log_dir or data_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLSD_")}
    # The suite sends far more than a person would; the rate-limit test sets its own limit.
    environment.update(
        MLSD_DATA_DIR=str(data_dir),
        MLSD_CORPUS_DIR=str(REAL_CORPUS),
        MLSD_RATE_LIMIT="100000/minute",
    )
    environment.update(env)
    out, log = log_dir / "serve.out", log_dir / "serve.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(MLSD), "serve", "--port", "0"],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
            env=environment,
            start_new_session=True,  # its own process group, so teardown ends all of it
        )
    database = env.get("MLSD_DATABASE_URL") or f"sqlite:///{data_dir / 'assistant.sqlite3'}"
    served = Served("", process, log, database, data_dir)
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while True:
        found = URL.search(out.read_text(encoding="utf-8", errors="replace"))
        if found:
            served.url = found.group(1)
            return served
        if process.poll() is not None:
            pytest.fail(f"mlsd serve exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            served.stop()
            pytest.fail(f"mlsd serve printed no URL in {STARTUP_LIMIT_S:.0f} s:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def api_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data dir with an index of the whole real corpus, built once with the loaded model."""
    data_dir = tmp_path_factory.mktemp("api") / "data"
    run_ingest(
        Settings(data_dir=data_dir, corpus_dir=REAL_CORPUS), embedder=embedder, progress=False
    )
    return data_dir


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api_server(
    request: pytest.FixtureRequest, api_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The server the API tests run against, once per database: SQLite (the default) and a
    real PostgreSQL. One at a time (pytest ends one before the next), on the same index."""
    env: dict[str, str] = {}
    if request.param == "postgresql":
        env["MLSD_DATABASE_URL"] = request.getfixturevalue("postgres").database()
    served = serve(api_index, log_dir=tmp_path_factory.mktemp(f"api-{request.param}"), **env)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def client(api_server: Served) -> Iterator[httpx.Client]:
    """An HTTP client for the API server."""
    with httpx.Client(base_url=api_server.url, timeout=60.0) as http:
        yield http


@dataclass(frozen=True)
class User:
    """A user created through the API, with the headers that prove it is them."""

    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(client: httpx.Client) -> Callable[..., User]:
    """`make_user(profile=None)`: POST /api/users and return the new user."""

    def create(profile: dict[str, object] | None = None) -> User:
        response = client.post("/api/users", json={"profile": profile} if profile else None)
        assert response.status_code == 201, response.text
        body = response.json()
        return User(body["user_id"], body["token"])

    return create


@pytest.fixture
def start_server() -> Iterator[Callable[..., Served]]:
    """`start_server(data_dir, **env)`: another `mlsd serve`, stopped after the test."""
    started: list[Served] = []

    def start(data_dir: Path, **env: str) -> Served:
        served = serve(data_dir, **env)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def unreachable_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    return closed_port()
