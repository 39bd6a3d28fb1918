"""Shared fixtures: the real embedding model (once per session), settings, corpus copies, and
real `chroma run` server processes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from assistant.conversation import Turn
from assistant.settings import Settings
from assistant.storage import Storage
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


@pytest.fixture
def stoppable_chroma(tmp_path: Path) -> Iterator[Callable[[int], Callable[[], None]]]:
    """`stop = stoppable_chroma(port)`: a `chroma run` this test can stop midway (an outage)."""
    with ExitStack() as stack:

        def start(port: int) -> Callable[[], None]:
            inner = ExitStack()
            inner.enter_context(chroma_process(tmp_path / f"chroma-{port}", port))
            stack.callback(inner.close)
            return inner.close

        yield start


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled embedding model, loaded once for the whole session."""
    model = make_embedder(EMBEDDING_MODEL)
    model.embed(["warm up"])  # load now: a broken model fails here, not in the first test
    return model


@pytest.fixture(scope="session")
def fresh_python() -> Callable[..., Any]:
    """Run Python code in a new interpreter from the project root and return the JSON it
    prints: for what this test process has already imported (torch, lightgbm, numba)."""

    def run(code: str, *args: str, timeout: int = 120) -> Any:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


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


# -- PostgreSQL (issue 14): a real server in a temp dir, for the shared-state tests ------------

POSTGRES_STARTUP_LIMIT_S = 60.0
# Debian keeps the server binaries out of PATH, in /usr/lib/postgresql/<major>/bin.
POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def postgres_tool(name: str) -> str:
    """The path of a PostgreSQL server program (`initdb`, `pg_ctl`); fails with the fix."""
    found = shutil.which(name) or next(
        (str(d / name) for d in POSTGRES_BIN_DIRS if (d / name).is_file()), None
    )
    if found is None:
        pytest.fail(f"{name} not found: `make test` installs Debian's postgresql package")
    return found


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server; `database()` makes a fresh database on it."""

    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) for a database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; returns its URL."""
        import sqlalchemy as sa

        name = f"t_{uuid.uuid4().hex[:16]}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server (initdb + pg_ctl in a temp dir) for this test session.

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` system
    user that Debian's package creates; otherwise to whoever runs the tests.
    """
    root = Path(tempfile.mkdtemp(prefix="mlsd-pg-"))
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "server.log", free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log_text = log.read_text() if log.exists() else ""
            pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}{log_text}")

    run(postgres_tool("initdb"), "-D", str(data), "-U", "mlsd", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200"
    run(postgres_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
        "-t", str(int(POSTGRES_STARTUP_LIMIT_S)), "start")  # fmt: skip
    try:
        yield Postgres("127.0.0.1", port, "mlsd")
    finally:
        subprocess.run(
            [*prefix, postgres_tool("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return postgres.database()


# -- overlapping turn writes (issue 14), for every storage backend ------------------------------

OVERLAPPING_TURNS = 16  # the trial count: 16 overlapping turns on one session


@pytest.fixture
def overlapping_turns() -> Callable[[Storage], None]:
    """`overlapping_turns(storage)`: 16 threads add a turn to one session at the same moment;
    asserts every turn is stored, each at its own index."""

    def run(storage: Storage) -> None:
        session = storage.new_session()
        storage.append_turn(session, _turn("first"))
        start = threading.Barrier(OVERLAPPING_TURNS)

        def write(n: int) -> int:
            mine = storage.load_session(session.id)  # each request loads the session it continues
            start.wait()
            return storage.append_turn(mine, _turn(f"turn {n}"))

        with ThreadPoolExecutor(OVERLAPPING_TURNS) as pool:
            indexes = list(pool.map(write, range(OVERLAPPING_TURNS)))
        assert sorted(indexes) == list(range(1, OVERLAPPING_TURNS + 1))
        stored = storage.load_session(session.id).turns
        assert len(stored) == OVERLAPPING_TURNS + 1
        wanted = sorted(f"turn {n}" for n in range(OVERLAPPING_TURNS))
        assert sorted(t.message for t in stored[1:]) == wanted

    return run


def _turn(text: str) -> Turn:
    return Turn(message=text, query_used={"q": text}, resource_ids=("r1",), answer=f"re: {text}")
