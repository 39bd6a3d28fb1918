"""The assistant over the real corpus: hybrid retrieval, understanding, follow-ups, answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document

from assistant.conversation import Turn
from assistant.ranking import out_of_scope
from assistant.service import Assistant, InvalidInput, build_assistant
from assistant.settings import Settings
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

# Whole-corpus ingests or `mlsd` subprocesses: minutes, so not in the unit layer.
pytestmark = pytest.mark.integration

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings rooted in a test's temp dir, over the real corpus unless told otherwise."""
    values: dict[str, object] = {"data_dir": tmp_path / "data", "corpus_dir": REAL_CORPUS}
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """A real index of the real corpus, built once for this module."""
    settings = make_settings(tmp_path_factory.mktemp("assistant"))
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


def ids(assistant: Assistant, query: str, k: int = 5) -> list[str]:
    return [hit.resource.id for hit in assistant.search(query, k=k).hits]


def test_feature_store_question_finds_the_feature_stores(assistant: Assistant) -> None:
    top = ids(assistant, "what should I read for feature stores?")
    stores = {"feast", "tecton", "hopsworks", "databricks-feature-store"}
    assert len(stores & set(top)) >= 3, top


def test_each_hit_carries_evidence_from_a_source(assistant: Assistant) -> None:
    hits = assistant.search("open source feature store", k=5).hits
    assert hits[0].resource.id == "feast"
    for hit in hits:
        assert hit.evidence is not None and hit.evidence.kind == "passage"
        assert hit.resource.id in hit.evidence.resource_ids
        assert hit.snippet


def test_typos_are_corrected_and_shown(assistant: Assistant) -> None:
    result = assistant.search("feture stor", k=5)
    assert result.parsed.corrections == {"feture": "feature", "stor": "store"}
    assert "feast" in [h.resource.id for h in result.hits]


def test_author_lookup_puts_the_authors_work_first(assistant: Assistant) -> None:
    hits = assistant.search("anything by Chip Huyen", k=4).hits
    assert all("Chip Huyen" in h.resource.authors for h in hits), [h.resource.id for h in hits]


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("a course on MLOps", lambda r: r.kind == "course"),
        ("free resources on model monitoring", lambda r: r.cost != "paid"),
        ("open source tools for model serving", lambda r: r.open_source is True),
        ("papers about technical debt in ML", lambda r: r.kind == "paper"),
    ],
)
def test_stated_constraints_are_filters(assistant: Assistant, query: str, check) -> None:
    hits = assistant.search(query, k=10).hits
    assert hits, query
    assert all(check(h.resource) for h in hits), [h.resource.id for h in hits]


def test_vocabulary_gap_drift_means_monitoring(assistant: Assistant) -> None:
    result = assistant.search("how do I catch drift in production?", k=5)
    assert "monitoring" in result.parsed.topics
    monitoring = {"evidently-ai", "whylabs", "arize-ai", "grafana-prometheus"}
    assert monitoring & {h.resource.id for h in result.hits}


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("I can never remember which hyperparameters gave which result", "experiment-tracking"),
        ("my model's inputs are looking different lately", "monitoring"),
        ("how should I test a model before it ships?", "testing"),
        ("we deployed a model, now what?", "deployment"),
    ],
)
def test_topic_terms_match_their_inflections(assistant: Assistant, message: str, topic: str):
    assert topic in assistant.parser.parse(message).topics


def test_a_topic_word_alone_is_no_evidence_of_the_domain(assistant: Assistant) -> None:
    # "switch" is a career word and "unit test" a testing one, but neither is about ML: such a
    # question is judged by how close the index comes; ML vocabulary keeps a question in scope.
    weak = assistant.parser.parse("should I switch to a quieter office chair?")
    assert weak.topics and not weak.domain
    assert out_of_scope(weak, top_similarity=0.2)
    assert not out_of_scope(weak, top_similarity=0.4)
    ml = assistant.parser.parse("which hyperparameters matter most?")
    assert ml.domain and not out_of_scope(ml, top_similarity=0.1)


def test_off_topic_question_gets_an_honest_not_covered(assistant: Assistant) -> None:
    answer = assistant.ask("what's the best pizza place in Naples?")
    assert answer.intent == "out_of_scope"
    assert answer.items == [] and answer.citations == []
    assert "isn't covered here" in answer.text


def test_answer_citations_point_at_given_evidence(assistant: Assistant) -> None:
    answer = assistant.ask("I'm an SRE, where do I start?")
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert numbers and numbers <= {c.number for c in answer.citations}
    assert all(item.resource.id in assistant.catalog.resources for item in answer.items)
    assert answer.query_used["role"] == "sre"
    assert "reliable-machine-learning" in [i.resource.id for i in answer.items]


