"""`mlsd ingest` run as a real subprocess: JSON out, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

# Whole-corpus ingests or `mlsd` subprocesses: minutes, so not in the unit layer.
pytestmark = pytest.mark.integration

MLSD = Path(sys.executable).parent / "mlsd"


def run_mlsd(*args: str, corpus: Path, data: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLSD_")}
    environment.update(MLSD_CORPUS_DIR=str(corpus), MLSD_DATA_DIR=str(data), **env)
    return subprocess.run(
        [str(MLSD), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=data.parent,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_ingest_json_then_no_op_then_bad_add(fixture_corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run_mlsd("ingest", "--json", corpus=fixture_corpus, data=data)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["chunks"] == report["embedded"] == 9
    assert report["store"] == f"Chroma at {data / 'chroma'}"
    assert report["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert (data / "chroma").is_dir()

    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    second = run_mlsd("ingest", "--json", "--add", str(binary), corpus=fixture_corpus, data=data)
    assert second.returncode == 2, second.stderr  # --add added nothing: a failure for scripts
    report = json.loads(second.stdout)
    assert (report["embedded"], report["deleted"], report["unchanged"]) == (0, 0, 9)
    assert report["added"] == []
    (skipped,) = report["skipped"]
    assert skipped["path"] == str(binary)
    assert "looks binary" in skipped["reason"]


def test_broken_catalog_is_a_one_line_error(fixture_corpus: Path, tmp_path: Path) -> None:
    path = fixture_corpus / "resources.yaml"
    path.write_text("resources:\n  - id: feast\n    title: [unclosed\n", encoding="utf-8")
    result = run_mlsd("ingest", "--json", corpus=fixture_corpus, data=tmp_path / "data")
    assert_one_line_error(result, str(path), "not valid YAML", "line ")
    assert not (tmp_path / "data" / "chroma").exists()  # failed before touching the store


def test_invalid_catalog_entry_is_a_one_line_error(fixture_corpus: Path, tmp_path: Path) -> None:
    path = fixture_corpus / "resources.yaml"
    text = path.read_text(encoding="utf-8").replace("kind: tool", "kind: gadget", 1)
    path.write_text(text, encoding="utf-8")
    result = run_mlsd("ingest", corpus=fixture_corpus, data=tmp_path / "data")
    assert_one_line_error(result, str(path), "entry #2 (id 'feast')", "field 'kind'")


@pytest.mark.parametrize(
    ("overlap", "fragment"),
    [
        ("5000", "MLSD_CHUNK_OVERLAP=5000"),  # out of its own range
        ("1000", "MLSD_CHUNK_OVERLAP must be smaller than MLSD_CHUNK_SIZE"),  # > chunk size 900
    ],
)
def test_bad_setting_is_a_clear_error(
    fixture_corpus: Path, tmp_path: Path, overlap: str, fragment: str
) -> None:
    result = run_mlsd(
        "ingest",
        "--json",
        corpus=fixture_corpus,
        data=tmp_path / "data",
        MLSD_CHUNK_OVERLAP=overlap,
    )
    assert_one_line_error(result, "invalid MLSD_ settings", fragment)


def test_user_profile_and_recommend_from_the_command_line(
    fixture_corpus: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert run_mlsd("ingest", corpus=fixture_corpus, data=data).returncode == 0
    profile = tmp_path / "profile.yaml"
    profile.write_text("level: beginner\nbudget: free\nalready_read: [feast]\n", encoding="utf-8")
    created = run_mlsd("user", "create", "--profile", str(profile), "--json",
                       corpus=fixture_corpus, data=data)  # fmt: skip
    assert created.returncode == 0, created.stderr
    user = json.loads(created.stdout)
    shown = run_mlsd("user", "profile", user["user_id"], corpus=fixture_corpus, data=data,
                     MLSD_TOKEN=user["token"])  # fmt: skip
    assert json.loads(shown.stdout)["already_read"] == ["feast"]

    picks = run_mlsd(
        *("recommend", "--user", user["user_id"], "--topic", "feature stores", "--json"),
        corpus=fixture_corpus, data=data, MLSD_TOKEN=user["token"],
    )  # fmt: skip
    assert picks.returncode == 0, picks.stderr
    items = json.loads(picks.stdout)["items"]
    ids = [item["id"] for item in items]
    assert ids and "feast" not in ids and "tecton" not in ids  # read, and paid on a free budget
    assert all("For you:" in item["reason"] for item in items)

    wrong = run_mlsd("user", "profile", user["user_id"], "--token", "not-it",
                     corpus=fixture_corpus, data=data)  # fmt: skip
    assert_one_line_error(wrong, "token does not belong to user")
    bad = tmp_path / "bad.yaml"
    bad.write_text("formats: [podcast]\n", encoding="utf-8")
    assert_one_line_error(
        run_mlsd("recommend", "--profile", str(bad), corpus=fixture_corpus, data=data),
        "invalid profile: formats",
        "podcast",
    )
    unknown = run_mlsd("recommend", "--user", "nobody", "--token", "x",
                       corpus=fixture_corpus, data=data)  # fmt: skip
    assert_one_line_error(unknown, "unknown user 'nobody'")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("ask", "   "), "the message is empty"),
        (("search", ""), "the message is empty"),
        (("ask", "x" * 50), "the message has 50 characters; the limit is 20"),
    ],
)
def test_a_bad_message_is_refused_before_anything_loads(
    fixture_corpus: Path, tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    # No index exists here: had the CLI built the assistant first, the error would be that.
    result = run_mlsd(
        *args, corpus=fixture_corpus, data=tmp_path / "data", MLSD_MAX_MESSAGE_CHARS="20"
    )
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "data" / "chroma").exists()  # nothing was opened or created


def test_mcp_refuses_a_bad_transport_a_busy_port_and_a_missing_index(
    fixture_corpus: Path, tmp_path: Path
) -> None:
    # Issue 15: `mlsd mcp` says what is wrong in one line instead of hanging a client.
    data = tmp_path / "data"
    bad = run_mlsd("mcp", "--transport", "sse", corpus=fixture_corpus, data=data)
    assert_one_line_error(bad, "--transport must be stdio or http, not 'sse'")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        taken = run_mlsd(
            "mcp", "--transport", "http", "--port", port, corpus=fixture_corpus, data=data
        )
    assert_one_line_error(taken, f"cannot listen on 127.0.0.1:{port}")
    empty = run_mlsd("mcp", corpus=fixture_corpus, data=data)  # stdio, but no index yet
    assert_one_line_error(empty, "mlsd ingest")
