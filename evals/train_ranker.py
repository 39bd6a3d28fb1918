"""Evals stage: train the learned ranker on the dev split (`make train-ranker`).

Features come from the real index with the labeled documents added; labels from the dev split
of queries.yaml (grades 2/1, unlabeled 0) and of documents.yaml (the answering document 2).
The feature table is saved next to the model, so a test can retrain from it and check that
the saved model is exactly what training gives.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.ranker import FEATURES, MODEL_PATH, fit
from evals.datasets import load_datasets
from evals.documents import document_files, load_document_cases, with_documents

if TYPE_CHECKING:
    from assistant.service import Assistant

TABLE_PATH = MODEL_PATH.with_name("ranker-training.csv.gz")
DECIMALS = 6  # features are rounded so the table is the same text on every machine


def feature_table(
    assistant: Assistant, questions: Sequence[tuple[str, str, dict[str, int]]]
) -> list[list[str]]:
    """One row per (question, candidate): question id, candidate id, label, then FEATURES."""
    table: list[list[str]] = []
    for question_id, query, labels in questions:
        parsed, topic_text = assistant.understand(query)
        found = assistant.candidates(parsed, topic_text)
        for candidate, row in zip(found.ids, found.rows, strict=True):
            label = labels.get(candidate, 0)
            table.append([question_id, candidate, str(label), *(f"{x:.{DECIMALS}f}" for x in row)])
    return table


def write_table(table: list[list[str]], path: Path = TABLE_PATH) -> None:
    """The feature table as gzipped CSV (no timestamp in the gzip header: same bytes each run)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["question", "candidate", "label", *FEATURES])
    writer.writerows(table)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text.getvalue().encode("utf-8"))


def read_table(path: Path = TABLE_PATH) -> list[list[str]]:
    """The saved feature table's rows (without the header)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if rows[0][3:] != list(FEATURES):
        raise ValueError(f"{path} has other features than the ranker; run `make train-ranker`")
    return rows[1:]


def train_from_table(table: list[list[str]]) -> tuple[str, dict[str, float]]:
    """Fit the ranker on a feature table; returns the model text and the CV figures."""
    rows = [[float(x) for x in row[3:]] for row in table]
    labels = [int(row[2]) for row in table]
    groups = [row[0] for row in table]
    return fit(rows, labels, groups)


class _Untrained:
    """Scores every candidate 0: what the assistant ranks with while features are collected."""

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return [0.0] * len(rows)


def main() -> int:
    """Build the dev feature table from the real index, train, and save model and table."""
    from assistant.settings import get_settings
    from ingest.embedding import make_embedder

    settings = get_settings()
    embedder = make_embedder(settings.embedding_model, settings.embed_batch_size)
    cases = [c for c in load_document_cases() if c.split == "dev"]
    with tempfile.TemporaryDirectory(prefix="mlsd-train-") as scratch:
        files = document_files(load_document_cases())
        # Features do not depend on the saved model; the stand-in lets training start without one.
        assistant = with_documents(settings, embedder, Path(scratch), files, _Untrained())
        data = load_datasets(assistant.catalog.resources).split("dev")
        questions = [(q.id, q.query, q.relevant) for q in data.queries]
        questions += [(c.id, c.query, {c.doc_id: 2}) for c in cases]
        table = feature_table(assistant, questions)
    write_table(table)
    model, figures = train_from_table(read_table())
    MODEL_PATH.write_text(model, encoding="utf-8")
    sys.stdout.write(
        f"trained on {len(questions)} dev questions ({len(table)} rows): {figures}; "
        f"saved {MODEL_PATH} and {TABLE_PATH}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
