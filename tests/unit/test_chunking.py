"""Chunking and linking: headed chunks, content-addressed ids, longest-match links, cards."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.settings import Settings
from ingest.catalog import Catalog, load_catalog
from ingest.chunking import Chunker, card_chunk
from ingest.linking import ResourceLinker
from ingest.loading import RawDocument
from ingest.pipeline import corpus_documents, plan_chunks

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), corpus_dir=CORPUS)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


@pytest.fixture(scope="module")
def documents(settings: Settings, catalog: Catalog) -> list[RawDocument]:
    return corpus_documents(settings, catalog)


def make_chunker(settings: Settings, catalog: Catalog, drop: str | None = None) -> Chunker:
    resources = [r for r in catalog.resources.values() if r.id != drop]
    return Chunker(resources, settings.chunk_size, settings.chunk_overlap)


def by_title(catalog: Catalog, title: str) -> str:
    (resource_id,) = [r.id for r in catalog.resources.values() if r.title == title]
    return resource_id


def test_every_chunk_starts_with_its_heading(settings, catalog, documents) -> None:
    planned = plan_chunks(settings, catalog, documents)
    chunks = [chunk for doc_chunks in planned.values() for chunk in doc_chunks]
    passages = [chunk for chunk in chunks if chunk.kind == "passage"]
    assert len(passages) > 50
    for chunk in chunks:
        assert chunk.heading, chunk.id
        assert chunk.text.startswith(chunk.heading), chunk.id
        assert chunk.id.startswith(f"{chunk.doc_id}#")
    for chunk in passages:
        assert chunk.text.startswith(f"{chunk.heading}\n"), chunk.id
        assert 20 <= len(chunk.body) <= settings.chunk_size, chunk.id
        assert chunk.body.strip() == chunk.body
    for doc_chunks in planned.values():
        assert [c.position for c in doc_chunks] == list(range(len(doc_chunks)))
    ids = [chunk.id for chunk in chunks]
    assert len(ids) == len(set(ids))


def test_chunk_ids_are_deterministic(settings, catalog, documents) -> None:
    first = make_chunker(settings, catalog)
    second = make_chunker(settings, catalog)
    for doc in documents:
        ids = [c.id for c in first.chunk_document(doc)]
        assert ids
        assert ids == [c.id for c in second.chunk_document(doc)]


def test_chunk_ids_change_with_the_text(settings, catalog, documents) -> None:
    chunker = make_chunker(settings, catalog)
    (guide,) = [d for d in documents if d.doc_id == "source:mlsd-resource-guide"]
    old = "Kleppmann provides the deepest treatment available"
    assert old in guide.text
    edited = replace(guide, text=guide.text.replace(old, "Kleppmann gives"))
    before = chunker.chunk_document(guide)
    after = chunker.chunk_document(edited)
    changed = {c.id for c in before} - {c.id for c in after}
    assert len(before) == len(after)
    assert len(changed) == 1
    (changed_chunk,) = [c for c in before if c.id in changed]
    assert changed_chunk.heading == "Designing Data-Intensive Applications by Martin Kleppmann"


def test_chunk_ids_change_with_the_links(settings, catalog, documents) -> None:
    (guide,) = [d for d in documents if d.doc_id == "source:mlsd-resource-guide"]
    full = make_chunker(settings, catalog).chunk_document(guide)
    without_feast = make_chunker(settings, catalog, drop="feast").chunk_document(guide)
    assert [c.text for c in full] == [c.text for c in without_feast]
    for with_link, without_link in zip(full, without_feast, strict=True):
        if "feast" in with_link.resource_ids:
            assert "feast" not in without_link.resource_ids
            assert with_link.id != without_link.id
        else:
            assert with_link.id == without_link.id
    assert any("feast" in c.resource_ids for c in full)


def test_longest_name_wins(catalog) -> None:
    linker = ResourceLinker(catalog.resources.values())
    mcmahon = by_title(catalog, "Machine Learning Engineering with Python")
    burkov = by_title(catalog, "Machine Learning Engineering")
    assert catalog.get(mcmahon).authors == ("Andrew McMahon",)
    assert catalog.get(burkov).authors == ("Andriy Burkov",)
    text = "Machine Learning Engineering with Python by Andrew McMahon covers the MLOps lifecycle."
    assert linker.find(text) == (mcmahon,)
    assert linker.find("Read Machine Learning Engineering first.") == (burkov,)
    both = "Machine Learning Engineering, then Machine Learning Engineering with Python."
    assert linker.find(both) == (burkov, mcmahon)
    # Names match as whole words, across case, quote style and line breaks.
    assert linker.find("feasting on features") == ()
    assert linker.find("the FEAST\nfeature store") == ("feast",)
    assert linker.find("\u201cDesigning Machine\nLearning Systems\u201d") == (
        "designing-machine-learning-systems",
    )


def test_book_report_never_links_burkov(settings, catalog, documents) -> None:
    (report,) = [d for d in documents if d.doc_id == "source:dmls-book-report"]
    chunks = make_chunker(settings, catalog).chunk_document(report)
    linked = {rid for chunk in chunks for rid in chunk.resource_ids}
    assert by_title(catalog, "Machine Learning Engineering with Python") in linked
    assert by_title(catalog, "MLOps Engineering at Scale") in linked
    assert by_title(catalog, "Machine Learning Engineering") not in linked


def test_one_card_per_resource(settings, catalog, documents) -> None:
    planned = plan_chunks(settings, catalog, documents)
    cards = [c for chunks in planned.values() for c in chunks if c.kind == "card"]
    assert len(cards) == len(catalog.resources)
    assert {c.doc_id for c in cards} == {f"card:{rid}" for rid in catalog.resources}
    for card in cards:
        resource = catalog.get(card.doc_id.removeprefix("card:"))
        assert card.resource_ids == (resource.id,)
        assert card.heading == resource.title
        assert resource.title in card.text
        assert resource.summary.strip() in card.text
        assert resource.best_for.strip() in card.text
        assert card_chunk(resource).id == card.id


def test_editing_a_card_changes_only_its_id(catalog) -> None:
    feast = catalog.get("feast")
    edited = feast.model_copy(update={"summary": feast.summary + " Now with more streaming."})
    assert card_chunk(edited).id != card_chunk(feast).id
    assert card_chunk(edited).doc_id == card_chunk(feast).doc_id == "card:feast"
