"""The ingest run on the fixture corpus, with a real Chroma directory and the real model.

Incremental (only what changed is embedded), idempotent (a second run does nothing), crash-safe
(a run interrupted anywhere is finished by the next, with no duplicates and no orphans).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.settings import Settings
from ingest.catalog import load_catalog
from ingest.chunking import Chunk
from ingest.embedding import (
    MODELS,
    EmbedderError,
    ModelSpec,
    SentenceTransformerEmbedder,
    make_embedder,
)
from ingest.loading import SkippedFile
from ingest.pipeline import IngestReport, corpus_documents, plan_chunks, run_ingest
from ingest.store import ChromaStore, ModelMismatch, open_store

GUIDE = "guide.txt"
DMLS_SENTENCE = "It explains why architectural decisions are made."


def ingest(settings: Settings, embedder, **kwargs: Any) -> IngestReport:
    return run_ingest(settings, embedder=embedder, progress=False, **kwargs)


def stored(settings: Settings) -> dict[str, set[str]]:
    """What the store holds, by document, read through a fresh handle."""
    return open_store(settings).ids_by_doc()


def all_ids(by_doc: dict[str, set[str]]) -> set[str]:
    return {i for ids in by_doc.values() for i in ids}


def planned_ids(settings: Settings) -> dict[str, set[str]]:
    catalog = load_catalog(settings.corpus_dir)
    planned = plan_chunks(settings, catalog, corpus_documents(settings, catalog))
    return {doc: {c.id for c in chunks} for doc, chunks in planned.items()}


def assert_matches_clean_run(settings: Settings, reference: Settings, embedder) -> None:
    """The store equals a clean run of the same corpus into a fresh store: no dupes, no orphans."""
    clean = ingest(reference, embedder)
    assert clean.embedded == clean.chunks
    expected = stored(reference)
    actual = stored(settings)
    assert actual == expected
    chunks = open_store(settings).chunks()
    assert len(chunks) == len({c.id for c in chunks}) == clean.chunks == len(all_ids(expected))


def edit_guide(corpus: Path, update_source, old: str, new: str) -> None:
    text = (corpus / "sources" / GUIDE).read_text(encoding="utf-8")
    assert old in text
    update_source(corpus, GUIDE, text.replace(old, new))


class CrashingStore:
    """The real store, except that it raises on the Nth upsert or on a delete of stale ids."""

    def __init__(self, inner: ChromaStore, upsert_fails_at: int = 0, delete_fails: bool = False):
        self._inner = inner
        self._upsert_fails_at = upsert_fails_at
        self._delete_fails = delete_fails
        self.upserts = 0
        self.delete_attempts: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        self.upserts += 1
        if self.upserts == self._upsert_fails_at:
            raise RuntimeError(f"simulated crash in upsert #{self.upserts}")
        self._inner.upsert(chunks, vectors)

    def delete(self, ids: Sequence[str]) -> None:
        if self._delete_fails and ids:
            self.delete_attempts.append(list(ids))
            raise RuntimeError("simulated crash in delete")
        self._inner.delete(ids)


# --- incremental and idempotent ------------------------------------------------------------------


def test_cold_run_then_no_op(settings_factory, fixture_corpus, embedder) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    plan = planned_ids(settings)
    first = ingest(settings, embedder)
    assert first.chunks == len(all_ids(plan)) == 9
    assert first.documents == len(plan) == 6  # two sources, four cards
    assert (first.embedded, first.deleted, first.unchanged) == (first.chunks, 0, 0)
    assert first.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert stored(settings) == plan

    second = ingest(settings, embedder)
    assert (second.embedded, second.deleted, second.unchanged) == (0, 0, first.chunks)
    assert stored(settings) == plan


def test_changed_source_reembeds_only_its_changed_chunks(
    settings_factory, fixture_corpus, embedder, update_source
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    ingest(settings, embedder)
    before = stored(settings)
    edit_guide(fixture_corpus, update_source, DMLS_SENTENCE, "It says why each choice is made.")

    after_plan = planned_ids(settings)
    new_ids = after_plan["source:tiny-guide"] - before["source:tiny-guide"]
    stale_ids = before["source:tiny-guide"] - after_plan["source:tiny-guide"]
    assert 0 < len(new_ids) < len(after_plan["source:tiny-guide"])

    report = ingest(settings, embedder)
    assert report.embedded == len(new_ids)
    assert report.deleted == len(stale_ids) > 0
    after = stored(settings)
    assert after == after_plan
    assert not stale_ids & all_ids(after)
    for doc, ids in before.items():
        if doc != "source:tiny-guide":
            assert after[doc] == ids, f"{doc} was touched"


def test_source_edited_without_new_checksum_is_refused(
    settings_factory, fixture_corpus, embedder
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    ingest(settings, embedder)
    before = stored(settings)
    path = fixture_corpus / "sources" / GUIDE
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    with pytest.raises(SkippedFile, match=r"guide\.txt: sha256 .* does not match sources\.yaml"):
        ingest(settings, embedder)
    assert stored(settings) == before


def test_removed_source_loses_its_chunks(settings_factory, fixture_corpus, embedder) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    ingest(settings, embedder)
    before = stored(settings)
    assert before["source:monitoring-notes"]
    # Drop the notes and the one resource only they mention (mentioned_in must stay valid).
    for name, key, drop in (
        ("sources.yaml", "sources", "monitoring-notes"),
        ("resources.yaml", "resources", "evidently-ai"),
    ):
        path = fixture_corpus / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data[key] = [entry for entry in data[key] if entry["id"] != drop]
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    report = ingest(settings, embedder)
    gone = before["source:monitoring-notes"] | before["card:evidently-ai"]
    assert (report.embedded, report.deleted) == (0, len(gone))
    after = stored(settings)
    assert set(after) == set(before) - {"source:monitoring-notes", "card:evidently-ai"}
    assert all_ids(after) == all_ids(before) - gone


# --- the user's own files -------------------------------------------------------------------------


USER_NOTES = """# Serving notes

