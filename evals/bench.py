"""Evals: benchmarks run as a user would (`make bench`): ingest, answer latency, serving.

Figures are medians over repeated runs; they are reported, never asserted in tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from ingest.embedding import Embedder, Encoder

MLSD = Path(sys.executable).parent / "mlsd"
DATASET = Path(__file__).parent / "datasets" / "queries.yaml"
QUESTION = "what should I read about feature stores?"  # a typical first question


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
            files = package_documents(Path(tmp) / f"docs{count}", count)
            # Ingest, raw, ingest, raw (ABAB): a machine whose load drifts during the run slows
            # both sides alike, so the ratio stays honest on a busy machine.
            ingest_s: list[float] = []
            raw_s: list[float] = []
            for run in range(2):
                settings = base.model_copy(update={"data_dir": Path(tmp) / f"n{count}-{run}"})
                shutil.copytree(base.chroma_dir, settings.chroma_dir)
                report = run_ingest(settings, add=files, embedder=embedder, progress=False)
                ingest_s.append(report.seconds)
                store = open_store(settings)
                texts = [c.text for p in store.pages({"trust": "user"}) for c in p]
                started = time.perf_counter()
                embedder.embed(texts)
                raw_s.append(time.perf_counter() - started)
            noop = run_ingest(settings, embedder=embedder, progress=False)
            results[str(count)] = {
                "documents": len(files),
                "chunks_embedded": report.embedded,
                "ingest_s_runs": ingest_s,
                "raw_embed_s_runs": [round(s, 2) for s in raw_s],
                # Throughput of ingest relative to the embedder alone (1.0: no overhead).
                "ingest_to_raw_ratio": round(sum(raw_s) / sum(ingest_s), 3),
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
        "query_encoder": assistant.settings.query_encoder,
        "questions": len(queries),
        "search": _percentiles(search_ms),
        "ask": _percentiles(ask_ms),
    }


def _timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Run `command`; wall seconds, its CPU seconds (user + system: steadier than wall time on
    a busy machine) and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "stdout": done.stdout}


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_s_median": round(statistics.median(r["wall"] for r in runs), 2),
        "cpu_s_median": round(statistics.median(r["cpu"] for r in runs), 2),
        "wall_s_runs": [round(r["wall"], 2) for r in runs],
    }


def _cli_env(data_dir: Path, code: Path | None) -> dict[str, str]:
    env = os.environ | {"MLSD_DATA_DIR": str(data_dir)}
    if code is not None:  # another checkout's code (e.g. main, for before/after figures)
        env["PYTHONPATH"] = str(code)
    return env


def _rss_mb(pid: int) -> dict[str, int]:
    """Resident set size now and at its peak (Linux: VmRSS, VmHWM), in MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    found = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith("Vm")}
    return {"rss_mb": round(found["VmRSS"] / 1024), "peak_rss_mb": round(found["VmHWM"] / 1024)}


