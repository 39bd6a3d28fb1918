"""`mlsd ask/search/recommend` answering through a running `mlsd serve`, or in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

MLSD = Path(sys.executable).parent / "mlsd"
REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
pytestmark = [pytest.mark.integration, pytest.mark.api]
QUESTION = "what should I read about feature stores?"


def run_mlsd(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLSD_")}
    environment.update(MLSD_DATA_DIR=str(data), MLSD_CORPUS_DIR=str(REAL_CORPUS), **env)
    return subprocess.run(
        [str(MLSD), *args], capture_output=True, text=True, env=environment, timeout=300
    )


def data_dir(server: Any) -> Path:
    assert server.data_dir is not None
    return Path(server.data_dir)


def port(server: Any) -> str:
    return str(urlsplit(server.url).port)


def test_the_cli_finds_the_server_on_its_own_index_and_says_so(api_server: Any) -> None:
    url = api_server.url.rstrip("/")
    through = run_mlsd(
        "ask", QUESTION, "--json", data=data_dir(api_server), MLSD_PORT=port(api_server)
    )
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout)["answered_by"] == url
    assert through.stderr.strip() == f"(answered by {url})"

    local = run_mlsd(
        "ask", QUESTION, "--json", data=data_dir(api_server),
        MLSD_PORT=port(api_server), MLSD_USE_SERVER="false",
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["answered_by"] == "in-process"
    assert local.stderr.strip() == "(answered by this process (onnx encoder))"
    # Same index, same encoder: the same answer either way (only the session id differs).
    served, in_process = json.loads(through.stdout), json.loads(local.stdout)
    assert served["answer"] == in_process["answer"]
    assert [s["id"] for s in served["sources"]] == [s["id"] for s in in_process["sources"]]


def test_search_and_recommend_through_the_server(api_server: Any) -> None:
    data, url = data_dir(api_server), api_server.url.rstrip("/")
    found = run_mlsd("search", "feature store", "--k", "3", "--json", data=data,
                     MLSD_PORT=port(api_server))  # fmt: skip
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert body["answered_by"] == url and len(body["results"]) == 3
    text = run_mlsd("search", "feature store", "--k", "3", data=data, MLSD_PORT=port(api_server))
    assert text.stdout.splitlines()[0].startswith(" 1. ")
    assert f"[{body['results'][0]['id']}]" in text.stdout.splitlines()[0]

    picks = run_mlsd("recommend", "--topic", "feature stores", "--json", data=data,
                     MLSD_PORT=port(api_server))  # fmt: skip
    assert picks.returncode == 0, picks.stderr
    assert json.loads(picks.stdout)["items"]
    # The server's refusal is the CLI's one-line error.
    bad = run_mlsd("search", "feature store", "--kind", "podcast", data=data,
                   MLSD_PORT=port(api_server))  # fmt: skip
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.strip().startswith("error: kinds[0]: 'podcast' is not allowed")


def test_a_server_on_another_index_is_not_used_unless_named(
    api_server: Any, tmp_path: Path
) -> None:
    other = tmp_path / "data"  # no index here: in-process, the CLI says to ingest
    found = run_mlsd("search", "feature store", data=other, MLSD_PORT=port(api_server))
    assert found.returncode != 0
    assert found.stderr.strip().startswith("error: ") and "mlsd ingest" in found.stderr

    named = run_mlsd("search", "feature store", "--json", data=other,
                     MLSD_SERVER_URL=api_server.url)  # fmt: skip
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["answered_by"] == api_server.url.rstrip("/")


def test_a_named_server_that_is_down_falls_back_in_process(
    api_server: Any, unreachable_port: int
) -> None:
    down = f"http://127.0.0.1:{unreachable_port}"
    result = run_mlsd("search", "feature store", "--json", data=data_dir(api_server),
                      MLSD_SERVER_URL=down)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answered_by"] == "in-process"
    note, said = result.stderr.strip().splitlines()
    assert note.startswith(f"note: the server at {down} does not answer")
    assert said == "(answered by this process (onnx encoder))"


def test_the_server_runs_without_torch(api_server: Any) -> None:
    # The query path uses the ONNX encoder: no torch library is mapped into the server.
    maps = Path(f"/proc/{api_server.process.pid}/maps").read_text()
    assert "onnxruntime" in maps
    assert "libtorch" not in maps