## Batch or online
Online inference needs a low-latency feature lookup, which is what Feast's online store is for;
batch scoring can read the offline store directly and write predictions to a table.

## Monitoring
Evidently AI reports data drift between the training set and last week's traffic.
"""


def test_added_file_is_kept_and_forgotten_when_deleted(
    settings_factory, fixture_corpus, embedder, tmp_path
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    notes = tmp_path / "my notes.md"
    notes.write_text(USER_NOTES, encoding="utf-8")

    first = ingest(settings, embedder, add=[notes])
    assert first.added == [str(notes)]
    assert first.skipped == []
    user_docs = {doc: ids for doc, ids in stored(settings).items() if doc.startswith("user:")}
    assert len(user_docs) == 1
    (user_doc, user_ids) = next(iter(user_docs.items()))
    assert first.embedded == first.chunks == len(all_ids(planned_ids(settings))) + len(user_ids)
    user_chunks = [c for c in open_store(settings).chunks() if c.doc_id == user_doc]
    assert {c.trust for c in user_chunks} == {"user"}
    assert "feast" in {rid for c in user_chunks for rid in c.resource_ids}

    later = ingest(settings, embedder)  # no --add: the file is remembered
    assert (later.embedded, later.deleted, later.added) == (0, 0, [])
    assert stored(settings)[user_doc] == user_ids

    notes.unlink()
    gone = ingest(settings, embedder)
    assert gone.deleted == len(user_ids)
    assert gone.embedded == 0
    assert [s["path"] for s in gone.skipped] == [str(notes)]
    assert "no such file" in gone.skipped[0]["reason"]
    assert user_doc not in stored(settings)
    assert stored(settings) == planned_ids(settings)

    again = ingest(settings, embedder)  # forgotten: not reported a second time
    assert (again.skipped, again.embedded, again.deleted) == ([], 0, 0)


def test_mixed_add_list_keeps_good_files_and_reports_bad_ones(
    settings_factory, fixture_corpus, embedder, tmp_path
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus, max_file_bytes=1_000)
    folder = tmp_path / "mine"
    folder.mkdir()
    files = {
        "good.md": USER_NOTES.encode("utf-8"),
        "good.txt": b"Tecton is a managed feature platform for real-time features in production.",
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "empty.md": b"",
        "latin1.txt": "Les caf\u00e9s et les feature stores.".encode("latin-1"),
        "oversized.txt": b"feature store " * 150,  # 2,100 bytes > 1,000
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    paths = [folder / name for name in files]
    reasons = {
        "binary.txt": "looks binary",
        "empty.md": "no text in it",
        "latin1.txt": "not UTF-8 text",
        "oversized.txt": "too large",
    }
    ingest(settings, embedder)
    corpus_ids = all_ids(stored(settings))

    report = ingest(settings, embedder, add=paths)
    assert report.added == [str(folder / "good.md"), str(folder / "good.txt")]
    skipped = {Path(s["path"]).name: s["reason"] for s in report.skipped}
    assert set(skipped) == set(reasons)
    for name, reason in reasons.items():
        assert reason in skipped[name]
        assert str(folder / name) in skipped[name]
    assert report.deleted == 0
    after = stored(settings)
    assert corpus_ids <= all_ids(after)
    user_docs = sorted(doc for doc in after if doc.startswith("user:"))
    assert [doc.split(":")[1].split("-")[0] for doc in user_docs] == ["good", "good"]
    assert report.embedded == len(all_ids(after)) - len(corpus_ids)
    remembered = json.loads((settings.data_dir / "user_files.json").read_text(encoding="utf-8"))
    assert sorted(Path(e["path"]).name for e in remembered) == ["good.md", "good.txt"]


# --- crash safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fails_at", [1, 4])
def test_crash_during_upsert_is_finished_by_the_next_run(
    settings_factory, fixture_corpus, embedder, fails_at: int
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus, embed_batch_size=2)
    crashing = CrashingStore(open_store(settings), upsert_fails_at=fails_at)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(settings, embedder, store=crashing)
    assert len(all_ids(stored(settings))) == 2 * (fails_at - 1)  # batches before the crash

    report = ingest(settings, embedder)
    assert report.embedded == report.chunks - 2 * (fails_at - 1)
    assert report.deleted == 0
    reference = settings_factory(corpus_dir=fixture_corpus, data_dir=settings.data_dir.parent / "r")
    assert_matches_clean_run(settings, reference, embedder)


def test_crash_after_a_source_change_converges(
    settings_factory, fixture_corpus, embedder, update_source
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus, embed_batch_size=2)
    ingest(settings, embedder)
    before = stored(settings)
    text = (fixture_corpus / "sources" / GUIDE).read_text(encoding="utf-8")
    text = text.replace(DMLS_SENTENCE, "It says why each choice is made.")
    text = text.replace("go deeper.", "go deeper, one resource at a time.")
    text = text.replace(
        "Author Profile", "Experiment Tracking\n" + "| MLflow | Open-source |\n" * 3
    )
    update_source(fixture_corpus, GUIDE, text)
    new_ids = all_ids(planned_ids(settings)) - all_ids(before)
    assert len(new_ids) >= 3

    crashing = CrashingStore(open_store(settings), upsert_fails_at=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(settings, embedder, store=crashing)
    half = all_ids(stored(settings))
    assert all_ids(before) <= half  # stale chunks not yet deleted
    assert len(half & new_ids) == 2  # one batch of new chunks in

    report = ingest(settings, embedder)
    assert report.embedded == len(new_ids) - 2
    assert report.deleted == len(all_ids(before) - all_ids(planned_ids(settings)))
    reference = settings_factory(corpus_dir=fixture_corpus, data_dir=settings.data_dir.parent / "r")
    assert_matches_clean_run(settings, reference, embedder)


def test_crash_during_delete_converges(
    settings_factory, fixture_corpus, embedder, update_source
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus, embed_batch_size=2)
    ingest(settings, embedder)
    before = all_ids(stored(settings))
    edit_guide(fixture_corpus, update_source, DMLS_SENTENCE, "It says why each choice is made.")
    stale = before - all_ids(planned_ids(settings))
    assert stale

    crashing = CrashingStore(open_store(settings), delete_fails=True)
    with pytest.raises(RuntimeError, match="simulated crash in delete"):
        ingest(settings, embedder, store=crashing)
    assert crashing.delete_attempts == [sorted(stale)]
    assert stale <= all_ids(stored(settings))  # new chunks in, stale ones still there

    report = ingest(settings, embedder)
    assert (report.embedded, report.deleted) == (0, len(stale))
    reference = settings_factory(corpus_dir=fixture_corpus, data_dir=settings.data_dir.parent / "r")
    assert_matches_clean_run(settings, reference, embedder)


# --- the store refuses to mix models; the model refuses wrong weights -----------------------------


def test_store_built_with_another_model_is_refused_until_rebuilt(
    settings_factory, fixture_corpus, embedder
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    other = ChromaStore(
        collection=settings.collection,
        model_name="some/other-model",
        dimension=384,
        path=str(settings.chroma_dir),
    )
    catalog = load_catalog(fixture_corpus)
    chunks = [c for cs in plan_chunks(settings, catalog, []).values() for c in cs]
    other.upsert(chunks, embedder.embed([c.text for c in chunks]))

    with pytest.raises(ModelMismatch) as caught:
        open_store(settings)
    message = str(caught.value)
    assert "some/other-model" in message
    assert "sentence-transformers/all-MiniLM-L6-v2" in message
    assert "mlsd ingest --rebuild" in message
    with pytest.raises(ModelMismatch):
        ingest(settings, embedder)

    rebuilt = open_store(settings, rebuild=True)
    assert rebuilt.ids_by_doc() == {}
    report = ingest(settings, embedder, store=rebuilt)
    assert report.embedded == report.chunks == 9
    assert stored(settings) == planned_ids(settings)
    assert ingest(settings, embedder).embedded == 0


def test_rebuild_reembeds_everything(settings_factory, fixture_corpus, embedder) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    first = ingest(settings, embedder)
    again = ingest(settings, embedder, rebuild=True)
    assert again.embedded == first.embedded == again.chunks
    assert again.deleted == 0
    assert stored(settings) == planned_ids(settings)


def test_wrong_model_checksum_is_refused_before_loading() -> None:
    real = MODELS["all-MiniLM-L6-v2"]
    wrong = ModelSpec(name=real.name, package=real.package, sha256="0" * 64, dimension=384)
    model = SentenceTransformerEmbedder(wrong)
    with pytest.raises(EmbedderError) as caught:
        model.load()
    message = str(caught.value)
    assert "model.safetensors" in message
    assert real.sha256 in message  # the actual checksum of the file on disk
    assert "0" * 64 in message
    assert model._model is None  # the weights were never handed to sentence-transformers
    with pytest.raises(EmbedderError, match="not the official ones"):
        model.embed(["feature stores"])  # and it stays refused


def test_unknown_model_and_missing_package_are_clear_errors() -> None:
    with pytest.raises(EmbedderError, match="unknown embedding model 'gpt-embed'"):
        make_embedder("gpt-embed")
    missing = ModelSpec(name="x/y", package="no_such_model_package", sha256="0" * 64, dimension=8)
    with pytest.raises(EmbedderError, match="'no_such_model_package' is not installed"):
        SentenceTransformerEmbedder(missing).load()


def test_embeddings_are_unit_vectors_and_deterministic(embedder) -> None:
    texts = ["open source feature store", "model monitoring and drift", "open source feature store"]
    vectors = embedder.embed(texts)
    assert len(vectors) == 3
    assert all(len(v) == 384 for v in vectors)
    for v in vectors:
        assert abs(sum(x * x for x in v) - 1.0) < 1e-4
    assert vectors[0] == pytest.approx(vectors[2], abs=1e-6)
    feast = embedder.embed(["Feast feature store"])[0]
    similar = sum(a * b for a, b in zip(vectors[0], feast, strict=True))
    unrelated = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    assert similar > unrelated
    assert embedder.embed([]) == []
