"""Evals stage: how well explain questions find their glossary concept, by name or by meaning.

`python -m evals.concept_matching` scores `assistant.concepts.ConceptIndex.for_question` on
`datasets/concept_questions.yaml`: it sweeps the similarity floor on the dev split (where
`MIN_SIMILARITY` was chosen) and reports the held-out test split at the floor in use.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from assistant.concepts import (
    LEXICAL_WEIGHT,
    MIN_SIMILARITY,
    QUESTION_DISCOUNT,
    SCOPE_SIMILARITY,
    SUPPORTED_FLOOR,
    TOP_VIEWS,
    ConceptIndex,
)
from evals.datasets import DATASETS_DIR, DatasetError, load_out_of_scope
from evals.intents import load_intents
from ingest.concepts import Concept
from ingest.embedding import Embedder

if TYPE_CHECKING:  # the assistant is built only for --retrieval: it needs the index
    from assistant.service import Assistant

QUESTIONS_PATH = DATASETS_DIR / "concept_questions.yaml"
# Floors tried on dev: a cosine below 0.3 is unrelated text for MiniLM, above 0.6 only
# near-paraphrases of the name pass.
FLOORS = tuple(round(0.30 + 0.02 * n, 2) for n in range(16))
# Discounts tried on dev for the example-question views: 0 (none) to 0.1, where a question view
# stops adding anything over the definition for most dev questions.
DISCOUNTS = tuple(round(0.01 * n, 2) for n in range(11))
# Lexical weights tried on dev: 0 (the cosine alone) to 0.5, where the best BM25 concept's bonus
# is as large as the gap between a near-paraphrase (0.7) and an unrelated text (0.2).
LEXICAL_WEIGHTS = tuple(round(0.05 * n, 2) for n in range(11))
# How many of a concept's best views to average: the best alone, up to three.
VIEW_COUNTS = (1, 2, 3)
# Lower floors tried for a concept retrieval agrees with: from MiniLM's noise level to the floor.
SUPPORTED_FLOORS = tuple(round(0.30 + 0.02 * n, 2) for n in range(5))

# What retrieval ranks first for a question (`Retrieval.first`), or None to leave it out.
Retrieved = Callable[[str], Collection[str]] | None


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
    index: ConceptIndex,
    questions: list[tuple[str, str | None]],
    floor: float = MIN_SIMILARITY,
    retrieved: Retrieved = None,
) -> dict[str, Any]:
    """Accuracy (the right concept, or none when the glossary has none), the number of wrong
    concepts named (worse than none: a wrong definition) and the misses."""
    misses = []
    for text, expected in questions:
        seen = retrieved(text) if retrieved else ()
        found = index.for_question(text, "explain", floor=floor, retrieved=seen)
        got = found[0].id if found else None
        if got != expected:
            misses.append({"question": text, "expected": expected, "got": got})
    total = len(questions)
    wrong = sum(1 for miss in misses if miss["got"] is not None)
    return {
        "accuracy": round((total - len(misses)) / total, 4),
        "n": total,
        "wrong": wrong,
        "misses": misses,
    }


def best_floor(index: ConceptIndex, dev: list[tuple[str, str | None]]) -> tuple[float, float]:
    """The floor with the best dev accuracy (the lowest of ties) and that accuracy. Build the
    index over `remembering(embedder)` so each question is embedded once, not once per floor."""
    results = [(score(index, dev, floor)["accuracy"], -floor) for floor in FLOORS]
    accuracy, negative = max(results)
    return -negative, accuracy


def discounts(index: ConceptIndex, dev: list[tuple[str, str | None]]) -> dict[float, float]:
    """Dev accuracy at the floor in use for each example-question discount in DISCOUNTS."""
    kept = index.question_discount
    try:
        found = {}
        for discount in DISCOUNTS:
            index.question_discount = discount
            found[discount] = score(index, dev)["accuracy"]
        return found
    finally:
        index.question_discount = kept


def lexical_weights(
    index: ConceptIndex, dev: list[tuple[str, str | None]], embedder: Embedder
) -> dict[float, tuple[float, int, int, int]]:
    """For each weight in LEXICAL_WEIGHTS, at the floor in use: dev accuracy and wrong
    concepts, and the held-out example questions right and wrong (`held_out_examples`)."""
    return _sweep(index, dev, embedder, "lexical_weight", LEXICAL_WEIGHTS)


def view_counts(
    index: ConceptIndex, dev: list[tuple[str, str | None]], embedder: Embedder
) -> dict[int, tuple[float, int, int, int]]:
    """For each count in VIEW_COUNTS, at the floor in use: dev accuracy and wrong concepts,
    and the held-out example questions right and wrong (`held_out_examples`)."""
    return _sweep(index, dev, embedder, "top_views", VIEW_COUNTS)


def _sweep(
    index: ConceptIndex,
    dev: list[tuple[str, str | None]],
    embedder: Embedder,
    setting: str,
    values: Sequence[Any],
    retrieved: Retrieved = None,
) -> dict[Any, tuple[float, int, int, int]]:
    """Dev accuracy and wrong concepts, and held-out example questions right and wrong, with
    one of the index's settings (`lexical_weight`, `top_views`) at each value in turn."""
    kept = getattr(index, setting)
    try:
        found = {}
        for value in values:
            setattr(index, setting, value)
            result = score(index, dev, retrieved=retrieved)
            held = held_out_examples(
                index.concepts, embedder, retrieved=retrieved, **{setting: value}
            )
            found[value] = (result["accuracy"], result["wrong"], held["right"], held["wrong"])
        return found
    finally:
        setattr(index, setting, kept)