def test_follow_ups_narrow_swap_topic_and_swap_kind(assistant: Assistant) -> None:
    first = assistant.ask("what should I read for feature stores?")
    narrowed = assistant.ask("any of those open source?", session_id=first.session_id)
    first_ids = {i.resource.id for i in first.items}
    narrowed_ids = [i.resource.id for i in narrowed.items]
    assert narrowed_ids and set(narrowed_ids) <= first_ids
    assert all(i.resource.open_source for i in narrowed.items)
    assert "tecton" not in narrowed_ids

    swapped = assistant.ask("and for model serving?", session_id=first.session_id)
    assert "serving" in swapped.query_used["topics"]
    assert {"vllm", "nvidia-triton", "torchserve", "bentoml"} & {
        i.resource.id for i in swapped.items
    }

    courses = assistant.ask("a course on the same topic?", session_id=first.session_id)
    assert courses.items and all(i.resource.kind == "course" for i in courses.items)
    assert courses.query_used["follow_up"] == "same-topic"
    # "Open source" was carried over but cannot hold for courses: the answer must not claim it.
    assert "open source" not in courses.text.split("\n")[0]
    assert "open source" in narrowed.text.split("\n")[0]


def test_reasons_quote_best_for_as_written(assistant: Assistant) -> None:
    answer = assistant.ask("I'm an SRE, where do I start?")
    reasons = {i.resource.id: i.reason for i in answer.items}
    resource = assistant.catalog.resources["reliable-machine-learning"]
    assert resource.best_for.startswith("SREs")  # an acronym must not become "sREs"
    assert f"Best for: {resource.best_for.rstrip('.')}." in reasons["reliable-machine-learning"]


def test_a_bare_constraint_narrows_the_last_answer(assistant: Assistant) -> None:
    first = assistant.ask("books on site reliability engineering")
    free = assistant.ask("which are free?", session_id=first.session_id)
    free_ids = [i.resource.id for i in free.items]
    assert free.query_used["follow_up"] == "narrow" and free.query_used["free_only"]
    assert free_ids and set(free_ids) <= {i.resource.id for i in first.items}
    assert all(i.resource.cost != "paid" for i in free.items)


def test_when_none_of_those_fit_the_same_topic_is_searched(assistant: Assistant) -> None:
    first = assistant.ask("paid books to prepare for ML system design interviews")
    assert first.items and all(i.resource.cost == "paid" for i in first.items)
    free = assistant.ask("only the free ones", session_id=first.session_id)
    assert free.items, "an empty answer helps no one: widen to the topic, keep the constraint"
    assert all(i.resource.cost != "paid" for i in free.items)
    assert free.query_used["follow_up"] == "same-topic"
    assert "restrict_to" not in free.query_used
    # The constraint carries on to the next topic swap.
    swapped = assistant.ask("and for general system design?", session_id=first.session_id)
    assert swapped.items and all(i.resource.cost != "paid" for i in swapped.items)


