"""Scale: an index of more than 33,000 chunks ingests, loads and answers (past SQLite's 32,766
variables, where unpaged Chroma reads fail). The one test with a fast embedder stand-in: the
real model would take most of an hour on 33,000 chunks, and size, not meaning, is under test."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.intent import IntentScores
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.storage import Storage
from ingest.catalog import load_catalog
from ingest.pipeline import run_ingest
from ingest.store import ChromaStore

pytestmark = pytest.mark.integration

FIXTURE_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
FILES = 1_700
PARAGRAPHS = 20  # about 160 characters each (chunk size 200): 34,000 user chunks
# A vocabulary wide enough that passages differ: thousands of near-identical vectors make an
# HNSW graph miss even an exact match, which real text does not produce.
WORDS = [f"term{i}" for i in range(5_000)]


class HashingEmbedder:
    """Deterministic bag-of-hashed-words vectors: fast, and texts sharing words are close."""

    name = "test/hashing-embedder"
    dimension = 64

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            vector = [0.0] * self.dimension
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
            norm = math.sqrt(sum(x * x for x in vector)) or 1.0
            vectors.append([x / norm for x in vector])
        return vectors


def synthetic_files(folder: Path) -> list[Path]:
    folder.mkdir()
    files = []
    for n in range(FILES):
        paragraphs = [
            f"Note {n}.{p}: "
            + " ".join(WORDS[(n * 131 + p * 17 + i * 7919) % len(WORDS)] for i in range(16))
            + f" record {n * PARAGRAPHS + p}."
            for p in range(PARAGRAPHS)
        ]
        if n == FILES - 1:  # one passage no other chunk resembles
            paragraphs[-1] = "Quarterly zebrafish telemetry for the aquarium pump calibration."
        path = folder / f"note-{n:04d}.txt"
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")
        files.append(path)
    return files


class AlwaysRecommend:
    """The intent classifier's stand-in: the saved model reads MiniLM vectors, not the 64-dim
    stand-in embedder's, and this test is about scale, not intent."""

    def __init__(self, embedder: object) -> None:
        self.embedder = embedder

    def scores(self, text: str) -> IntentScores:
        return IntentScores({"recommend": 1.0})


def test_more_than_33000_chunks_ingest_load_and_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.query.IntentClassifier", AlwaysRecommend)
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=FIXTURE_CORPUS,
        chunk_size=200,
        chunk_overlap=0,
        embed_batch_size=1024,
    )
    embedder = HashingEmbedder()

    def store() -> ChromaStore:
        return ChromaStore(
            settings.collection, embedder.name, embedder.dimension, path=str(settings.chroma_dir)
        )

    files = synthetic_files(tmp_path / "notes")
    report = run_ingest(settings, add=files, store=store(), embedder=embedder, progress=False)
    assert report.chunks > 33_000
    assert report.embedded == report.chunks

    again = run_ingest(settings, store=store(), embedder=embedder, progress=False)
    assert again.embedded == 0 and again.deleted == 0
    assert again.skipped_unchanged >= FILES  # nothing re-read: the fingerprints matched

    assistant = Assistant(
        settings,
        load_catalog(settings.corpus_dir),
        store(),
        embedder,
        Storage(tmp_path / "sessions.sqlite3"),
    )
    assert assistant.retriever.size == report.chunks
    assert len(assistant.retriever.documents) == FILES
    # The stand-in's scores are not the real model's, so the ranker's order among the top
    # few is not under test here: finding the one passage among 34,000 is.
    hits = assistant.search("zebrafish telemetry aquarium pump calibration", k=3).hits
    found = [h for h in hits if h.resource.title == f"note-{FILES - 1:04d}.txt"]
    assert found and found[0].resource.kind == "document"
    assert found[0].evidence is not None and "zebrafish" in found[0].evidence.text
