"""The web UI mount: built in the background, so the API answers before the UI is laid out."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ui.api import mount_lazily


class SlowUI:
    """A stand-in for the Gradio app: its build waits until the test lets it finish."""

    def __init__(self, fails: bool = False) -> None:
        self.release = threading.Event()
        self.fails = fails
        self.built_in: str | None = None
        self.lifespan: list[str] = []

    def build(self) -> FastAPI:
        self.built_in = threading.current_thread().name
        assert self.release.wait(timeout=30)
        if self.fails:
            raise RuntimeError("no theme")

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            self.lifespan.append("started")
            yield
            self.lifespan.append("stopped")

        ui = FastAPI(lifespan=lifespan)

        @ui.get("/page")
        def page() -> dict[str, str]:
            return {"page": "ui"}

        return ui


def api_with(ui: SlowUI) -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    return mount_lazily(app, ui.build)


def test_the_api_answers_while_the_ui_builds_and_the_ui_waits_for_it() -> None:
    ui = SlowUI()
    with TestClient(api_with(ui)) as client:
        # The build has started (in a worker thread) and is blocked: the API still answers.
        assert client.get("/readyz").json() == {"status": "ready"}
        assert ui.built_in is not None and ui.built_in != threading.current_thread().name
        assert ui.lifespan == []
        ui.release.set()
        assert client.get("/page").json() == {"page": "ui"}  # waited for the build
        assert ui.lifespan == ["started"]  # the UI's own start-up ran before it served
    assert ui.lifespan == ["started", "stopped"]  # and its shutdown with the server's


def test_a_failed_ui_build_is_a_503_with_the_reason_and_the_api_still_answers() -> None:
    ui = SlowUI(fails=True)
    ui.release.set()
    with TestClient(api_with(ui)) as client:
        page = client.get("/page")
        assert page.status_code == 503
        assert page.json() == {"detail": "the web UI failed to start (RuntimeError: no theme)"}
        assert client.get("/readyz").status_code == 200


def test_by_default_the_ui_is_built_on_the_first_request_for_it() -> None:
    ui = SlowUI()
    ui.release.set()
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    with TestClient(mount_lazily(app, ui.build, at_start=False)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        assert ui.built_in is None  # an API-only server never loads the UI
        assert client.get("/page").json() == {"page": "ui"}
        assert ui.built_in is not None
    assert ui.lifespan == ["started", "stopped"]