def supported_floors(
    index: ConceptIndex, dev: list[tuple[str, str | None]], embedder: Embedder, retrieved: Retrieved
) -> dict[float, tuple[float, int, int, int]]:
    """For each floor in SUPPORTED_FLOORS, for a concept retrieval agrees with: dev accuracy and
    wrong concepts, and the held-out example questions right and wrong (`held_out_examples`)."""
    return _sweep(index, dev, embedder, "supported_floor", SUPPORTED_FLOORS, retrieved)


class Retrieval:
    """The assistant's retrieval, as `for_question` sees it: the resources ranked first for a
    question before the glossary adds any (`Request.retrieved`), each question retrieved once."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self._seen: dict[str, tuple[str, ...]] = {}

    def first(self, question: str) -> tuple[str, ...]:
        """The resources retrieval ranks first for a question."""
        if question not in self._seen:
            parsed, topic_text = self._assistant.understand(question)
            result = self._assistant.retrieve(parsed, topic_text)
            self._seen[question] = result.parsed.retrieved
        return self._seen[question]


def scope(
    index: ConceptIndex, off_topic: list[str], concept_questions: list[str]
) -> dict[str, Any]:
    """How the nearest-concept similarity separates off-topic messages from concept questions:
    the highest off-topic score (SCOPE_SIMILARITY must stay above it) and the share of concept
    questions at or above SCOPE_SIMILARITY."""
    nearest = {text: index.nearest(text) for text in off_topic}
    worst = max(nearest, key=lambda t: hit[1] if (hit := nearest[t]) else -1.0)
    hit = nearest[worst]
    described = [
        q for q in concept_questions if (n := index.nearest(q)) and n[1] >= SCOPE_SIMILARITY
    ]
    return {
        "scope_similarity": SCOPE_SIMILARITY,
        "highest_off_topic": round(hit[1], 4) if hit else None,
        "highest_off_topic_message": worst,
        "highest_off_topic_concept": hit[0].id if hit else None,
        "concept_questions_in_scope": round(len(described) / max(len(concept_questions), 1), 4),
    }


class _Remembering:
    """An embedder that embeds each distinct text once (the sweeps ask each many times)."""

    def __init__(self, embedder: Embedder) -> None:
        self.name = embedder.name
        self.dimension = embedder.dimension
        self._embedder = embedder
        self._vectors: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, from memory when the text was embedded before."""
        new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if new:
            self._vectors.update(zip(new, self._embedder.embed(new), strict=True))
        return [self._vectors[t] for t in texts]


def remembering(embedder: Embedder) -> Embedder:
    """The embedder with a memory of every text it embedded (the sweeps ask each many times)."""
    return _Remembering(embedder)


