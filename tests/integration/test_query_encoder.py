"""The ONNX query encoder over the real index built by the ingest encoder: same results."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.service import build_assistant
from assistant.storage import Storage
from ingest.embedding import make_embedder
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.integration

DATASET = Path(__file__).resolve().parents[2] / "evals" / "datasets" / "queries.yaml"
# Issue 16 measured the int8 export at 98% identical top results against the reference model.
# Through the full pipeline after the learned ranker (issue 12) the first resource agreed on 51 of
# 53 dev questions (96%, 2026-12-02): near-ties swap. Issue 16 stays open on exact agreement.
MIN_SAME_FIRST = 0.96


def test_onnx_queries_find_what_the_ingest_encoder_finds(settings_factory, embedder) -> None:
    settings = settings_factory()  # the real corpus, a fresh data dir
    run_ingest(settings, embedder=embedder, progress=False)
    reference = build_assistant(settings, embedder, Storage(settings.data_dir / "st.sqlite3"))
    onnx = make_embedder(settings.embedding_model, encoder="onnx")
    served = build_assistant(settings, onnx, Storage(settings.data_dir / "onnx.sqlite3"))
    # The dev split only: the test split is for reporting, never for decisions.
    questions = [
        q["query"]
        for q in yaml.safe_load(DATASET.read_text())["queries"]
        if q["split"] == "dev" and q["query"].strip()
    ]
    same_first = same_set = same_order = 0
    for question in questions:
        expected = [hit.resource.id for hit in reference.search(question, k=10).hits]
        found = [hit.resource.id for hit in served.search(question, k=10).hits]
        assert len(found) == len(expected)
        same_first += found[:1] == expected[:1]
        same_set += set(found) == set(expected)
        same_order += found == expected
    print(f"\n{len(questions)} dev questions: same first {same_first}, same top-10 set "
          f"{same_set}, same top-10 order {same_order}")  # fmt: skip
    assert same_first >= MIN_SAME_FIRST * len(questions)
    # Dense scores differ in the third decimal, so only near-ties may swap: most lists agree.
    assert same_set > len(questions) / 2
