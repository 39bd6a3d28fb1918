"""The assistant over the real corpus: hybrid retrieval, understanding, follow-ups, answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document

from assistant.conversation import Turn
from assistant.query import Request
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


def test_a_snippet_keeps_an_authors_initial_inside_its_sentence(assistant: Assistant) -> None:
    # The seed passage reads '"Hidden Technical Debt in Machine Learning Systems" by D. Sculley
    # et al.': a split at every full stop cut the citation at "by D.".
    answer = assistant.ask("papers on hidden technical debt in machine learning")
    snippets = [c.snippet for c in answer.citations]
    assert any("D. Sculley" in s for s in snippets), snippets
    assert not any(s.rstrip().endswith(" D.") for s in snippets), snippets


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
    # "switch" is a career word and "unit test" a testing one, but neither is about ML: the
    # intent classifier reads the whole question, and a question it doubts is answered only when
    # the index holds a close match; a question it reads as ML stays in scope.
    weak = Request.of(assistant.parser.parse("should I switch to a quieter office chair?"))
    assert weak.topics and not weak.domain
    assert out_of_scope(weak, top_similarity=0.2)
    assert out_of_scope(weak, top_similarity=0.4)
    assert not out_of_scope(weak, top_similarity=0.6)
    ml = Request.of(assistant.parser.parse("which hyperparameters matter most?"))
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


def test_which_one_chooses_among_the_last_answer(assistant: Assistant) -> None:
    first = assistant.ask("open source tools for putting models behind an API")
    best = assistant.ask("which one is best for large language models?", first.session_id)
    ids = [i.resource.id for i in best.items]
    assert best.query_used["follow_up"] == "narrow"
    assert ids and set(ids) <= {i.resource.id for i in first.items}
    assert ids[0] == "vllm"


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


@pytest.mark.parametrize(
    ("message", "like"),
    [("books like Designing Data-Intensive Applications but for ML",
      "designing-data-intensive-applications"),
     ("are there courses like Made With ML?", "made-with-ml")],
)  # fmt: skip
def test_a_kind_like_a_named_resource_is_others_like_it(
    assistant: Assistant, message: str, like: str
) -> None:
    # "books like X" wants other books like X, all of them counted as such, not X itself.
    answer = assistant.ask(message)
    assert answer.query_used["similar_to"] == like and like not in _ids_of(answer)
    assert answer.items and all(i.group != "Related" for i in answer.items)
    assert answer.text.startswith(f"{len(answer.items)} ")


def test_a_bare_level_keeps_the_topic_and_searches_again(assistant: Assistant) -> None:
    first = assistant.ask("what should I read for feature stores?")
    easier = assistant.ask("something more beginner friendly?", session_id=first.session_id)
    assert easier.query_used["follow_up"] == "same-topic"
    assert easier.query_used["level"] == "beginner"
    assert "feature-stores" in easier.query_used["topics"]
    assert all("feature-stores" in i.resource.topics for i in easier.items[:3])


@pytest.mark.parametrize(
    ("first", "then", "topic", "kinds", "searched"),
    [("books on model monitoring", "something shorter", "monitoring", {"blog", "paper"}, ""),
     ("model serving resources", "anything more hands-on?", "serving", None, "hands-on"),
     ("books on model monitoring", "any videos?", "monitoring", {"course"}, "")],
)  # fmt: skip
def test_a_bare_change_asks_for_the_same_subject_again(
    assistant: Assistant, first: str, then: str, topic: str, kinds: set[str] | None, searched: str
) -> None:
    before = assistant.ask(first)
    after = assistant.ask(then, session_id=before.session_id)
    assert after.intent == "recommend" and after.query_used["follow_up"] == "same-topic"
    assert topic in after.query_used["topics"]
    # The respect that changed is searched for on the subject, not dropped.
    assert searched in str(after.query_used["topic_text"])
    on = [i for i in after.items if i.group != "Related"]
    assert on and all(topic in i.resource.topics for i in on), [i.resource.id for i in on]
    if kinds:
        assert {i.resource.kind for i in after.items} <= kinds


@pytest.mark.parametrize(
    ("message", "kind", "verb"),
    [("what's the single best book on ML system design?", "book", "read"),
     ("I only have time for one course on MLOps", "course", "take")],
)  # fmt: skip
def test_asking_for_one_pick_gets_one_and_the_next_two_named(
    assistant: Assistant, message: str, kind: str, verb: str
) -> None:
    answer = assistant.ask(message)
    assert [i.resource.kind for i in answer.items] == [kind]
    assert answer.text.startswith(f"If you {verb} one {kind} on ")
    also = answer.text.split("Also worth a look:", 1)[1].split("\n", 1)[0]
    assert answer.items[0].resource.title not in also and also.count("*[") >= 1
    # The answer carries them too, for an LLM's prompt.
    assert answer.also and all(r.title in also for r in answer.also)


def test_constraints_are_not_filled_with_off_topic_resources(assistant: Assistant) -> None:
    # No free book in the catalog is about interviews: say so, instead of listing free SRE books.
    first = assistant.ask("I'm preparing for ML interviews at FAANG")
    books = assistant.ask("and free books?", session_id=first.session_id)
    assert all("interviews" in i.resource.topics for i in books.items)
    if not books.items:  # and where the subject is instead
        assert books.text.startswith("The catalog has no free book on interview"), books.text
        assert books.elsewhere and all("interviews" in r.topics for r in books.elsewhere)


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


def test_a_replayed_conversation_answers_as_the_stored_session(assistant: Assistant) -> None:
    # Issue 15: OpenAI clients send the whole conversation; replaying it must give what the
    # stored session gives, and store nothing.
    said = ["tools for monitoring models in production", "show me more", "which are free?"]
    stored = assistant.ask(said[0])
    for message in said[1:]:
        stored = assistant.ask(message, session_id=stored.session_id)
    replayed = assistant.ask_in_context(said[:-1], said[-1])
    assert stored.query_used["follow_up"] == "narrow"
    assert _ids_of(replayed) == _ids_of(stored) and replayed.text == stored.text
    assert replayed.session_id is None
    fresh = assistant.ask_in_context([], said[-1])  # without the history it is another answer
    assert _ids_of(fresh) != _ids_of(stored)
    with pytest.raises(InvalidInput, match="the limit is"):
        assistant.ask_in_context(["x" * 5000], "mlops")


# --- provenance (issue 13): verified resources first, no vendor product leading a path -----------


def test_an_affiliate_only_title_does_not_lead_the_interview_books(assistant: Assistant) -> None:
    hits = assistant.search("best book for ML system design interviews", k=5).hits
    assert hits[0].resource.verified and hits[0].resource.kind == "book", hits[0].resource.id
    # Demoted, not hidden: the title is still offered further down.
    assert "ace-machine-learning-system-design-interviews" in [h.resource.id for h in hits]


def test_naming_an_unverified_title_keeps_it_first(assistant: Assistant) -> None:
    hits = assistant.search("is Ace Machine Learning System Design Interviews any good?", k=5).hits
    assert hits[0].resource.id == "ace-machine-learning-system-design-interviews"


def test_the_default_learning_path_does_not_start_with_a_vendor_item(
    assistant: Assistant,
) -> None:
    result = assistant.search("where should I start?", k=5)
    assert result.parsed.intent == "learning_path"
    assert not result.hits[0].resource.vendor, result.hits[0].resource.id
    assert not assistant.recommend(k=5).items[0].resource.vendor


@pytest.mark.parametrize("message", ["where do I start?", "can you give me a learning path?"])
def test_a_study_plan_nobody_asked_a_product_for_has_no_vendor_product(
    assistant: Assistant, message: str
) -> None:
    answer = assistant.ask(message)
    assert answer.intent == "learning_path" and len(answer.items) >= 3
    assert not [i.resource.id for i in answer.items if i.resource.vendor]


def test_a_vendors_own_mentions_do_not_earn_it_a_place_on_the_default_path(
    assistant: Assistant,
) -> None:
    # A path with no subject starts from what several sources name; a source naming its own
    # product is advertising, not agreement.
    hits = assistant.search("can you give me a learning path?", k=5).hits
    assert not [h.resource.id for h in hits if h.resource.vendor or not h.resource.verified]


def test_a_learning_path_is_for_the_role_the_message_gives(assistant: Assistant) -> None:
    # No profile: the role said in the message is who the path is for, and where they are
    # going counts over where they are.
    answer = assistant.ask("I'm a data analyst, how do I get into ML engineering?")
    assert answer.intent == "learning_path"
    assert "ML engineers" in answer.text.split("\n", 1)[0]
    fits = [i for i in answer.items if "ml-engineer" in i.resource.audience]
    assert len(fits) >= len(answer.items) - 1, [i.resource.id for i in answer.items]
    # They are not an ML engineer yet: no reason says "like you".
    assert not [i.reason for i in answer.items if "like you" in i.reason]


# -- issue 13: answers a mentor would give -------------------------------------------------------


def test_an_explain_question_opens_with_the_definition_and_cites(assistant: Assistant) -> None:
    answer = assistant.ask("what is training-serving skew?")
    concept = assistant.concepts.concepts["training-serving-skew"]
    assert answer.text.startswith(f"**Training-serving skew**: {concept.definition.strip()}")
    assert answer.concepts == [concept]
    shown = [i.resource.id for i in answer.items]
    # What to read starts with the resources the glossary says teach it; anything else only
    # fills in after them.
    taught = [rid for rid in shown if rid in concept.resources]
    assert taught and shown[: len(taught)] == taught
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert numbers and numbers <= {c.number for c in answer.citations}


def test_a_compare_question_defines_both_sides(assistant: Assistant) -> None:
    answer = assistant.ask("what's the difference between batch and online inference?")
    first, rest = answer.text.split("\n", 1)
    assert first == "**Batch inference** and **online inference**, side by side:"
    batch, online = (
        assistant.concepts.concepts[c] for c in ("batch-inference", "online-inference")
    )
    assert rest.index(batch.definition.strip()) < rest.index(online.definition.strip())
    assert rest.index(online.definition.strip()) < rest.index("What to read next:")
    # What to read teaches one side or the other (not, say, an LLM server).
    assert {i.resource.id for i in answer.items} <= {*batch.resources, *online.resources}


def test_a_short_list_is_honest_instead_of_padded(assistant: Assistant) -> None:
    answer = assistant.ask("papers about ML technical debt")
    shown = [i.resource.id for i in answer.items]
    assert "attention-is-all-you-need" not in shown  # padding the old fixed five added
    assert all("technical-debt" in i.resource.topics for i in answer.items)
    assert answer.text.startswith("The catalog has two papers on technical debt")
    assert len(shown) == 2


def test_a_read_question_is_reading_first_with_one_tool_at_most(assistant: Assistant) -> None:
    answer = assistant.ask("what should I read for feature stores?")
    kinds = [i.resource.kind for i in answer.items]
    assert kinds.count("tool") <= 1 and kinds[0] != "tool"
    # Grouped by purpose, in study order: reading before hands-on before communities.
    order = ["Start here", "Go deeper", "Try hands-on", "Join"]
    groups = [order.index(i.group) for i in answer.items]
    assert groups == sorted(groups)
    assert "**Start here**" in answer.text or "**Go deeper**" in answer.text
    for item in answer.items:  # reasons from the resource itself, no kind/level/cost labels
        assert not re.match(r"(Free |Open-source )?(beginner|intermediate|advanced) ", item.reason)
        assert item.reason.startswith(item.resource.summary.strip()[:30])


def test_a_level_follow_up_claims_the_level_only_when_it_holds(assistant: Assistant) -> None:
    first = assistant.ask("best book for ML system design interviews")
    easier = assistant.ask("something more beginner friendly?", session_id=first.session_id)
    lead = easier.text.split("\n", 1)[0]
    levels = {i.resource.level for i in easier.items}
    if levels == {"beginner"}:
        assert "(beginner)" in lead
    else:
        assert "(beginner)" not in lead and "beginner" in lead  # says what it could not do


def test_tell_me_more_shows_the_whole_entry(assistant: Assistant) -> None:
    first = assistant.ask("best book for ML system design interviews")
    second = first.items[1].resource
    more = assistant.ask("tell me more about the second one", session_id=first.session_id)
    assert [i.resource.id for i in more.items] == [second.id]
    assert more.text.startswith(f"**{second.title}**")
    assert second.summary.strip() in more.text
    assert f"Best for: {second.best_for.strip()}" in more.text
    assert "What the sources say:" in more.text and "Link:" in more.text


def test_counts_use_plain_grammar() -> None:
    from assistant.compose import count, plural

    assert count(1, "book") == "1 book"
    assert count(3, "community") == "3 communities"
    assert plural("paper") == "papers"


def test_a_question_naming_a_concept_is_in_scope(assistant: Assistant) -> None:
    # No machine-learning word in it, and the index alone is not sure: the glossary name is.
    answer = assistant.ask("what does point-in-time correctness mean?")
    assert answer.intent != "out_of_scope"
    assert answer.text.startswith("**Point-in-time correctness**:")


def test_a_server_prepares_the_typo_index_and_glossary_after_start_up(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path)
    run_ingest(settings, embedder=embedder, progress=False)
    assistant = build_assistant(settings, embedder=embedder)
    # Neither is needed for the warm-up question, so start-up does not wait for them ...
    assert not assistant.parser.prepared and not assistant.concepts.embedded
    assistant.prepare_in_background().join(timeout=120)
    # ... and a server has both before its first typo or explain question.
    assert assistant.parser.prepared and assistant.concepts.embedded
