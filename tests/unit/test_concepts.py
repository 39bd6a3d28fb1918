"""The concept glossary: the real file validates and covers the core concepts; bad entries fail
with a message naming file, entry and field; questions find their concepts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.concepts import ConceptIndex, request_subject
from ingest.catalog import Catalog, load_catalog
from ingest.concepts import ConceptError, load_concepts
from ingest.embedding import Embedder

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


@pytest.fixture(scope="module")
def index(catalog: Catalog, embedder: Embedder) -> ConceptIndex:
    return ConceptIndex(load_concepts(CORPUS, catalog), embedder)


def test_the_glossary_covers_the_core_concepts(catalog: Catalog) -> None:
    concepts = load_concepts(CORPUS, catalog)
    assert len(concepts) >= 60
    for wanted in (
        "feature-store", "training-serving-skew", "data-drift", "concept-drift",
        "point-in-time-correctness", "batch-inference", "online-inference", "model-registry",
        "shadow-deployment", "canary-deployment", "continual-learning", "feedback-loop",
        "technical-debt", "rag", "paged-attention", "quantization",
    ):  # fmt: skip
        assert wanted in concepts, wanted
    for concept in concepts.values():
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(\"])", concept.definition.strip())
        assert 2 <= len(sentences) <= 4, concept.id
        assert concept.resources and concept.why


@pytest.mark.parametrize(
    ("question", "expected"),
    [("what is infrastructure as code and why do ML teams care?", "infrastructure-as-code"),
     ("what's a feature store good for?", "feature-store"),
     ("What are SLOs, and do ML services need them?", "slo"),
     ("what exactly is data mesh?", "data-mesh"),
     ("what problem does a vector database solve?", "vector-database"),
     ("what's the point of a model registry if we already use git?", "model-registry"),
     ("why do teams need a feature store at all?", "feature-store"),
     ("how does shadow deployment work in practice?", "shadow-deployment"),
     ("I keep hearing about feedback loops in recommender systems, what are they?",
      "feedback-loop"),
     ("people at work keep saying point-in-time correctness - what is that?",
      "point-in-time-correctness")],
)  # fmt: skip
def test_a_question_opening_with_what_a_concept_is_asks_for_it(
    index: ConceptIndex, question: str, expected: str
) -> None:
    found = index.asked_what(question)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    "question",
    ["what are the best books on feature stores?", "what should I read about data mesh?",
     "is a feature store worth it?", "what is MLflow?", "what feature store should we use?",
     "how do I get started with feature stores?", "why do we keep getting data drift alerts?",
     "which books on canary deployment are good, and what are they like?"],
)  # fmt: skip
def test_a_question_not_opening_with_what_a_concept_is_does_not(
    index: ConceptIndex, question: str
) -> None:
    assert index.asked_what(question) is None


@pytest.mark.parametrize(
    ("request_text", "subject"),
    [("explain the jargon around serving models to a newcomer", "serving models"),
     ("Can you explain feature stores in simple terms?", "feature stores?"),
     ("could you walk me through the basic ideas behind data versioning, please",
      "data versioning"),
     ("explain, like I'm five, why caches go stale", "why caches go stale"),
     ("explain to a beginner what a model registry holds", "what a model registry holds"),
     ("help me understand the vocabulary of model monitoring", "model monitoring")],
)  # fmt: skip
def test_a_requests_frame_is_not_its_subject(request_text: str, subject: str) -> None:
    assert request_subject(request_text) == subject


@pytest.mark.parametrize(
    "question",
    ["what is a feature store?", "why do models explain so little?",
     "how do I describe a dataset's schema?", "which terms of the license matter?"],
)  # fmt: skip
def test_a_question_without_a_frame_is_its_own_subject(question: str) -> None:
    assert request_subject(question) == question.lower()


def test_no_two_concepts_share_a_name(catalog: Catalog) -> None:
    seen: dict[str, str] = {}
    for concept in load_concepts(CORPUS, catalog).values():
        for name in concept.names:
            key = name.casefold()
            assert seen.setdefault(key, concept.id) == concept.id, f"{name}: {seen[key]}"


def _corpus_with(tmp_path: Path, edit: object) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    data = yaml.safe_load((corpus / "concepts.yaml").read_text(encoding="utf-8"))
    edit(data["concepts"])  # type: ignore[operator]
    (corpus / "concepts.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return corpus


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c[0].update(resources=["no-such-book"]),
         r"#1 \(id 'feature-store'\): field 'resources': unknown resource id.*no-such-book"),
        (lambda c: c[1].update(related=["no-such-concept"]),
         r"entry #2 .*field 'related': unknown concept id\(s\) \['no-such-concept'\]"),
        (lambda c: c[0].update(definition="A store for features used by models in production, "
                                           "offline and online, shared by every team there."),
         r"field 'definition': .*2 to 4 sentences, this one has 1"),
        (lambda c: c.append(dict(c[0])), r"field 'id': duplicate"),
        (lambda c: c[0].pop("resources"), r"entry #1 .*field 'resources': Field required"),
        (lambda c: c[0].update(questions=["feature store"]),
         r"entry #1 .*field 'questions': .*four words or more ending in '\?'"),
    ],
)  # fmt: skip
def test_a_bad_entry_fails_naming_file_entry_and_field(
    tmp_path: Path, catalog: Catalog, edit: object, message: str
) -> None:
    corpus = _corpus_with(tmp_path, edit)
    with pytest.raises(ConceptError, match=message) as raised:
        load_concepts(corpus, load_catalog(corpus))
    assert "concepts.yaml" in str(raised.value)


def test_broken_yaml_fails_in_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "concepts.yaml").write_text("concepts:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConceptError, match=r"concepts.yaml: not valid YAML at line \d+"):
        load_concepts(corpus, load_catalog(corpus))


def test_a_corpus_without_a_glossary_has_no_concepts(tmp_path: Path, fixture_corpus: Path) -> None:
    assert load_concepts(fixture_corpus, load_catalog(fixture_corpus)) == {}


@pytest.mark.parametrize(
    ("question", "intent", "expected"),
    [
        ("what is a feature store and why would I need one?", "explain", ["feature-store"]),
        ("what is training-serving skew?", "explain", ["training-serving-skew"]),
        ("Explain PagedAttention", "explain", ["paged-attention"]),
        ("what are SLOs?", "explain", ["slo"]),
        ("what's the difference between batch and online inference?", "compare",
         ["batch-inference", "online-inference"]),
        ("shadow vs canary deployment", "compare", ["shadow-deployment", "canary-deployment"]),
        ("difference between data and concept drift", "explain", ["data-drift", "concept-drift"]),
        ("data drift or concept drift, which one is it when my labels change meaning?", "explain",
         ["data-drift", "concept-drift"]),
        ("is shadow deployment or canary deployment safer for a first launch?", "explain",
         ["shadow-deployment", "canary-deployment"]),
        ("what is data drift, or is it just noise?", "explain", ["data-drift"]),
        ("what's the difference between a data lake and a data warehouse?", "compare",
         ["data-warehouse-lake"]),
        ("what should I read for feature stores?", "recommend", []),
        ("what is a good sourdough recipe?", "explain", []),
        # The concept a question opens by asking about, before a longer name later on.
        ("what is RAG, and how is it different from plain fine-tuning on our documents?",
         "explain", ["rag"]),
        ("what's CI/CD for ML and does it need a model registry?", "explain", ["ci-cd-for-ml"]),
        # A name said in passing, whose meaning the question does not share, yields to the
        # concept the question means; a name the question is about keeps it.
        ("my inference server handles requests one by one and the GPU sits mostly idle, how do"
         " I group them?", "explain", ["dynamic-batching"]),
        ("our feature store got a column full of nulls from upstream and nobody noticed before"
         " training, what check catches that?", "explain", ["data-validation"]),
        ("how do I ship my model server with the exact same Python libraries to every machine?",
         "explain", ["containerization"]),
        ("how does a feature store keep training and serving features consistent?", "explain",
         ["feature-store"]),
        ("why does dynamic batching help an inference server?", "explain",
         ["dynamic-batching"]),
        # Sides that give only the start of two names ending alike.
        ("whats the difference between shadow and canary", "compare",
         ["shadow-deployment", "canary-deployment"]),
        ("blue-green or canary?", "compare", ["blue-green-deployment", "canary-deployment"]),
        ("precision vs recall", "compare", []),
        # Two described ways of doing something, set side by side with "vs".
        ("process events as they arrive vs in a nightly job?", "compare",
         ["stream-processing", "batch-processing"]),
        # "A instead of B", "A rather than B" set two named concepts side by side.
        ("should I use RAG instead of fine-tuning?", "explain", ["rag", "transfer-learning"]),
        ("why would a team pick canary deployment rather than shadow deployment?", "explain",
         ["canary-deployment", "shadow-deployment"]),
    ],
)  # fmt: skip
def test_questions_find_their_concepts(
    index: ConceptIndex, question: str, intent: str, expected: list[str]
) -> None:
    assert [c.id for c in index.for_question(question, intent)] == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [("should we process events as they arrive or in a nightly job?",
      ["stream-processing", "batch-processing"]),
     ("is it better to run the model on the user's phone or on our servers?",
      ["edge-deployment", "model-serving"]),
     ("should I switch all traffic to a copy of the environment at once or ramp up slowly?",
      ["blue-green-deployment", "canary-deployment"]),
     ("do we copy the database to more machines or split it across them?",
      ["replication", "partitioning"]),
     # "versus", "vs" and "rather than" set two options against each other as "or" does.
     ("should we score customers in a nightly job versus on each request?",
      ["batch-inference", "online-inference"]),
     ("is it better to score everyone overnight rather than on each request?",
      ["batch-inference", "online-inference"])],
)  # fmt: skip
def test_a_choice_that_names_neither_side_compares_what_each_side_means(
    index: ConceptIndex, question: str, expected: list[str]
) -> None:
    # Read as a request by the rules, it still sets two ways of doing something side by side.
    assert [c.id for c in index.for_question(question, "recommend")] == expected


@pytest.mark.parametrize(
    "question",
    ["should I read DDIA or the Chip Huyen book first?", "should I learn pytorch or tensorflow?",
     "should I use a feature store or just compute features in the service?",
     "what should I read about batch or streaming pipelines?"],
)  # fmt: skip
def test_a_choice_whose_sides_mean_no_two_concepts_defines_nothing(
    index: ConceptIndex, question: str
) -> None:
    # A named side means that concept: a feature store is not set against its own two halves.
    assert index.for_question(question, "recommend") == []


def test_a_concept_retrieval_agrees_with_needs_less_similarity(
    index: ConceptIndex, catalog: Catalog
) -> None:
    # Batch inference is what this means, but its meaning alone stays below the floor.
    question = "my shop's suggestions were computed last night, is that a bad idea?"
    assert index.for_question(question, "explain") == []
    # A post on precomputing recommendations, which the glossary says teaches it, was found.
    found = index.for_question(
        question, "explain", retrieved=["netflix-system-architectures-for-personalization"]
    )
    assert [c.id for c in found] == ["batch-inference"]
    # Retrieval finding other things is no evidence.
    teaching = index.concepts["batch-inference"].resources
    others = [rid for rid in catalog.resources if rid not in teaching][:5]
    assert index.for_question(question, "explain", retrieved=others) == []
    # Nor is a survey that teaches a third of the glossary, found for almost anything.
    survey = ["designing-machine-learning-systems"]
    assert survey[0] in teaching
    assert index.for_question(question, "explain", retrieved=survey) == []


@pytest.mark.parametrize(
    "question",
    # Far from every concept; and one unknown word, whose closeness to a concept is chance.
    ["how do plants turn sunlight into sugar in their leaves?", "what is backpropagation?"],
)
def test_retrieval_agreeing_does_not_define_what_the_glossary_lacks(
    index: ConceptIndex, question: str
) -> None:
    teaching = {rid for concept in index.concepts.values() for rid in concept.resources}
    assert index.for_question(question, "explain", retrieved=teaching) == []


def test_a_paraphrase_finds_its_concept_by_meaning(index: ConceptIndex) -> None:
    assert not index.named_in("what is a place to version trained models?")
    found = index.for_question("what is a place to version trained models?", "explain")
    assert [c.id for c in found] == ["model-registry"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Described, not named: matched by the definition's meaning. (Latest values served
        # fast and history kept for training are the two halves of a feature store.)
        ("what is the system that serves the most recent feature values to models at low "
         "latency and keeps history for training?", "online-offline-store"),
        ("what do you call one shared place where teams define features once and reuse them "
         "across models?", "feature-store"),
        ("how do I split one big training job over several machines with GPUs?",
         "distributed-training"),
        ("why would you keep a snapshot of the weights during a long training job?",
         "checkpointing"),
        ("what does it mean to store numbers in fewer bits so a model needs less memory?",
         "quantization"),
        # A symptom, in a learner's words: matched by the concept's example questions.
        ("why does my recommender keep showing people the same kind of items it already "
         "showed them?", "feedback-loop"),
        ("how do I make a big model use fewer bits per weight so it fits on a smaller GPU?",
         "quantization"),
        # A one-word name inside a more specific question gives way to the closer concept.
        ("how does keeping the keys and values of earlier tokens in a cache speed up text "
         "generation?", "kv-cache"),
        # A name said in passing ("model server") gives way to what the question is about.
        ("why would a model server wait a few milliseconds to group requests together?",
         "dynamic-batching"),
    ],
)  # fmt: skip
def test_a_description_finds_its_concept(index: ConceptIndex, question: str, expected: str) -> None:
    assert [c.id for c in index.for_question(question, "explain")] == [expected]


@pytest.mark.parametrize(
    "question",
    ["how does gradient boosting build its trees?", "what is a linked list?",
     "how do hash maps work?", "what is photosynthesis?"],
)  # fmt: skip
def test_no_glossary_entry_gives_no_definition(index: ConceptIndex, question: str) -> None:
    # A wrong definition is worse than none: outside the glossary the answer is a reading list.
    assert index.for_question(question, "explain") == []


def test_scope_by_meaning(index: ConceptIndex) -> None:
    assert index.in_scope("how do I make my model smaller and faster?")
    assert index.in_scope("what is point-in-time correctness?")  # named, two words
    assert not index.in_scope("which graphics card should I buy to play games?")
    assert not index.in_scope("how do I keep my bread from going stale?")


def test_a_name_passed_over_is_offered_next(index: ConceptIndex) -> None:
    # The question means dynamic batching but names model serving: the named entry is offered
    # in case it was meant after all; a question about the concept it names offers nothing.
    question = "my inference server handles requests one by one and the GPU sits idle, why?"
    best = index.for_question(question, "explain")[0]
    offered = index.runner_up(question, best)
    assert best.id != "model-serving" and offered is not None and offered.id == "model-serving"
    named = "why does dynamic batching help an inference server?"
    assert index.runner_up(named, index.for_question(named, "explain")[0]) is None


@pytest.mark.parametrize(
    ("question", "concept", "side"),
    [("how is it different from a nightly batch job?", "continual-learning",
      ("nightly batch job", False)),
     ("feature store vs a plain key-value database", "feature-store",
      ("plain key-value database", False)),
     # Retraining is one of continual learning's names: the same entry, no second one.
     ("how does that differ from retraining every week?", "continual-learning",
      ("retraining every week", True)),
     # The other side has an entry of its own: a comparison of two concepts, no missing side.
     ("how does it compare to a data warehouse?", "feature-store", None),
     ("what is a feature store?", "feature-store", None)],
)  # fmt: skip
def test_the_side_of_a_comparison_without_an_entry(
    index: ConceptIndex, question: str, concept: str, side: tuple[str, bool] | None
) -> None:
    assert index.other_side(question, index.concepts[concept]) == side


@pytest.mark.parametrize(
    ("message", "concept"),
    [("KV cache?", "kv-cache"), ("a feature store?", "feature-store"),
     ("point-in-time correctness??", "point-in-time-correctness"),
     # Without the question mark a name is a topic to list; with more words, a question.
     ("experiment tracking", None), ("feature stores for a small team?", None)],
)  # fmt: skip
def test_a_concepts_name_asked_alone_is_a_bare_name(
    index: ConceptIndex, message: str, concept: str | None
) -> None:
    found = index.bare_name(message)
    assert (found.id if found else None) == concept


@pytest.mark.parametrize(
    ("message", "concept"),
    [("ELI5 embeddings", "embeddings"), ("feature stores in simple terms", "feature-store"),
     ("explain the KV cache like I'm five", "kv-cache")],
)  # fmt: skip
def test_asking_for_a_simple_explanation_asks_for_a_definition(
    index: ConceptIndex, message: str, concept: str
) -> None:
    # Whatever intent the classifier gives it, asking for it simply asks what it is.
    assert [c.id for c in index.for_question(message, "recommend")] == [concept]


def test_a_comparison_with_one_side_in_the_glossary_is_about_that_side(
    index: ConceptIndex,
) -> None:
    found = index.for_question("what's the difference between MLOps and DevOps?", "compare")
    assert [c.id for c in found] == ["mlops"]
    assert index.other_side("what's the difference between MLOps and DevOps?", found[0]) == (
        "DevOps",
        False,
    )


def test_the_sentence_of_an_entry_closest_to_a_question(index: ConceptIndex) -> None:
    shadow = index.concepts["shadow-deployment"]
    said = index.closest_sentence(shadow, "which one puts users at less risk?")
    assert said in shadow.definition and "risk" in said
    drift = index.concepts["concept-drift"]
    said = index.closest_sentence(drift, "which is harder to notice?")
    assert said in f"{drift.definition} {drift.why}" and said != drift.definition.split(". ")[0]
