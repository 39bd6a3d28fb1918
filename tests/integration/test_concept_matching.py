"""Explain questions find their glossary concept by meaning, measured on the labeled set's dev
split (`python -m evals.concept_matching`); the test split is reported there, never gated."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.concepts import MIN_SIMILARITY, SCOPE_SIMILARITY, ConceptIndex
from assistant.service import build_assistant
from assistant.settings import Settings
from evals.concept_matching import (
    FLOORS,
    Retrieval,
    best_floor,
    held_out_examples,
    load_questions,
    remembering,
    scope,
    score,
)
from evals.datasets import DatasetError
from ingest.catalog import load_catalog
from ingest.concepts import load_concepts
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
# Name-only matching (before issue 13's fix) got 14 of 46 dev questions right; by name and
# definition 34 of 46 (0.74); with each concept's example questions as well, 41 of 46 (0.89);
# with their words' BM25 evidence reordering the cosines, 43 of 46 (0.93; 40 without it at the
# same floor); with eight example questions a concept and two views averaged, 43 (39 without
# the BM25 evidence).
MIN_DEV_ACCURACY = 0.9
# Of the glossary's own example questions (eight a concept), each asked with it held out of the
# index: with the lexical evidence and the two best views averaged, 112 of 664 name a wrong
# concept and 444 the right one; when a name said in passing always won (before
# ConceptIndex._meant), 120 and 436; with the best view alone, 144 and 454; without the lexical
# evidence, 236 and 363 (`python -m evals.concept_matching`). With the precision-and-recall entry
# (672 example questions), 114 wrong and 449 right; when a concept that leads a name said in
# passing by more than UNSURE_MARGIN wins, 111 and 452.
MAX_HELD_OUT_WRONG = 113
MIN_HELD_OUT_RIGHT = 445
MIN_HELD_OUT_OFFERED = 15  # 21 measured with UNSURE_MARGIN 0.1


@pytest.fixture(scope="module")
def index(embedder: Embedder) -> ConceptIndex:
    return ConceptIndex(load_concepts(CORPUS, load_catalog(CORPUS)), remembering(embedder))


def test_dev_questions_find_their_concepts(index: ConceptIndex) -> None:
    dev = load_questions()["dev"]
    result = score(index, dev)
    assert result["accuracy"] >= MIN_DEV_ACCURACY, result["misses"]
    _, accuracy = best_floor(index, dev)
    # The floor in use is within one step of the floors best on dev, and costs at most one
    # question.
    best = [f for f in FLOORS if score(index, dev, f)["accuracy"] == accuracy]
    step = FLOORS[1] - FLOORS[0] + 1e-9
    assert min(best) - step <= MIN_SIMILARITY <= max(best) + step, best
    assert accuracy - result["accuracy"] <= 1 / len(dev) + 1e-9


def test_held_out_example_questions_rarely_name_a_wrong_concept(
    index: ConceptIndex, embedder: Embedder
) -> None:
    held = held_out_examples(index.concepts, remembering(embedder))
    assert held["n"] >= 600, held
    assert held["wrong"] <= MAX_HELD_OUT_WRONG, held
    assert held["right"] >= MIN_HELD_OUT_RIGHT, held
    # A close second is offered: some wrong picks come with the right concept next.
    assert held["offered"] >= MIN_HELD_OUT_OFFERED, held


@pytest.fixture(scope="module")
def retrieval(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Retrieval:
    settings = Settings(data_dir=tmp_path_factory.mktemp("retrieval") / "data", corpus_dir=CORPUS)
    run_ingest(settings, embedder=embedder, progress=False)
    return Retrieval(build_assistant(settings, embedder=embedder))


def test_retrieval_agreeing_finds_more_concepts_and_few_wrong_ones(
    index: ConceptIndex, embedder: Embedder, retrieval: Retrieval
) -> None:
    # Measured: 449 right and 114 wrong by meaning alone; 472 and 117 when a concept the first
    # resources retrieval finds teach needs only SUPPORTED_FLOOR.
    remembered = remembering(embedder)
    alone = held_out_examples(index.concepts, remembered)
    helped = held_out_examples(index.concepts, remembered, retrieved=retrieval.first)
    assert helped["right"] >= alone["right"] + 15, (alone, helped)
    assert helped["wrong"] <= alone["wrong"] + 5, (alone, helped)


def test_off_topic_messages_stay_below_the_scope_floor(index: ConceptIndex) -> None:
    # Question-shaped views bring any question closer; off-topic ones must still fall short.
    off_topic = [
        "what's the weather like in Lisbon this weekend?",
        "which model of dishwasher is the quietest?",
        "how do I train for a half marathon?",
        "what is the best way to learn piano as an adult?",
        "how do I set up a Kubernetes ingress for my website?",
    ]
    concept_questions = [q for q, concept in load_questions()["dev"] if concept]
    checked = scope(index, off_topic, concept_questions)
    assert checked["highest_off_topic"] < SCOPE_SIMILARITY, checked
    assert checked["concept_questions_in_scope"] >= 0.9, checked


def test_a_malformed_question_file_says_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "concept_questions.yaml"
    bad.write_text("questions:\n  dev: [{text: 'x'}]\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"concept_questions\.yaml"):
        load_questions(bad)


@pytest.mark.parametrize(
    ("question", "concept"),
    [("my semantic search has to find the nearest of millions of embeddings in milliseconds, "
      "what do I store them in?", "vector-database"),
     ("how do we switch all traffic at once to a second, identical environment running the new "
      "model, and flip back if it breaks?", "blue-green-deployment"),
     ("we rerun last month's pipeline and now the table has every row twice, why?",
      "idempotent-pipelines"),
     # A registry records which data built each model version, too: either answers it (at
     # LEXICAL_WEIGHT 0.4 the registry wins by 0.01; at 0.45 data versioning).
     ("how can we tell exactly which version of the training data a model was built from?",
      ("data-versioning", "model-registry")),
     ("our company wants every department to publish and own its datasets instead of one "
      "central data team, what is that approach called?", "data-mesh"),
     ("can a service automatically try lots of models and settings on my spreadsheet and pick "
      "the best?", "automl"),
     ("how do I keep our cloud setup in version control so I can rebuild it exactly?",
      "infrastructure-as-code")],
)  # fmt: skip
def test_the_glossarys_newer_entries_are_found_by_meaning(
    index: ConceptIndex, question: str, concept: str | tuple[str, ...]
) -> None:
    # Plain-English questions written for this test, not taken from the glossary or the eval.
    found = index.for_question(question, "explain")
    assert found and found[0].id in ((concept,) if isinstance(concept, str) else concept)


@pytest.mark.parametrize(
    "question",
    ["how do teams roll out a new model safely?",
     "how do we release a new model without hurting users?"],
)  # fmt: skip
def test_a_question_two_entries_fit_offers_the_second(index: ConceptIndex, question: str) -> None:
    # Sending a new model to a few users first is what both ask; the entry for it is offered
    # whether it is picked or the runner-up.
    found = index.for_question(question, "explain")
    maybe = index.runner_up(question, found[0])
    assert maybe is not None and maybe.id != found[0].id
    assert "canary-deployment" in {found[0].id, maybe.id}


@pytest.mark.parametrize(
    "question",
    ["what is a feature store?", "what is point-in-time correctness?",
     "how can I shrink a neural network so it runs on a phone?"],
)  # fmt: skip
def test_a_named_or_clear_concept_offers_no_second(index: ConceptIndex, question: str) -> None:
    found = index.for_question(question, "explain")
    assert found and index.runner_up(question, found[0]) is None
