"""Evals stage: how well explain questions find their glossary concept, by name or by meaning.

`python -m evals.concept_matching` scores `assistant.concepts.ConceptIndex.for_question` on
`datasets/concept_questions.yaml`: it sweeps the similarity floor on the dev split (where
`MIN_SIMILARITY` was chosen) and reports the held-out test split at the floor in use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from assistant.concepts import MIN_SIMILARITY, ConceptIndex
from assistant.intent import SharedQueryVectors
from evals.datasets import DATASETS_DIR, DatasetError
from ingest.embedding import Embedder

QUESTIONS_PATH = DATASETS_DIR / "concept_questions.yaml"
# Floors tried on dev: a cosine below 0.3 is unrelated text for MiniLM, above 0.6 only
# near-paraphrases of the name pass.
FLOORS = tuple(round(0.30 + 0.02 * n, 2) for n in range(16))


def load_questions(path: Path = QUESTIONS_PATH) -> dict[str, list[tuple[str, str | None]]]:
    """{split: [(question, concept id or None), ...]}; a clear error if the file is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        splits = data["questions"]
        return {
            split: [(str(q["text"]), q["concept"]) for q in splits[split]]
            for split in ("dev", "test")
        }
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path}: expected questions: dev/test lists of text+concept ({exc})"
        ) from exc


def score(
    index: ConceptIndex, questions: list[tuple[str, str | None]], floor: float = MIN_SIMILARITY
) -> dict[str, Any]:
    """Accuracy (the right concept, or none when the glossary has none) and the misses."""
    misses = []
    for text, expected in questions:
        found = index.for_question(text, "explain", floor=floor)
        got = found[0].id if found else None
        if got != expected:
            misses.append({"question": text, "expected": expected, "got": got})
    total = len(questions)
    return {"accuracy": round((total - len(misses)) / total, 4), "n": total, "misses": misses}


def best_floor(index: ConceptIndex, dev: list[tuple[str, str | None]]) -> tuple[float, float]:
    """The floor with the best dev accuracy (the lowest of ties) and that accuracy. Build the
    index over `remembering(embedder)` so each question is embedded once, not once per floor."""
    results = [(score(index, dev, floor)["accuracy"], -floor) for floor in FLOORS]
    accuracy, negative = max(results)
    return -negative, accuracy


def remembering(embedder: Embedder) -> Embedder:
    """The embedder with a memory of the questions it embedded (the sweep asks each many times)."""
    return SharedQueryVectors(embedder, size=1024)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Sweep the floor on dev, report dev and test at the floor in use."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    args = parser.parse_args(argv)
    from assistant.settings import Settings
    from ingest.catalog import load_catalog
    from ingest.concepts import load_concepts
    from ingest.embedding import make_embedder

    settings = Settings()
    catalog = load_catalog(settings.corpus_dir)
    embedder = make_embedder(
        settings.embedding_model, settings.embed_batch_size, settings.query_encoder
    )
    index = ConceptIndex(load_concepts(settings.corpus_dir, catalog), remembering(embedder))
    questions = load_questions()
    floor, dev_best = best_floor(index, questions["dev"])
    report: dict[str, Any] = {
        "floor_in_use": MIN_SIMILARITY,
        "best_dev_floor": floor,
        "best_dev_accuracy": dev_best,
        "dev": score(index, questions["dev"]),
        "test": score(index, questions["test"]),
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"floor in use {MIN_SIMILARITY}; best on dev {floor} ({dev_best:.3f})")
        for split in ("dev", "test"):
            result = report[split]
            print(f"{split}: accuracy {result['accuracy']:.3f} of {result['n']}")
            for miss in result["misses"]:
                print(f"  {miss['expected']} <- got {miss['got']}: {miss['question']}")
    return report


if __name__ == "__main__":
    main()
