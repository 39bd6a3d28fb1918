"""Retrieval v2: the learned ranker, the user's documents as results, paged store reads, the
index version a running assistant follows, and the no-op re-ingest that reads nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.ranker import MODEL_PATH
from assistant.service import Assistant, build_assistant
from assistant.settings import Settings
from evals.train_ranker import read_table, train_from_table
from ingest import pipeline as pipeline_module
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest
from ingest.store import open_store

FIXTURE_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"

RUNBOOK = """# Canary release runbook for the ranking model

Every new ranking model first takes 5% of traffic as a canary for one hour. If the click-through
rate of the canary falls more than 2% below control, move the production alias back to the
previous model version; serving pods reload it within a minute.
"""
NOTES = """Notes from our labeling vendor meeting.

Annotators disagreed on sarcasm, so the guideline gets ten more examples per category and gold
questions are mixed into every batch of labels.
"""


def settings_for(root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": root / "data",
        "corpus_dir": FIXTURE_CORPUS,
        "index_check_s": 0.0,
    }
    return Settings(**(values | overrides))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Settings, Path]:
    """The fixture corpus plus two user files, ingested once for this module."""
    root = tmp_path_factory.mktemp("v2")
    files = root / "files"
    files.mkdir()
    (files / "canary-runbook.md").write_text(RUNBOOK, encoding="utf-8")
    (files / "vendor-notes.txt").write_text(NOTES, encoding="utf-8")
    settings = settings_for(root)
    run_ingest(
        settings,
        add=[files / "canary-runbook.md", files / "vendor-notes.txt"],
        embedder=embedder,
        progress=False,
    )
    return settings, files


@pytest.fixture(scope="module")
def assistant(indexed: tuple[Settings, Path], embedder: Embedder) -> Assistant:
    return build_assistant(indexed[0], embedder=embedder)


def test_retraining_reproduces_the_saved_ranker() -> None:
    model, figures = train_from_table(read_table())
    assert model == MODEL_PATH.read_text(encoding="utf-8")
    assert figures["cv_ndcg@10"] > 0.5  # cross-validated on dev: far above a random order


def test_an_added_document_is_a_result_of_kind_document(assistant: Assistant) -> None:
    hits = assistant.search("when do we roll back a canary ranking model?", k=5).hits
    top = hits[0]
    assert top.resource.kind == "document"
    assert top.resource.title == "Canary release runbook for the ranking model"  # first heading
    assert top.evidence is not None
    assert top.evidence.origin == "canary-runbook.md"  # the file name, never a server path
    assert "canary" in top.snippet.lower()


def test_a_document_without_a_heading_is_titled_by_its_file_name(assistant: Assistant) -> None:
    hits = assistant.search("annotators disagree about sarcasm labels", k=3).hits
    assert next(h.resource.title for h in hits if h.resource.kind == "document") == (
        "vendor-notes.txt"
    )


def test_a_document_is_cited_in_answers_and_can_be_rated(assistant: Assistant) -> None:
    answer = assistant.ask("when do we roll back a canary ranking model?")
    document = answer.items[0].resource
    assert document.kind == "document"
    assert any(c.origin == "canary-runbook.md" for c in answer.citations)
    assert answer.session_id is not None
    assert assistant.record_feedback(answer.session_id, 1, resource_id=document.id) > 0


def test_documents_that_do_not_answer_leave_out_of_scope_alone(assistant: Assistant) -> None:
    result = assistant.search("what is a good recipe for banana bread?")
    assert result.parsed.intent == "out_of_scope"
    assert result.hits == []


def test_catalog_questions_still_find_catalog_resources(assistant: Assistant) -> None:
    hits = assistant.search("feature store for online features", k=3).hits
    assert hits[0].resource.id in {"feast", "tecton"}


def test_every_store_read_is_paged(
    indexed: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import store as store_module

    monkeypatch.setattr(store_module, "PAGE_SIZE", 3)  # smaller than the index: many pages
    store = open_store(indexed[0])
    calls: list[dict[str, Any]] = []
    real_get = store._collection.get

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_get(**kwargs)

    monkeypatch.setattr(store._collection, "get", spy)
    chunks = [c for page in store.pages() for c in page]
    inventory = store.inventory()
    assert len(chunks) == sum(len(d.ids) for d in inventory.values()) > 3
    assert len({c.id for c in chunks}) == len(chunks)
    # No read asks for more than a page, by id or by offset.
    for call in calls:
        if call.get("ids") is not None:
            assert len(call["ids"]) <= 3
        else:
            assert call.get("limit") is not None and call["limit"] <= 3
    assert len(store.get([c.id for c in chunks])) == len(chunks)


def test_a_running_assistant_picks_up_a_new_ingest(
    indexed: tuple[Settings, Path], embedder: Embedder, tmp_path: Path
) -> None:
    settings = indexed[0]
    assistant = build_assistant(settings, embedder=embedder)
    before = assistant.index_version
    extra = tmp_path / "gpu-quota.md"
    extra.write_text(
        "# GPU quota policy\n\nEach team gets 400 GPU-hours a week on the training cluster; "
        "idle reservations count against the quota.\n",
        encoding="utf-8",
    )
    run_ingest(settings, add=[extra], embedder=embedder, progress=False)
    hits = assistant.search("how many GPU hours a week does a team get?", k=3).hits
    assert assistant.index_version != before
    assert hits[0].resource.title == "GPU quota policy"


def test_a_noop_reingest_reads_and_chunks_nothing(
    indexed: tuple[Settings, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = indexed[0]
    run_ingest(settings, embedder=embedder, progress=False)  # settle earlier tests' additions

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an unchanged document was parsed or chunked again")

    monkeypatch.setattr(pipeline_module.Chunker, "chunk_document", refuse)
    monkeypatch.setattr("ingest.loading._decode", refuse)
    report = run_ingest(settings, embedder=embedder, progress=False)
    assert report.embedded == 0 and report.deleted == 0
    assert report.skipped_unchanged >= 4  # two corpus sources and the user's files


def test_the_documents_dataset_is_large_enough_and_valid() -> None:
    from evals.documents import document_files, load_document_cases

    cases = load_document_cases()
    assert len(cases) >= 20
    assert len(document_files(cases)) >= 10
    assert {c.split for c in cases} == {"dev", "test"}


def test_the_ensemble_baseline_ranks_catalog_resources(
    assistant: Assistant, embedder: Embedder
) -> None:
    from evals.pipelines import EnsembleBaseline

    ensemble = EnsembleBaseline(list(assistant.catalog.resources.values()), embedder)
    found = ensemble("open source feature store")
    assert set(found) <= set(assistant.catalog.resources)
    assert found[0] in {"feast", "tecton"}
