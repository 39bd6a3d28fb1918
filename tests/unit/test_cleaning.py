"""Cleaning on the real sources: boilerplate never reaches a chunk, headings are found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.settings import Settings
from ingest.catalog import load_catalog
from ingest.chunking import Chunk, Chunker
from ingest.cleaning import remove_boilerplate, split_sections
from ingest.loading import RawDocument
from ingest.pipeline import corpus_documents

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def chunker_and_docs(tmp_path_factory) -> tuple[Chunker, dict[str, RawDocument]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), corpus_dir=CORPUS)
    catalog = load_catalog(CORPUS)
    chunker = Chunker(catalog.resources.values(), settings.chunk_size, settings.chunk_overlap)
    docs = {d.doc_id.removeprefix("source:"): d for d in corpus_documents(settings, catalog)}
    return chunker, docs


def cleaned_and_chunks(chunker_and_docs, source_id: str) -> tuple[str, str, list[Chunk]]:
    chunker, docs = chunker_and_docs
    doc = docs[source_id]
    return doc.text, chunker.clean(doc), chunker.chunk_document(doc)


AFFILIATE_NOISE = [
    "Get It From Amazon",
    "Check Price",
    "FREE Returns",
    "Author Profile",
    "Maren Holloway",
    "CopyCheer",
    "Latest entries",
    "Tonneau",
    "Swimsuit",
    "Perfume",
    "—Megan Foster",
    "Megan Foster",
    "Caleb Morgan",
    "chalkboard confetti",  # inside a signed fake review
    "robot butler",
]

AFFILIATE_TITLES = [
    "Machine Learning System Design: With end-to-end examples",
    "Machine Learning Engineering with Python: Manage the lifecycle of machine learning models",
    "Ace Machine Learning System Design Interviews",
    "Machine Learning System Design Bible",
    "5. Machine Learning Engineering",
]


def test_affiliate_page_loses_its_boilerplate(chunker_and_docs) -> None:
    raw, cleaned, chunks = cleaned_and_chunks(chunker_and_docs, "affiliate-book-reviews")
    assert chunks
    for noise in AFFILIATE_NOISE:
        assert noise in raw, f"{noise!r} is not in the raw page: the test checks nothing"
        assert noise not in cleaned, noise
        for chunk in chunks:
            assert noise not in chunk.text, f"{noise!r} reached chunk {chunk.id}"


def test_affiliate_page_keeps_the_book_titles(chunker_and_docs) -> None:
    _, cleaned, chunks = cleaned_and_chunks(chunker_and_docs, "affiliate-book-reviews")
    joined = "\n".join(chunk.text for chunk in chunks)
    for title in AFFILIATE_TITLES:
        assert title in cleaned
        assert title in joined
    linked = {rid for chunk in chunks for rid in chunk.resource_ids}
    assert {
        "machine-learning-system-design-babushkin-kravchenko",
        "machine-learning-engineering-with-python",
        "ace-machine-learning-system-design-interviews",
        "machine-learning-system-design-bible",
        "machine-learning-engineering-burkov",
    } <= linked


def test_book_report_loses_the_tweet_embed_and_prompt(chunker_and_docs) -> None:
    raw, cleaned, chunks = cleaned_and_chunks(chunker_and_docs, "dmls-book-report")
    for noise in ("Tweet", "@bagrounds", "Bryan Grounds", "t.co/", "Gemini Prompt"):
        assert noise in raw
        assert noise not in cleaned, noise
        for chunk in chunks:
            assert noise not in chunk.text, f"{noise!r} reached chunk {chunk.id}"
    assert "Data Management at Scale" in chunks[-1].text  # the reading list's end survives


def test_plain_text_headings_of_000(chunker_and_docs) -> None:
    _, _, chunks = cleaned_and_chunks(chunker_and_docs, "mlsd-resource-guide")
    by_heading = {chunk.heading: chunk for chunk in chunks}
    ddia = by_heading["Designing Data-Intensive Applications by Martin Kleppmann"]
    assert "Kleppmann provides the deepest treatment" in ddia.text
    assert ddia.resource_ids[0] == "designing-data-intensive-applications"
    table = by_heading["Feature Stores"]
    assert "| Feast | Open-source feature store" in table.text
    assert "| Hopsworks |" in table.text
    assert {"feast", "tecton", "databricks-feature-store", "hopsworks"} <= set(table.resource_ids)
    # Paragraphs, bullets and "Link:" lines are never taken for headings.
    for chunk in chunks:
        assert not chunk.heading.startswith(("Link:", "Where to join:", "- ", "|"))
        assert len(chunk.heading) <= 100


def test_markdown_headings_of_001_come_from_hash_lines(chunker_and_docs) -> None:
    raw, _, chunks = cleaned_and_chunks(chunker_and_docs, "mlsd-study-notes")
    hash_lines = {m.group(1) for m in re.finditer(r"(?m)^#+\s+(.+?)\s*$", raw)}
    headings = {chunk.heading for chunk in chunks}
    for heading in headings:
        assert set(heading.split(" > ")) <= hash_lines, heading
    assert {
        "Courses",
        "Papers",
        "Blogs and Websites",
        "GitHub Repositories",
        "Conferences and Workshops",
    } <= headings
    assert "Machine Learning System Design > Resources > Books" in headings
    # Front matter is dropped; numbered items stay in the body.
    joined = "\n".join(chunk.text for chunk in chunks)
    assert "Author: Vighnesh Nayak" not in joined
    assert '1. "Designing Machine Learning Systems" by Chip Huyen' in joined


def test_remove_boilerplate_rules() -> None:
    review = (
        "I picked up this book and it was an absolutely delightful read that changed how I "
        "think about machine learning systems, deployment, monitoring and everything in "
        "between, and I would recommend it to anyone at all. —Jane Doe"
    )
    text = "\n".join(
        [
            "Feature Stores",
            "A feature store keeps training and serving features consistent across the stack.",
            review,
            "Get It From Amazon Now: Check Price on Amazon & FREE Returns",
            "About the Author",
            "I am a writer who loves gadgets of every kind and tests them all for my readers.",
            "Monitoring",
            "Drift detection compares live inputs with the training data distribution over time.",
        ]
    )
    cleaned = remove_boilerplate(text)
    assert "Jane Doe" not in cleaned
    assert "Amazon" not in cleaned
    assert "gadgets" not in cleaned
    assert "A feature store keeps" in cleaned
    assert "Drift detection compares" in cleaned
    assert [s.heading for s in split_sections(cleaned)] == ["Feature Stores", "Monitoring"]
