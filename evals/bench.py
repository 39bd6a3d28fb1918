"""Evals: benchmarks run as a user would (`make bench`): ingest, answer latency, serving.

Figures are medians over repeated runs; they are reported, never asserted in tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

MLSD = Path(sys.executable).parent / "mlsd"
DATASET = Path(__file__).parent / "datasets" / "queries.yaml"


def _ingest_once(data_dir: Path) -> tuple[float, dict[str, Any]]:
    env = os.environ | {"MLSD_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    done = subprocess.run(
        [str(MLSD), "ingest", "--json"], env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def bench_ingest(runs: int = 5) -> dict[str, Any]:
    """Cold ingest (new process, model load, empty index) and no-op re-ingest, `runs` each."""
    cold: list[float] = []
    noop: list[float] = []
    embedded_cold: list[int] = []
    embedded_noop: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            seconds, report = _ingest_once(Path(tmp) / f"cold{i}")
            cold.append(seconds)
            embedded_cold.append(int(report["embedded"]))
        for _ in range(runs):
            seconds, report = _ingest_once(Path(tmp) / "cold0")
            noop.append(seconds)
            embedded_noop.append(int(report["embedded"]))
    return {
        "cold_s_median": round(statistics.median(cold), 2),
        "cold_s_runs": [round(s, 2) for s in cold],
        "cold_embedded": embedded_cold,
        "noop_s_median": round(statistics.median(noop), 2),
        "noop_s_runs": [round(s, 2) for s in noop],
        "noop_embedded": embedded_noop,
    }


# A typical note or runbook page: the size package documentation is cut to when added as files.
DOC_CHARS = 2_000
ADDED_COUNTS = (200, 1_000)


def package_documents(target: Path, count: int) -> list[Path]:
    """`count` Markdown files of real documentation shipped with the installed packages.

    The long descriptions in the packages' METADATA and their *.md files, cut at paragraph
    breaks into pieces of about DOC_CHARS characters, in a stable order.
    """
    import site

    roots = [Path(p) for p in site.getsitepackages()]
    texts: list[str] = []
    for root in roots:
        for path in sorted(root.glob("*.dist-info/METADATA")) + sorted(root.glob("*/**/*.md")):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = path.read_text(encoding="utf-8")
                texts.append(text.split("\n\n", 1)[-1] if path.name == "METADATA" else text)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for text in texts:
        piece = ""
        for paragraph in text.split("\n\n"):
            piece += paragraph + "\n\n"
            if len(piece) >= DOC_CHARS:
                path = target / f"doc-{len(written):05d}.md"
                path.write_text(piece, encoding="utf-8")
                written.append(path)
                piece = ""
                if len(written) == count:
                    return written
    return written


def bench_added(counts: tuple[int, ...] = ADDED_COUNTS) -> dict[str, Any]:
    """Ingest of `count` added documents against the embedder's raw throughput on the same
    chunk texts, and a no-op re-ingest, in one process with the model already loaded."""
    from assistant.settings import Settings
    from ingest.embedding import make_embedder
    from ingest.pipeline import run_ingest
    from ingest.store import open_store

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp) / "base")
        embedder = make_embedder(base.embedding_model, base.embed_batch_size)
        run_ingest(base, embedder=embedder, progress=False)  # the corpus: not measured
        for count in counts:
            settings = base.model_copy(update={"data_dir": Path(tmp) / f"n{count}"})
            shutil.copytree(base.chroma_dir, settings.chroma_dir)
            files = package_documents(Path(tmp) / f"docs{count}", count)
            report = run_ingest(settings, add=files, embedder=embedder, progress=False)
            store = open_store(settings)
            texts = [c.text for p in store.pages({"trust": "user"}) for c in p]
            started = time.perf_counter()
            embedder.embed(texts)
            raw_s = time.perf_counter() - started
            noop = run_ingest(settings, embedder=embedder, progress=False)
            results[str(count)] = {
                "documents": len(files),
                "chunks_embedded": report.embedded,
                "ingest_s": report.seconds,
                "raw_embed_s": round(raw_s, 2),
                "ingest_to_raw_ratio": round(raw_s / report.seconds, 3),
                "noop_s": noop.seconds,
                "noop_skipped_documents": noop.skipped_unchanged,
            }
            print(json.dumps({count: results[str(count)]}), file=sys.stderr, flush=True)
    return results


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def bench_latency(questions: int = 100) -> dict[str, Any]:
    """Warm search and full composed-answer latency over the dataset's questions."""
    from assistant.service import build_assistant
    from assistant.settings import get_settings

    queries = [q["query"] for q in yaml.safe_load(DATASET.read_text())["queries"]]
    queries = (queries * (questions // len(queries) + 1))[:questions]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLSD_DATA_DIR"] = tmp
        get_settings.cache_clear()
        subprocess.run([str(MLSD), "ingest"], capture_output=True, check=True)
        assistant = build_assistant(get_settings())  # warms up the model and indexes
        search_ms, ask_ms = [], []
        for query in queries:
            started = time.perf_counter()
            assistant.search(query, k=10)
            search_ms.append((time.perf_counter() - started) * 1000)
        for query in queries:
            started = time.perf_counter()
            assistant.ask(query)
            ask_ms.append((time.perf_counter() - started) * 1000)
    return {
        "questions": len(queries),
        "search": _percentiles(search_ms),
        "ask": _percentiles(ask_ms),
    }


def _serve_once(env: dict[str, str], chats: int) -> tuple[float, int | None]:
    """Start `mlsd serve`; seconds until /readyz is 200, and peak RSS (kB) after `chats` turns."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(MLSD), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"mlsd serve exited with {server.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            time.sleep(0.1)
        ready_s = time.perf_counter() - started
        queries = [q["query"] for q in yaml.safe_load(DATASET.read_text())["queries"]][:chats]
        for query in queries:
            httpx.post(f"{url}/api/chat", json={"message": query}, timeout=60).raise_for_status()
        status = Path(f"/proc/{server.pid}/status")
        peak = None
        if chats and status.exists():  # Linux only: VmHWM is the peak resident set size
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            peak = int(line.split()[1])
        return ready_s, peak
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_serve(runs: int = 3, chats: int = 20) -> dict[str, Any]:
    """`mlsd serve` to /readyz 200 over a built index (fresh process each run), and the
    server's peak RSS after `chats` chat requests."""
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"MLSD_DATA_DIR": tmp}
        subprocess.run([str(MLSD), "ingest"], env=env, capture_output=True, check=True)
        timings = [_serve_once(env, chats if i == runs - 1 else 0) for i in range(runs)]
    ready = [seconds for seconds, _ in timings]
    peak_kb = timings[-1][1]
    return {
        "ready_s_median": round(statistics.median(ready), 2),
        "ready_s_runs": [round(s, 2) for s in ready],
        "chats": chats,
        "peak_rss_mb": round(peak_kb / 1024) if peak_kb else None,
    }


def main() -> None:
    """Run every benchmark and print the figures as JSON."""
    results = {
        "cpus": os.cpu_count(),
        "ingest": bench_ingest(),
        "added_documents": bench_added(),
        "latency": bench_latency(),
        "serve": bench_serve(),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["added"]:  # only the added-documents figures: `added [COUNT ...]`
        counts = tuple(int(n) for n in sys.argv[2:]) or ADDED_COUNTS
        print(json.dumps(bench_added(counts), indent=2))
    else:
        main()
