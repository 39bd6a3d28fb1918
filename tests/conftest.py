"""Shared fixtures: the real embedding model (once per session), settings, corpus copies, and
real `chroma run` server processes."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from assistant.settings import Settings
from ingest.embedding import Embedder, make_embedder

# Nothing in a test run may reach a model hub or an analytics endpoint. The modules above import
# sentence-transformers, chromadb and gradio lazily, so this is in time for all of them.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# Tests build their settings explicitly; a developer's MLSD_* variables must not leak into them.
for _name in [n for n in os.environ if n.startswith("MLSD_")]:
    del os.environ[_name]

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
FIXTURE_CORPUS = TESTS_DIR / "fixtures" / "corpus"
REAL_CORPUS = REPO_ROOT / "corpus"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
CHROMA = Path(sys.executable).parent / "chroma"
CHROMA_STARTUP_LIMIT_S = 60.0


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """A free port on 127.0.0.1 that nothing listens on."""
    return free_port()


@contextmanager
def chroma_process(root: Path, port: int, host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """`chroma run` on `port` with its data under `root`, answering heartbeats; ended on exit."""
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(root / "db"), "--host", host, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so teardown can end all of it
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    try:
        deadline = time.monotonic() + CHROMA_STARTUP_LIMIT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                response = httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=2.0)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"chroma run did not answer on {host}:{port} within "
                    f"{CHROMA_STARTUP_LIMIT_S:.0f} s:\n{log_path.read_text()}"
                )
            time.sleep(0.25)
        yield host, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`chroma run` on a free port with its own data dir; yields (host, port)."""
    with chroma_process(tmp_path_factory.mktemp("chroma-server"), free_port()) as address:
        yield address


@pytest.fixture
def start_chroma(tmp_path: Path) -> Iterator[Callable[[int], tuple[str, int]]]:
    """`start_chroma(port)`: a `chroma run` on that port for this test; yields (host, port)."""
    with ExitStack() as stack:

        def start(port: int) -> tuple[str, int]:
            return stack.enter_context(chroma_process(tmp_path / f"chroma-{port}", port))

        yield start


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled embedding model, loaded once for the whole session."""
    model = make_embedder(EMBEDDING_MODEL)
    model.embed(["warm up"])  # load now: a broken model fails here, not in the first test
    return model


def make_settings(tmp_path: Path, corpus_dir: Path = REAL_CORPUS, **overrides: Any) -> Settings:
    """Settings for a test: data under `tmp_path/data`, everything else explicit."""
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "corpus_dir": corpus_dir}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """`settings_factory(corpus_dir=..., **overrides)`: settings rooted in this test's tmp dir."""

    def factory(corpus_dir: Path = REAL_CORPUS, **overrides: Any) -> Settings:
        return make_settings(tmp_path, corpus_dir=corpus_dir, **overrides)

    return factory


@pytest.fixture
def fixture_corpus(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


@pytest.fixture
def real_corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the real corpus that a test may edit."""
    target = tmp_path / "real-corpus"
    shutil.copytree(REAL_CORPUS, target)
    return target


def write_source(corpus_dir: Path, file: str, text: str) -> None:
    """Replace a source document and record its new sha256 in sources.yaml, as an editor would."""
    data = text.encode("utf-8")
    (corpus_dir / "sources" / file).write_bytes(data)
    path = corpus_dir / "sources.yaml"
    catalog = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = [entry for entry in catalog["sources"] if entry["file"] == file]
    assert entries, f"{file} is not listed in {path}"
    entries[0]["sha256"] = hashlib.sha256(data).hexdigest()
    path.write_text(yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def update_source() -> Callable[[Path, str, str], None]:
    """`update_source(corpus_dir, file, text)`: edit a source and keep sources.yaml consistent."""
    return write_source
