"""`mlsd mcp` through the official `mcp` SDK client, over stdio and streamable HTTP, against real
server processes over an index of the whole real corpus."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from assistant.storage import Storage
from assistant.users import Users
from ingest.catalog import load_catalog

pytestmark = [pytest.mark.integration, pytest.mark.api]

MLSD = Path(sys.executable).parent / "mlsd"
REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
STARTUP_LIMIT_S = 180.0  # as for `mlsd serve`: model load and index scan on a loaded machine
URL = re.compile(r"MLSD MCP server at (http://\S+)")
TOOLS = {"search_resources", "recommend", "explain_concept", "get_resource"}


@pytest.fixture(scope="module")
def mcp_data(api_server: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A data dir with the real corpus index and one user who has read Feast: (dir, id, token).

    The index is copied from the API server's (which only reads it, so the copy is whole):
    one embedded Chroma directory must not be opened by two processes.
    """
    data_dir = tmp_path_factory.mktemp("mcp") / "data"
    shutil.copytree(Path(api_server.data_dir) / "chroma", data_dir / "chroma")
    users = Users(load_catalog(REAL_CORPUS), Storage(data_dir / "assistant.sqlite3"))
    user = users.create({"already_read": ["feast"], "level": "beginner"})
    return data_dir, user.user_id, user.token


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSD_")}
    return env | {"MLSD_DATA_DIR": str(data_dir), "MLSD_CORPUS_DIR": str(REAL_CORPUS)} | extra


@pytest.fixture(scope="module")
def http_server(mcp_data: tuple[Path, str, str]) -> Iterator[str]:
    """`mlsd mcp --transport http --port 0`; yields its /mcp URL."""
    data_dir = mcp_data[0]
    out, log = data_dir / "mcp.out", data_dir / "mcp.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(MLSD), "mcp", "--transport", "http", "--port", "0"],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
            env=environment(data_dir),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not (found := URL.search(out.read_text(encoding="utf-8", errors="replace"))):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlsd mcp printed no URL ({process.poll()}):\n{log.read_text()}")
            time.sleep(0.2)
        yield found.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def text(result: Any) -> str:
    return "".join(part.text for part in result.content if part.type == "text")


async def exercise(session: ClientSession, user_id: str) -> dict[str, Any]:
    """List and call every tool and read the catalog; returns what a transcript shows."""
    await session.initialize()
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    k = tools["search_resources"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"]) == (1, 50)  # the API's limits, in the schema
    profile = json.dumps(tools["recommend"].input_schema)  # the API's Profile model
    assert "already_read" in profile and "beginner" in profile

    found = await session.call_tool(
        "search_resources", {"query": "open source feature store", "k": 3, "kinds": ["tool"]}
    )
    assert not found.is_error, text(found)
    results = found.structured_content["results"]
    assert results[0]["id"] == "feast" and {r["kind"] for r in results} == {"tool"}

    mine = await session.call_tool(
        "recommend", {"user_id": user_id, "topic": "feature stores", "k": 5}
    )
    assert not mine.is_error, text(mine)
    assert "feast" not in {i["id"] for i in mine.structured_content["items"]}  # already read
    inline = await session.call_tool("recommend", {"profile": {"role": "sre"}, "k": 3})
    assert not inline.is_error and len(inline.structured_content["items"]) == 3

    explained = await session.call_tool("explain_concept", {"concept": "feature store"})
    assert not explained.is_error, text(explained)
    assert explained.structured_content["intent"] == "explain"
    assert explained.structured_content["citations"]

    entry = await session.call_tool("get_resource", {"resource_id": "feast"})
    assert entry.structured_content["title"] == "Feast"

    listed = (await session.list_resources()).resources
    catalog = json.loads((await session.read_resource("mlsd://catalog")).contents[0].text)
    assert len(listed) == len(catalog) + 1 == 93
    feast = json.loads((await session.read_resource("mlsd://resources/feast")).contents[0].text)
    assert feast["id"] == "feast" and feast["summary"]

    errors = {}
    for name, arguments in [
        ("search_resources", {"query": "feature store", "k": 99}),
        ("search_resources", {"query": "feature store", "kinds": ["podcast"]}),
        ("search_resources", {"query": "  "}),
        ("search_resources", {"query": "x" * 2001}),
        ("recommend", {"user_id": user_id, "profile": {"level": "beginner"}}),
        ("recommend", {"profile": {"level": "guru"}}),
        ("recommend", {"user_id": "nobody"}),
        ("explain_concept", {"concept": ""}),
        ("get_resource", {"resource_id": "no-such-thing"}),
    ]:
        result = await session.call_tool(name, arguments)
        assert result.is_error, (name, arguments)
        errors[f"{name} {json.dumps(arguments)[:60]}"] = text(result)
    return {"tools": sorted(tools), "first": results[0]["title"], "errors": errors}


def expected_errors(errors: dict[str, str]) -> None:
    said = list(errors.values())
    assert "k: must be between 1 and 50, got 99" in said[0]
    assert "kinds[0]: 'podcast' is not allowed" in said[1]
    assert "the message is empty" in said[2]
    assert "the limit is 2000" in said[3]
    assert "either user_id or profile" in said[4]
    assert "profile.level: 'guru' is not allowed" in said[5]
    assert "unknown user 'nobody'" in said[6]
    assert "concept is empty" in said[7]
    assert "unknown resource 'no-such-thing'" in said[8]


def test_every_tool_over_stdio(mcp_data: tuple[Path, str, str]) -> None:
    data_dir, user_id, token = mcp_data
    server = StdioServerParameters(
        command=str(MLSD), args=["mcp"], env=environment(data_dir, MLSD_TOKEN=token)
    )

    async def run() -> dict[str, Any]:
        with (data_dir / "stdio.log").open("w") as log:
            async with (
                stdio_client(server, errlog=log) as (read, write),
                ClientSession(read, write) as session,
            ):
                return await exercise(session, user_id)

    seen = anyio.run(run)
    expected_errors(seen["errors"])


def test_every_tool_over_http(http_server: str, mcp_data: tuple[Path, str, str]) -> None:
    _, user_id, token = mcp_data

    async def connect(headers: dict[str, str], call: Any) -> Any:
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(http_server, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            return await call(session)

    async def anonymous(session: ClientSession) -> str:
        await session.initialize()
        result = await session.call_tool("recommend", {"user_id": user_id})
        assert result.is_error
        return text(result)

    seen = anyio.run(connect, {"Authorization": f"Bearer {token}"}, lambda s: exercise(s, user_id))
    expected_errors(seen["errors"])
    # Without the header, a named user is refused with a message that says how to send it.
    assert "needs its token" in anyio.run(connect, {}, anonymous)
    wrong = {"Authorization": "Bearer wrong"}
    assert "that token does not belong to user" in anyio.run(connect, wrong, anonymous)