def test_sessions_survive_a_restart(assistant: Assistant, embedder: Embedder) -> None:
    first = assistant.ask("what should I read for feature stores?")
    again = build_assistant(assistant.settings, embedder=embedder)  # a new process, same data
    narrowed = again.ask("which of these are open source?", session_id=first.session_id)
    assert narrowed.query_used["follow_up"] == "narrow"
    assert set(narrowed.query_used["restrict_to"]) == {i.resource.id for i in first.items}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: a.search("   "), "empty"),
        (lambda a: a.search("x" * 5000), "limit is 2000"),
        (lambda a: a.search("feature stores", k=0), "k must be between 1 and 50"),
        (lambda a: a.search("feature stores", k=51), "k must be between 1 and 50"),
        (lambda a: a.search("feature stores", kinds=("movie",)), "unknown kind"),
        (lambda a: a.ask("hello", session_id="no-such-session"), "unknown session"),
    ],
)
def test_bad_input_is_refused_with_what_to_fix(assistant: Assistant, call, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        call(assistant)


def test_langchain_retriever_returns_documents(assistant: Assistant) -> None:
    docs = assistant.as_retriever(k=3).invoke("LLM serving with high throughput")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert "vllm" in [d.metadata["id"] for d in docs]


@pytest.mark.parametrize("pipeline", ["bm25", "dense", "hybrid", "full"])
def test_every_pipeline_ranks_resources(assistant: Assistant, pipeline: str) -> None:
    hits = assistant.search("experiment tracking", k=5, pipeline=pipeline).hits  # type: ignore[arg-type]
    assert len(hits) == 5
    assert {"mlflow", "weights-and-biases", "neptune-ai", "comet-ml"} & {
        h.resource.id for h in hits
    }


def test_data_dir_holds_the_sessions(assistant: Assistant) -> None:
    assert Path(assistant.storage.path).is_file()
    assert Path(assistant.storage.path).parent == assistant.settings.data_dir


def _ids_of(answer) -> list[str]:
    return [item.resource.id for item in answer.items]


def test_greetings_and_thanks_get_a_reply_and_keep_the_thread(assistant: Assistant) -> None:
    hello = assistant.ask("Hi!")
    assert hello.intent == "smalltalk" and not hello.items and not hello.citations
    assert "feature stores" in hello.text  # it says what it can do, with examples
    first = assistant.ask("what should I read for feature stores?", session_id=hello.session_id)
    thanks = assistant.ask("thanks", session_id=first.session_id)
    assert thanks.intent == "smalltalk" and not thanks.items
    # The follow-up after "thanks" still refers to the feature-store answer.
    narrowed = assistant.ask("any of those open source?", session_id=first.session_id)
    assert narrowed.query_used["follow_up"] == "narrow"
    assert set(_ids_of(narrowed)) <= set(_ids_of(first)) and "feast" in _ids_of(narrowed)


def test_show_me_more_continues_without_repeating(assistant: Assistant) -> None:
    first = assistant.ask("tools for monitoring models in production")
    more = assistant.ask("show me more", session_id=first.session_id)
    assert more.query_used["follow_up"] == "more"
    assert more.items and not set(_ids_of(more)) & set(_ids_of(first))
    assert "monitoring" in more.query_used["topics"]
    assert all(i.resource.kind == "tool" for i in first.items + more.items)  # kind kept
    again = assistant.ask("anything else?", session_id=first.session_id)
    assert not set(_ids_of(again)) & (set(_ids_of(first)) | set(_ids_of(more)))
    if not again.items:
        assert "no more" in again.text


def test_the_second_one_and_more_like_it(assistant: Assistant) -> None:
    first = assistant.ask("experiment tracking tools")
    second = first.items[1].resource
    similar = assistant.ask("anything similar to the second one?", session_id=first.session_id)
    assert similar.query_used["similar_to"] == second.id
    assert similar.items and second.id not in _ids_of(similar)
    assert all(set(i.resource.topics) & set(second.topics) for i in similar.items)
    assert similar.text.startswith(f"{len(similar.items)} resources like *{second.title}*")

    other = assistant.ask("experiment tracking tools")
    about = assistant.ask("tell me more about the second one", session_id=other.session_id)
    assert _ids_of(about) == [second.id]
    like_it = assistant.ask("anything similar?", session_id=other.session_id)
    assert like_it.query_used["similar_to"] == second.id


def test_something_like_a_named_resource_needs_no_history(assistant: Assistant) -> None:
    like = assistant.ask("something like Feast but for a team without a platform")
    assert like.query_used["similar_to"] == "feast" and "feast" not in _ids_of(like)
    assert {"hopsworks", "tecton", "databricks-feature-store"} & set(_ids_of(like)[:5])


def test_a_bare_level_keeps_the_topic_and_searches_again(assistant: Assistant) -> None:
    first = assistant.ask("what should I read for feature stores?")
    easier = assistant.ask("something more beginner friendly?", session_id=first.session_id)
    assert easier.query_used["follow_up"] == "same-topic"
    assert easier.query_used["level"] == "beginner"
    assert "feature-stores" in easier.query_used["topics"]
    assert all("feature-stores" in i.resource.topics for i in easier.items[:3])


def test_constraints_are_not_filled_with_off_topic_resources(assistant: Assistant) -> None:
    # No free book in the catalog is about interviews: say so, instead of listing free SRE books.
    first = assistant.ask("I'm preparing for ML interviews at FAANG")
    books = assistant.ask("and free books?", session_id=first.session_id)
    assert all("interviews" in i.resource.topics for i in books.items)
    if not books.items:
        assert books.text.startswith("Nothing in the catalog on interview")


def test_a_session_naming_a_resource_no_longer_in_the_catalog_still_answers(
    assistant: Assistant,
) -> None:
    # A session stored before a catalog edit can point at an id that is gone.
    first = assistant.ask("experiment tracking tools")
    session = assistant.storage.load_session(first.session_id)
    stale = Turn("old question", {"topics": ["experiment-tracking"]}, ("gone-resource",), "old")
    assistant.storage.append_turn(session, stale)
    answer = assistant.ask("anything similar to the first one?", session_id=first.session_id)
    assert answer.items and all(i.resource.id in assistant.catalog.resources for i in answer.items)