def held_out_examples(
    concepts: Mapping[str, Concept],
    embedder: Embedder,
    lexical_weight: float = LEXICAL_WEIGHT,
    top_views: int = TOP_VIEWS,
    supported_floor: float = SUPPORTED_FLOOR,
    retrieved: Retrieved = None,
) -> dict[str, int]:
    """Each of the glossary's own example questions asked with it held out of its concept's
    views: how many find their concept, and how many a wrong one. Six times the dev split's
    size, so it shows what a change does to questions written apart from the glossary.
    `offered` counts the wrong picks whose concept the answer offers next ("if that is not what
    you meant"), `doubted` the right picks that come with such an offer. With `retrieved`, what
    retrieval ranks first for each question is the evidence the assistant has for it."""
    right = wrong = total = offered = doubted = 0
    for cid, concept in concepts.items():
        for n, question in enumerate(concept.questions):
            others = tuple(q for i, q in enumerate(concept.questions) if i != n)
            held = {**concepts, cid: concept.model_copy(update={"questions": others})}
            index = ConceptIndex(
                held,
                embedder,
                lexical_weight=lexical_weight,
                top_views=top_views,
                supported_floor=supported_floor,
            )
            seen = retrieved(question) if retrieved else ()
            found = index.for_question(question, "explain", retrieved=seen)
            total += 1
            if not found:
                continue
            maybe = index.runner_up(question, found[0])
            right += found[0].id == cid
            wrong += found[0].id != cid
            offered += found[0].id != cid and maybe is not None and maybe.id == cid
            doubted += found[0].id == cid and maybe is not None
    return {"n": total, "right": right, "wrong": wrong, "offered": offered, "doubted": doubted}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Sweep the floor on dev, report dev and test at the floor in use."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    parser.add_argument(
        "--retrieval",
        action="store_true",
        help="Give each question what retrieval ranks first for it, as the assistant does "
        "(needs the index `mlsd ingest` builds), and sweep the supported floor.",
    )
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
    embedder = remembering(embedder)
    index = ConceptIndex(load_concepts(settings.corpus_dir, catalog), embedder)
    questions = load_questions()
    floor, dev_best = best_floor(index, questions["dev"])
    swept = discounts(index, questions["dev"])
    weighed = lexical_weights(index, questions["dev"], embedder)
    viewed = view_counts(index, questions["dev"], embedder)
    retrieved = None
    if args.retrieval:
        from assistant.service import build_assistant

        retrieved = Retrieval(build_assistant(settings)).first
    held = held_out_examples(index.concepts, embedder, retrieved=retrieved)
    report: dict[str, Any] = {
        "question_discount_in_use": QUESTION_DISCOUNT,
        "dev_accuracy_by_discount": swept,
        "lexical_weight_in_use": LEXICAL_WEIGHT,
        "dev_accuracy_wrong_by_lexical_weight": weighed,
        "top_views_in_use": TOP_VIEWS,
        "dev_accuracy_wrong_by_top_views": viewed,
        "held_out_examples": held,
        "floor_in_use": MIN_SIMILARITY,
        "best_dev_floor": floor,
        "best_dev_accuracy": dev_best,
        "retrieval": args.retrieval,
        "dev": score(index, questions["dev"], retrieved=retrieved),
        "test": score(index, questions["test"], retrieved=retrieved),
        "scope_dev": scope(
            index,
            [
                c.query
                for c in load_out_of_scope(DATASETS_DIR / "out_of_scope.yaml", catalog.resources)
                if c.split == "dev"
            ]
            + [m for m, intent in load_intents()["dev"] if intent == "out_of_scope"],
            [q for q, concept in questions["dev"] if concept],
        ),
    }
    if args.retrieval:
        report["supported_floor_in_use"] = SUPPORTED_FLOOR
        report["dev_accuracy_wrong_by_supported_floor"] = supported_floors(
            index, questions["dev"], embedder, retrieved
        )
        report["held_out_examples_without_retrieval"] = held_out_examples(index.concepts, embedder)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"floor in use {MIN_SIMILARITY}; best on dev {floor} ({dev_best:.3f})")
        print(
            f"question discount in use {QUESTION_DISCOUNT}; dev accuracy by discount: "
            + ", ".join(f"{d}: {a:.3f}" for d, a in swept.items())
        )
        print(
            f"lexical weight in use {LEXICAL_WEIGHT}; by weight, dev accuracy (wrong concepts) "
            "and held-out example questions right (wrong):"
        )
        for weight, (accuracy, wrong, right, held_wrong) in weighed.items():
            print(f"  {weight}: dev {accuracy:.3f} ({wrong}), examples {right} ({held_wrong})")
        print(
            f"top views in use {TOP_VIEWS}; by views averaged, dev accuracy (wrong concepts) "
            "and held-out example questions right (wrong):"
        )
        for views, (accuracy, wrong, right, held_wrong) in viewed.items():
            print(f"  {views}: dev {accuracy:.3f} ({wrong}), examples {right} ({held_wrong})")
        if args.retrieval:
            print(
                f"supported floor in use {SUPPORTED_FLOOR}; by floor, dev accuracy (wrong "
                "concepts) and held-out example questions right (wrong), with retrieval:"
            )
            by_floor = report["dev_accuracy_wrong_by_supported_floor"]
            for value, (accuracy, wrong, right, held_wrong) in by_floor.items():
                print(f"  {value}: dev {accuracy:.3f} ({wrong}), examples {right} ({held_wrong})")
            alone = report["held_out_examples_without_retrieval"]
            print(f"without retrieval: {alone['right']} right, {alone['wrong']} wrong")
        print(
            f"held-out example questions: {held['right']} of {held['n']} right, {held['wrong']} "
            f"wrong; of the wrong, {held['offered']} offer the right one next; "
            f"{held['doubted']} right ones come with an offer"
        )
        for split in ("dev", "test"):
            result = report[split]
            print(
                f"{split}: accuracy {result['accuracy']:.3f} of {result['n']}, "
                f"{result['wrong']} wrong concepts"
            )
            for miss in result["misses"]:
                print(f"  {miss['expected']} <- got {miss['got']}: {miss['question']}")
        checked = report["scope_dev"]
        print(
            f"scope (dev): highest off-topic {checked['highest_off_topic']} "
            f"({checked['highest_off_topic_message']!r} -> "
            f"{checked['highest_off_topic_concept']}); "
            f"concept questions at >= {SCOPE_SIMILARITY}: {checked['concept_questions_in_scope']}"
        )
    return report


if __name__ == "__main__":
    main()
