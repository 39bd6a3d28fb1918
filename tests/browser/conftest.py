"""Browser fixtures: the real app on uvicorn over a real index, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.service import Assistant, build_assistant
from assistant.settings import Settings
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_CORPUS = REPO_ROOT / "corpus"
# Not MLSD_* names: tests/conftest.py drops every MLSD_* variable before this file is read.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# As root Chromium needs --no-sandbox; the background-networking flags stop it calling Google's
# hosts, which this machine's closed network refuses (and which the test must not depend on).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_LIMIT_S = 60.0
LOCAL_SCHEMES = ("data:", "blob:", "about:")


def artifacts_dir() -> Path:
    """Where screenshots go: `$ARTIFACTS_DIR/browser`, else `artifacts/browser` (git-ignored)."""
    root = Path(os.environ.get("ARTIFACTS_DIR") or REPO_ROOT / "artifacts")
    path = root / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveApp:
    """The running app: its URL and the assistant behind it (to check what got stored)."""

    url: str
    assistant: Assistant
    settings: Settings
    external_requests: list[str] = field(default_factory=list)


def _make_app(settings: Settings, assistant: Assistant) -> Any:
    """The project's FastAPI app with the UI at "/"; mounts the UI itself if the app doesn't."""
    import gradio as gr
    from starlette.routing import Mount

    from ui.web import build_ui

    try:
        from ui.api import create_app
    except ImportError:  # the API module is optional for the UI: a bare server will do
        from fastapi import FastAPI

        app = FastAPI()
    else:
        app = create_app(settings, assistant)
    if not any(isinstance(r, Mount) and r.path in ("", "/") for r in app.routes):
        app = gr.mount_gradio_app(app, build_ui(assistant, settings), path="/")
    return app


@pytest.fixture(scope="session")
def browser_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over the real corpus with a data dir of this test session's own."""
    root = tmp_path_factory.mktemp("browser")
    return Settings(data_dir=root / "data", corpus_dir=REAL_CORPUS)


@pytest.fixture(scope="session")
def live_app(browser_settings: Settings, embedder: Embedder) -> Iterator[LiveApp]:
    """Ingest the real corpus, build the assistant and serve the app with uvicorn."""
    import uvicorn

    run_ingest(browser_settings, embedder=embedder, progress=False)
    assistant = build_assistant(browser_settings, embedder=embedder)
    port = _free_port()
    config = uvicorn.Config(
        _make_app(browser_settings, assistant),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    # Same process, own thread: the tests can read the assistant's storage directly.
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while True:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the app did not answer on {url} within {STARTUP_LIMIT_S:.0f} s")
        time.sleep(0.2)
    try:
        yield LiveApp(url=url, assistant=assistant, settings=browser_settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright; a missing browser fails loudly, it never skips."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make browser-deps` (installs Debian's "
            "chromium package) or set CHROMIUM_PATH to a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so `page` can screenshot failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(chromium: Any, live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) on the app; records off-machine requests."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    new_page = context.new_page()

    def note(req: Any) -> None:
        if not (req.url.startswith(live_app.url) or req.url.startswith(LOCAL_SCHEMES)):
            live_app.external_requests.append(req.url)

    new_page.on("request", note)
    new_page.artifacts = artifacts_dir()  # where `shoot` in the tests saves screenshots
    new_page.goto(live_app.url)
    new_page.get_by_role("tab", name="Chat").wait_for()
    try:
        yield new_page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            new_page.screenshot(
                path=str(artifacts_dir() / f"FAILED-{request.node.name}.png"), full_page=True
            )
        context.close()
