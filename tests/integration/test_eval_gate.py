"""The real eval on the dev split (the one the gate reads; test is sealed), over a fresh index of
the whole corpus: report and gate."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from assistant.settings import Settings
from evals.documents import document_files, load_document_cases, with_documents
from evals.gate import load_thresholds
from evals.pipelines import PIPELINES
from evals.runner import eval_assistant, run_evals
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.integration

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("eval")
    settings = Settings(data_dir=root / "data", corpus_dir=REAL_CORPUS)
    run_ingest(settings, embedder=embedder, progress=False)
    assistant = eval_assistant(settings, embedder, root / "scratch")
    out_dir = root / "report"
    files = document_files(load_document_cases())
    documents = with_documents(settings, embedder, root / "scratch" / "documents", files)
    results = run_evals(
        assistant, split="dev", out_dir=out_dir, embedder=embedder, with_documents=documents
    )
    return results, out_dir


def _sessions(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])


def test_eval_sessions_stay_out_of_the_data_dir(eval_run):
    results, out_dir = eval_run
    root = out_dir.parent
    # The data dir's own storage (what `mlsd ask` and the server use) gets none of them.
    data_storage = root / "data" / "assistant.sqlite3"
    assert not data_storage.exists() or _sessions(data_storage) == 0
    assert _sessions(root / "scratch" / "eval-sessions.sqlite3") >= results["counts"]["queries"]


def test_report_files_are_written(eval_run):
    results, out_dir = eval_run
    report = (out_dir / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Retrieval evals: dev split")
    for heading in ("## Retrieval by pipeline", "## Answer checks", "## Conversations",
                    "## Personalization", "## Gate", "## Failures",
                    "## Are the differences real?"):  # fmt: skip
        assert heading in report
    for name in PIPELINES:
        assert f"| {name} |" in report or f"| **{name}** |" in report

    saved = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    assert saved["split"] == "dev"
    assert list(saved["pipelines"]) == list(PIPELINES)
    full = saved["pipelines"]["full"]
    assert len(full["queries"]) == results["counts"]["queries"] > 0
    assert {"id", "query", "expected", "got", "metrics", "latency_ms"} <= set(full["queries"][0])

    png = (out_dir / "metrics.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_every_pipeline_is_measured(eval_run):
    results, _ = eval_run
    for name in PIPELINES:
        pipeline = results["pipelines"][name]
        assert all(0.0 <= v <= 1.0 for v in pipeline["metrics"].values())
        assert 0 < pipeline["latency_ms"]["median"] <= pipeline["latency_ms"]["p95"]
    # The project's own pipeline has to beat the tutorial baseline it replaces.
    full, baseline = results["pipelines"]["full"], results["pipelines"]["baseline"]
    assert full["metrics"]["ndcg@10"] > baseline["metrics"]["ndcg@10"]


def test_pipeline_differences_are_tested_for_significance(eval_run):
    results, _ = eval_run
    rows = results["significance"]
    pairs = {(row["a"], row["b"]) for row in rows}
    assert pairs == {
        ("hybrid", "bm25"),
        ("hybrid", "dense"),
        ("full", "hybrid"),
        ("full", "ensemble"),
        ("full", "baseline"),
    }
    for row in rows:
        mean = results["pipelines"]
        assert row["delta"] == pytest.approx(
            mean[row["a"]]["metrics"][row["metric"]] - mean[row["b"]]["metrics"][row["metric"]],
            abs=1e-3,
        )
        assert row["wins"] + row["ties"] + row["losses"] == results["counts"]["queries"]
        assert 0.0 <= row["p_value"] <= 1.0 and row["significant"] == (row["p_value"] < 0.05)
    # The margins the gate reads are in the summary under "<a>-vs-<b>.<metric>".
    assert results["summary"]["hybrid-vs-bm25.ndcg@10"] == next(
        r["delta"] for r in rows if (r["a"], r["b"], r["metric"]) == ("hybrid", "bm25", "ndcg@10")
    )


def test_the_composed_answers_are_scored_against_the_labels(eval_run):
    results, _ = eval_run
    labels = {q["id"]: q["expected"] for q in results["pipelines"]["full"]["queries"]}
    rows = results["answers"]["rows"]
    # precision@5 by hand: labelled resources among the (up to five) shown, over five.
    by_hand = sum(sum(1 for i in r["got"][:5] if labels[r["id"]].get(i, 0) >= 1) / 5 for r in rows)
    relevance = results["answers"]["relevance"]
    assert relevance["precision@5"] == pytest.approx(by_hand / len(rows), abs=1e-4)
    assert 0.0 < relevance["ndcg@5"] <= 1.0
    assert results["summary"]["answers.ndcg@5"] == relevance["ndcg@5"]


def test_gate_passes_with_the_committed_thresholds(eval_run):
    results, _ = eval_run
    assert results["gate"]["thresholds"] == load_thresholds()
    assert results["gate"]["failures"] == []
    assert results["gate"]["passed"]
