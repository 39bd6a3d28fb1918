"""Start-up: an unreachable Chroma server means alive but not ready; a busy port, a clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings
from ingest.pipeline import run_ingest

pytestmark = [pytest.mark.integration, pytest.mark.api]

MLSD = Path(sys.executable).parent / "mlsd"
REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_unreachable_chroma_server_is_503_with_the_reason(
    tmp_path: Path, start_server, unreachable_port: int
) -> None:
    served = start_server(
        tmp_path / "data", MLSD_CHROMA_HOST="127.0.0.1", MLSD_CHROMA_PORT=str(unreachable_port)
    )
    with httpx.Client(base_url=served.url, timeout=30.0) as client:
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        ready = client.get("/readyz")
        assert ready.status_code == 503
        detail = ready.json()["detail"]
        assert f"Chroma server 127.0.0.1:{unreachable_port} is unreachable" in detail
        assert "chroma run" in detail  # and how to fix it
        search = client.post("/api/search", json={"query": "feature stores"})
        assert search.status_code == 503 and search.json()["detail"] == detail
        assert client.get("/").status_code == 503  # no UI without an assistant
    assert "not ready: Chroma server" in served.log.read_text()


def test_the_server_becomes_ready_once_its_chroma_server_is_up(
    tmp_path: Path, start_server, start_chroma, unreachable_port: int, embedder
) -> None:
    # A team service started before its Chroma server: not ready, then ready without a restart.
    chroma = {"MLSD_CHROMA_HOST": "127.0.0.1", "MLSD_CHROMA_PORT": str(unreachable_port)}
    served = start_server(tmp_path / "data", MLSD_READY_RETRY_S="1", **chroma)
    with httpx.Client(base_url=served.url, timeout=60.0) as client:
        assert client.get("/readyz").status_code == 503

        start_chroma(unreachable_port)
        index = Settings(
            data_dir=tmp_path / "ingest",
            corpus_dir=REAL_CORPUS,
            chroma_host="127.0.0.1",
            chroma_port=unreachable_port,
        )
        run_ingest(index, embedder=embedder, progress=False)

        deadline = time.monotonic() + 180  # the retry loads the model: slow on a busy machine
        while (ready := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, f"never ready: {ready.json()}"
            time.sleep(1.0)
        assert ready.json()["chunks"] > 0
        found = client.post("/api/search", json={"query": "feature stores", "k": 3})
        assert found.status_code == 200 and len(found.json()["results"]) == 3
        page = client.get("/")  # the UI is laid out at start-up: it says to restart
        assert page.status_code == 503 and "restart `mlsd serve`" in page.json()["detail"]
    assert f"ready: Chroma server 127.0.0.1:{unreachable_port}" in served.log.read_text()


def test_serve_on_a_busy_port_fails_at_once_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLSD_")}
        done = subprocess.run(
            [str(MLSD), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            env=env | {"MLSD_DATA_DIR": str(tmp_path / "data")},
            timeout=60,
        )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port} (Address already in use); choose another --port"
    )