def _wait_ready(server: subprocess.Popen[bytes], url: str) -> None:
    import httpx

    while True:
        if server.poll() is not None:
            raise RuntimeError(f"mlsd serve exited with {server.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.05)


def bench_serve_and_cli(
    runs: int = 3, chats: int = 20, asks: int = 5, code: Path | None = None
) -> dict[str, Any]:
    """Over one built index: `mlsd ask` in a fresh process with no server (`asks` times);
    `mlsd serve` to /readyz 200 (`runs` fresh processes); on the last, `chats` chat turns and
    the server's RSS, then `mlsd ask` in a fresh process with that server running."""
    import httpx

    queries = [q["query"] for q in yaml.safe_load(DATASET.read_text())["queries"]][:chats]
    with tempfile.TemporaryDirectory() as tmp:
        env = _cli_env(Path(tmp), code)
        subprocess.run([str(MLSD), "ingest"], env=env, capture_output=True, check=True)
        ask = [str(MLSD), "ask", QUESTION, "--json"]
        alone = [_timed(ask, env | {"MLSD_USE_SERVER": "false"}) for _ in range(asks)]
        ready: list[float] = []
        for run in range(runs):
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
                _wait_ready(server, url)
                ready.append(time.perf_counter() - started)
                if run < runs - 1:
                    continue
                for query in queries:
                    chat = httpx.post(f"{url}/api/chat", json={"message": query}, timeout=60)
                    chat.raise_for_status()
                memory = _rss_mb(server.pid)
                # The CLI finds the server by itself: MLSD_PORT is where it listens.
                near = [_timed(ask, env | {"MLSD_PORT": str(port)}) for _ in range(asks)]
            finally:
                server.terminate()
                server.wait(timeout=30)
    answered_by = {
        "without_server": json.loads(alone[-1]["stdout"]).get("answered_by", "in-process"),
        "with_server": json.loads(near[-1]["stdout"]).get("answered_by", "in-process"),
    }
    without, with_ = _medians(alone), _medians(near)
    return {
        "ask_without_server": without,
        "ask_with_server": with_,
        "ask_answered_by": answered_by,
        "ask_with_vs_without_server_cpu_ratio": round(
            with_["cpu_s_median"] / without["cpu_s_median"], 2
        ),
        "serve_ready_s_median": round(statistics.median(ready), 2),
        "serve_ready_s_runs": [round(s, 2) for s in ready],
        "chats": len(queries),
        "serve_after_chats": memory,
    }


def bench_encoders(questions: int = 100) -> dict[str, Any]:
    """One query embedding, per encoder, alternating so both see the same machine load."""
    from assistant.settings import get_settings
    from ingest.embedding import make_embedder

    settings = get_settings()
    queries = [q["query"] for q in yaml.safe_load(DATASET.read_text())["queries"]]
    queries = [q for q in (queries * (questions // len(queries) + 1))[:questions] if q.strip()]
    encoders: dict[Encoder, Embedder] = {
        name: make_embedder(settings.embedding_model, encoder=name)
        for name in ("onnx", "sentence-transformers")
    }
    load_s: dict[str, float] = {}
    for name, embedder in encoders.items():
        started = time.perf_counter()
        embedder.embed(["warm up"])
        load_s[name] = round(time.perf_counter() - started, 2)
    ms: dict[str, list[float]] = {name: [] for name in encoders}
    for query in queries:
        for name, embedder in encoders.items():
            started = time.perf_counter()
            embedder.embed([query])
            ms[name].append((time.perf_counter() - started) * 1000)
    medians = {name: round(statistics.median(values), 2) for name, values in ms.items()}
    return {
        "query_encoder": settings.query_encoder,
        "load_s_in_process": load_s,
        "embed_one_query_ms_median": medians,
        "onnx_vs_sentence_transformers_ratio": round(
            medians["onnx"] / medians["sentence-transformers"], 2
        ),
    }


SECTIONS = ("ingest", "added", "latency", "encoders", "serve")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks (all, or those named) and print the figures as JSON.

    `--code DIR` runs the CLI and server figures with another checkout's code, e.g. main's, for
    before/after figures taken on the same machine in the same run.
    """
    parser = argparse.ArgumentParser(prog="python -m evals.bench")
    parser.add_argument("sections", nargs="*", help=f"Any of {', '.join(SECTIONS)} (all).")
    parser.add_argument("--code", type=Path, help="Another checkout for the serve/CLI figures.")
    parser.add_argument(
        "--added",
        type=int,
        nargs="+",
        default=list(ADDED_COUNTS),
        help="Numbers of added documents for the 'added' section.",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; use any of {', '.join(SECTIONS)}")
    args.sections = args.sections or list(SECTIONS)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    if "ingest" in args.sections:
        results["ingest"] = bench_ingest()
    if "added" in args.sections:
        results["added_documents"] = bench_added(tuple(args.added))
    if "latency" in args.sections:
        results["latency"] = bench_latency()
    if "encoders" in args.sections:
        results["encoders"] = bench_encoders()
    if "serve" in args.sections:
        results["serve"] = bench_serve_and_cli()
        if args.code is not None:
            results["serve_other_code"] = bench_serve_and_cli(code=args.code.resolve())
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
