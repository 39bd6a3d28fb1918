"""Evals: benchmarks run as a user would (`make bench`): ingest and answer latency.

Figures are medians over repeated runs; they are reported, never asserted in tests.
"""

from __future__ import annotations

import json
import os
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


def main() -> None:
    """Run every benchmark and print the figures as JSON."""
    results = {
        "cpus": os.cpu_count(),
        "ingest": bench_ingest(),
        "latency": bench_latency(),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
