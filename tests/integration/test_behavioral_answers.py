"""Behavioural suite, answer level: the real Assistant over an index of the whole corpus reads
ordinary English the way a person does (the misreadings of issue 11, end to end)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.compose import DEEPER, HANDS_ON, JOIN, RELATED, START, purpose
from assistant.profiles import Profile
from assistant.service import Assistant, build_assistant
from assistant.settings import Settings
from evals.checks import opens_with_definition
from evals.documents import with_documents
from ingest.catalog import LEVELS
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

pytestmark = pytest.mark.integration

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
NOT_COVERED = "That isn't covered here"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    root = tmp_path_factory.mktemp("behavioral")
    settings = Settings(data_dir=root / "data", corpus_dir=REAL_CORPUS)
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


@pytest.mark.parametrize(
    "message",
    [
        "which GPU should I buy for gaming?",
        "what model of Toyota is the most reliable?",
        "how do I train my puppy to walk on a lead?",
        "best model trains for a Christmas present",
        # Leading a team is the manager role, but what the team does is still the subject.
        "how do I run a restaurant team?",
        "what's the newest iPhone?",
    ],
)
def test_off_topic_questions_with_a_domain_word_are_not_covered(
    assistant: Assistant, message: str
) -> None:
    answer = assistant.ask(message)
    assert answer.intent == "out_of_scope"
    assert answer.items == []


@pytest.mark.parametrize(
    "message",
    [
        "how do I handle class imbalance in fraud detection models?",
        "which GPUs do I need to serve a large language model?",
        "software engineering best practices for data scientists",
        "what should I read in my free time about MLOps?",
    ],
)
def test_near_misses_are_answered(assistant: Assistant, message: str) -> None:
    answer = assistant.ask(message)
    assert answer.intent != "out_of_scope"
    assert answer.items


@pytest.mark.parametrize(
    "message",
    ["tell me more about the second one", "any of those free?", "is it free?", "show me more",
     "something shorter?", "how does it work?"],
)  # fmt: skip
def test_a_follow_up_with_nothing_before_it_says_so(assistant: Assistant, message: str) -> None:
    fresh = assistant.ask(message)
    assert not fresh.items and "no earlier answer in this conversation" in fresh.text
    # After an answer, the same words follow it.
    first = assistant.ask("what should I read for feature stores?")
    followed = assistant.ask(message, session_id=first.session_id)
    assert "no earlier answer" not in followed.text


def test_a_question_of_its_own_is_answered_whatever_its_pronouns_point_at(
    assistant: Assistant,
) -> None:
    answer = assistant.ask(
        "I'm a data engineer and our ML team wants me to support them, what should I read?"
    )
    assert answer.items and "no earlier answer" not in answer.text


def test_thanks_gets_a_reply_not_a_refusal(assistant: Assistant) -> None:
    answer = assistant.ask("thank you, that is helpful")
    assert answer.intent == "smalltalk"
    assert NOT_COVERED not in answer.text


def _costs(assistant: Assistant, message: str) -> set[str]:
    return {hit.resource.cost for hit in assistant.search(message, k=10).hits}


def test_dir_free_removes_paid_and_free_time_does_not(assistant: Assistant) -> None:
    assert "paid" in _costs(assistant, "books on machine learning in production")
    assert "paid" not in _costs(assistant, "free books on machine learning in production")
    assert "paid" in _costs(assistant, "books to read in my free time about ML in production")
    assert "paid" in _costs(assistant, "books on ML in production, they don't have to be free")


def test_dir_a_negated_kind_is_left_out(assistant: Assistant) -> None:
    kinds = {h.resource.kind for h in assistant.search("tools for model deployment", k=10).hits}
    assert "tool" in kinds
    result = assistant.search("I don't want tools, something about model deployment", k=10)
    assert result.hits
    assert "tool" not in {h.resource.kind for h in result.hits}
    assert result.parsed.to_dict()["excluded_kinds"] == ["tool"]


def _topics(answer_items: list) -> set[str]:
    return {t for item in answer_items for t in item.resource.topics}


def test_dir_a_subject_ruled_out_is_left_out_and_stays_out(assistant: Assistant) -> None:
    # The catalog's deep-learning books all cover ML theory: ruled out, none is listed.
    plain = assistant.ask("what should I read about deep learning?")
    assert "ml-theory" in _topics(plain.items)
    ruled = assistant.ask("what should I read about deep learning? nothing too mathematical")
    assert ruled.items and "ml-theory" not in _topics(ruled.items)
    assert "none on ML theory" in ruled.text.split("\n", 1)[0]
    # A follow-up keeps it ruled out, as it keeps "free", and says what is missing.
    books = assistant.ask("any books?", session_id=ruled.session_id)
    assert "ml-theory" not in _topics(books.items)
    assert "no book on deep learning that leaves out ML theory" in books.text


def test_a_format_the_catalog_lacks_is_said_not_ignored(assistant: Assistant) -> None:
    # Asked for podcasts, the answer says there are none before what it has on the subject.
    answer = assistant.ask("any podcasts on MLOps?")
    assert answer.text.startswith("The catalog lists no podcasts.")
    assert answer.items and "mlops" in _topics(answer.items)
    # Ruled out, the format is nothing to apologise for.
    books = assistant.ask("no podcasts please, books on monitoring")
    assert "podcast" not in books.text.split("\n", 1)[0]
    assert {i.resource.kind for i in books.items} == {"book"}


def test_a_yes_or_no_question_about_one_resource_is_answered_first(
    assistant: Assistant,
) -> None:
    # Its constraint words are the question: the paid book is the answer, not filtered out.
    paid = assistant.ask("is Designing Data-Intensive Applications free?")
    assert [i.resource.id for i in paid.items] == ["designing-data-intensive-applications"]
    assert paid.text.startswith("No, *Designing Data-Intensive Applications* is paid.")
    tool = assistant.ask("is vLLM open source?")
    assert tool.text.startswith("Yes, *vLLM* is open source.")
    # "it" is the one resource the last answer described.
    detail = assistant.ask("tell me more about Feast")
    again = assistant.ask("is it free?", session_id=detail.session_id)
    assert [i.resource.id for i in again.items] == ["feast"]
    assert again.text.startswith("Yes, *Feast* is free.")
    # Asking for free resources like a paid one still filters: the paid one is not offered.
    similar = assistant.ask("are there free books like Designing Data-Intensive Applications?")
    assert "designing-data-intensive-applications" not in {i.resource.id for i in similar.items}
    assert all(i.resource.cost != "paid" for i in similar.items)
    assert not similar.text.startswith(("Yes", "No,"))


def test_a_definition_the_question_barely_prefers_names_the_next_entry(
    assistant: Assistant,
) -> None:
    unsure = assistant.ask("how do teams roll out a new model safely?")
    assert unsure.concepts and len(unsure.maybe) == 1
    assert "If that is not what you meant, the next closest entry is **" in unsure.text
    # After the definition and before the reading list.
    assert unsure.text.index("If that is not") < unsure.text.index("What to read next")
    clear = assistant.ask("what is a feature store and why would I need one?")
    assert not clear.maybe and "If that is not what you meant" not in clear.text


def test_a_named_concept_kept_offers_the_one_the_question_means_more(
    assistant: Assistant,
) -> None:
    # It names recommender systems and asks about one stage of them: the name is defined, and
    # the stage, which the question's meaning prefers, is offered next.
    staged = assistant.ask("how do recommendation systems pick candidates before ranking?")
    assert [c.id for c in staged.concepts] == ["recommender-system"]
    assert [c.id for c in staged.maybe] == ["candidate-generation"]
    # Asking how the named thing itself works offers nothing else.
    plain = assistant.ask("how does a feature store work?")
    assert [c.id for c in plain.concepts] == ["feature-store"] and not plain.maybe


def test_a_bare_less_keeps_the_subject_and_drops_what_it_names(assistant: Assistant) -> None:
    first = assistant.ask("what should I read about deep learning?")
    assert "ml-theory" in _topics(first.items)
    lighter = assistant.ask("something less theoretical", session_id=first.session_id)
    assert lighter.query_used["topics"] == ["deep-learning"]
    assert lighter.items and "ml-theory" not in _topics(lighter.items)


def test_a_choice_between_two_unnamed_ways_opens_with_both_definitions(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("should we process events as they arrive or in a nightly job?")
    assert [c.id for c in answer.concepts] == ["stream-processing", "batch-processing"]
    assert answer.text.startswith("**Stream processing** and **batch processing**, side by side")
    assert answer.items and answer.citations


def test_level_negation_reaches_the_ranking(assistant: Assistant) -> None:
    not_beginner = assistant.search("I'm not a beginner, what should I read on model serving?")
    assert not_beginner.parsed.level == "advanced"
    gentle = assistant.search("nothing too advanced please, something on model serving")
    assert gentle.parsed.level == "beginner"
    assert gentle.hits[0].resource.level != "advanced"


def test_corrections_are_shown_and_english_is_left_alone(assistant: Assistant) -> None:
    answer = assistant.ask("recomend somthing on modle monitoring")
    assert answer.query_used["corrections"] == {
        "recomend": "recommend",
        "somthing": "something",
        "modle": "model",
    }
    plain = assistant.ask("the difference between batch and online serving, there is a last week")
    assert "corrections" not in plain.query_used


@pytest.mark.parametrize(
    ("message", "author"),
    [("Martin Kleppmann", "Martin Kleppmann"), ("who is Chip Huyen?", "Chip Huyen"),
     ("emmanuel ameisen", "Emmanuel Ameisen")],
)  # fmt: skip
def test_a_person_is_asked_for_what_they_wrote(
    assistant: Assistant, message: str, author: str
) -> None:
    answer = assistant.ask(message)
    assert answer.intent == "recommend" and not answer.concepts
    assert answer.items and author in answer.items[0].resource.authors
    assert f"by {author}" in answer.text.splitlines()[0]


@pytest.mark.parametrize(
    ("message", "resource_id"),
    [("what is Evidently used for?", "evidently-ai"),
     ("what's Apache Airflow?", "apache-airflow"),
     # A yes/no question on it: what the catalog knows of it (its level among it) lets the
     # person judge; a list of other things that matched "beginners" or "team" does not.
     ("is Made With ML good for beginners?", "made-with-ml"),
     ("should I read Designing Data-Intensive Applications?",
      "designing-data-intensive-applications"),
     ("is Feast worth it for a small team?", "feast")],
)  # fmt: skip
def test_a_question_on_one_named_resource_describes_it(
    assistant: Assistant, message: str, resource_id: str
) -> None:
    answer = assistant.ask(message)
    resource = assistant.catalog.resources[resource_id]
    assert [i.resource.id for i in answer.items] == [resource_id]
    # A yes/no question on a catalog fact is answered first, then the card.
    judged = "beginners" in message
    verdict, card = answer.text.split("\n\n", 1) if judged else ("", answer.text)
    assert not judged or (
        verdict.startswith(("Yes, ", "Not quite: ")) and resource.title in verdict
    )
    assert card.startswith(f"**{resource.title}**")
    assert f"({resource.level} {resource.kind}" in card.split("\n", 1)[0]
    assert resource.summary.strip() in answer.text


def test_a_described_concept_is_defined_first(assistant: Assistant) -> None:
    answer = assistant.ask("what do you call it when a model is kept up to date by retraining on "
                           "fresh data every week?")  # fmt: skip
    assert [c.id for c in answer.concepts] == ["continual-learning"]
    assert answer.text.startswith("**Continual learning**")


def test_a_concept_meant_weakly_is_defined_when_what_retrieval_finds_teaches_it(
    assistant: Assistant,
) -> None:
    # Uptime targets are SLOs, which the words reach only faintly; the resources retrieval ranks
    # first for them are ones the glossary says teach SLOs.
    answer = assistant.ask("why do people say keeping a few extra nines of uptime isn't worth it?")
    assert [c.id for c in answer.concepts] == ["slo"]
    assert opens_with_definition(answer)


@pytest.mark.parametrize(
    ("framed", "concept"),
    [("can you explain how a model can be served to users in plain English?", "model-serving"),
     ("explain, like I'm five, why features must be computed the same way for training and "
      "serving", "training-serving-skew")],
)  # fmt: skip
def test_how_a_request_is_framed_does_not_change_what_it_is_about(
    assistant: Assistant, framed: str, concept: str
) -> None:
    # "Explain ... in plain English" says how to answer; its words ("explain" is a word of the
    # explainability entry) must not choose the concept.
    answer = assistant.ask(framed)
    assert [c.id for c in answer.concepts] == [concept]
    assert opens_with_definition(answer)


def test_a_choice_set_with_versus_opens_with_both_definitions(assistant: Assistant) -> None:
    answer = assistant.ask("should we score customers in a nightly job versus on each request?")
    assert [c.id for c in answer.concepts] == ["batch-inference", "online-inference"]
    # Read as a request, answered as a comparison: the answer says which it is.
    assert answer.intent == "compare" and answer.query_used["intent"] == "compare"
    assert answer.text.startswith("**Batch inference** and **online inference**, side by side")


@pytest.mark.parametrize(
    ("follow_up", "said"),
    [("how do I set one for a model?", "How to set one is what the resources below teach"),
     ("how do I measure it?", "How to measure it is what the resources below teach")],
)  # fmt: skip
def test_what_to_do_with_a_defined_concept_keeps_it_as_the_subject(
    assistant: Assistant, follow_up: str, said: str
) -> None:
    first = assistant.ask("what is an SLO?")
    answer = assistant.ask(follow_up, first.session_id)
    assert answer.intent != "out_of_scope"
    assert [c.id for c in answer.concepts] == ["slo"]
    assert said in answer.text


def test_a_verb_is_not_a_topic(assistant: Assistant) -> None:
    # "runs faster" is not about experiment runs.
    parsed, _ = assistant.understand("my batch job runs slowly, how do I speed up inference?")
    assert "experiment-tracking" not in parsed.topics


@pytest.mark.parametrize("message", ["where do I start?", "I'm new here, how should I begin?"])
def test_a_learning_path_reads_first_and_joins_last(assistant: Assistant, message: str) -> None:
    answer = assistant.ask(message)
    assert answer.intent == "learning_path"
    kinds = [i.resource.kind for i in answer.items]
    stage = [2 if k in ("community", "conference") else 1 if k in ("tool", "repo") else 0
             for k in kinds]  # fmt: skip
    assert stage == sorted(stage) and stage[0] == 0, kinds
    assert sum(1 for s in stage if s == 2) <= 1, kinds


@pytest.mark.parametrize(
    ("follow_up", "kinds", "level"),
    [("something shorter?", {"blog", "paper"}, None), ("only courses please", {"course"}, None),
     ("something easier?", None, "beginner")],
)  # fmt: skip
def test_changing_a_learning_path_keeps_it_a_path_for_the_same_person(
    assistant: Assistant, follow_up: str, kinds: set[str] | None, level: str | None
) -> None:
    first = assistant.ask("I'm a backend engineer, where do I start?")
    assert first.query_used.get("role") == "software-engineer"
    changed = assistant.ask(follow_up, session_id=first.session_id)
    # Still a path for a software engineer, changed in the respect asked; not a search on
    # "fundamentals" that forgets who asked.
    assert changed.intent == "learning_path"
    assert changed.query_used.get("role") == "software-engineer"
    assert changed.items
    if kinds:
        assert {i.resource.kind for i in changed.items} <= kinds
    if level:
        assert changed.items[0].resource.level == level
        assert [i.resource.id for i in changed.items] != [i.resource.id for i in first.items]


def test_a_kind_asked_of_a_path_is_a_constraint_and_no_unconfirmed_title_is_on_it(
    assistant: Assistant,
) -> None:
    first = assistant.ask("I'm a data analyst, where should I begin?")
    books = assistant.ask("only books please", session_id=first.session_id)
    assert books.intent == "learning_path" and len(books.items) == 5
    assert {i.resource.kind for i in books.items} == {"book"}
    # Confirmed books are plenty: an affiliate-only title starts nobody's path.
    assert all(i.resource.verified for i in books.items), [i.resource.id for i in books.items]
    # Asked for in this message, not a stored preference: no reason claims otherwise.
    assert "a format you prefer" not in books.text
    # An interview goal draws the interview books, some of which only an affiliate page names;
    # confirmed ones come first while five fit.
    path = assistant.personalizer.learning_path(
        Profile(level="beginner", goals=["interview"]), {}, 5, kinds=("book",)
    )
    catalog = assistant.catalog.resources
    assert len(path.ranked) == 5 and all(catalog[rid].kind == "book" for rid, _ in path.ranked)
    assert all(catalog[rid].verified for rid, _ in path.ranked), path.ranked


def test_a_question_opening_with_what_a_concept_is_defines_it_first(assistant: Assistant) -> None:
    # Whatever else it asks, "what is X, and ...?" wants X defined before the reading list.
    answer = assistant.ask("what is infrastructure as code and why do ML teams care?")
    assert answer.intent == "explain"
    assert answer.text.startswith("**Infrastructure as code**")


@pytest.mark.parametrize(
    "message", ["what is data mesh?", "what is infrastructure as code?", "what is AutoML?"]
)
def test_what_to_read_after_a_definition_teaches_it_or_is_on_its_topics(
    assistant: Assistant, message: str
) -> None:
    # Off the question's topics and not teaching the concept is filler that matched words
    # around it ("data" in "data mesh").
    answer = assistant.ask(message)
    assert answer.concepts and answer.items
    taught = {rid for c in answer.concepts for rid in c.resources}
    asked = set(answer.query_used.get("topics") or ())  # type: ignore[call-overload]
    off = [
        i.resource.id
        for i in answer.items
        if i.resource.id not in taught and asked and not asked & set(i.resource.topics)
    ]
    assert not off, off


def test_a_how_question_about_a_concept_defines_it(assistant: Assistant) -> None:
    # No topic word, format or name to search by; close in meaning to model compression.
    answer = assistant.ask("what can I do to make a model smaller and faster?")
    assert answer.intent == "explain"
    assert [c.id for c in answer.concepts] == ["model-compression"]
    assert answer.text.startswith("**Model compression**")


def test_a_kind_on_a_glossary_concept_answers_from_what_teaches_it(assistant: Assistant) -> None:
    # "feature engineering" is no catalog topic; the glossary says which books teach it.
    answer = assistant.ask("books that teach feature engineering")
    teaches = assistant.concepts.concepts["feature-engineering"].resources
    books = [r for r in teaches if assistant.catalog.resources[r].kind == "book"]
    assert [i.resource.id for i in answer.items][: len(books)] == books


def test_no_paper_on_a_concept_is_said_not_padded(assistant: Assistant) -> None:
    # The catalog's papers are on other subjects: none of them is an answer.
    # It says so, and names what the glossary says teaches the concept in other formats.
    answer = assistant.ask("is there a paper on model compression?")
    assert answer.items == []
    assert answer.text.startswith("The catalog has no paper on model compression."), answer.text
    teaches = set(assistant.concepts.concepts["model-compression"].resources)
    assert answer.elsewhere and {r.id for r in answer.elsewhere} <= teaches


@pytest.mark.parametrize(
    "message",
    ["papers on model monitoring", "courses on data quality", "any papers on ML technical debt?",
     "books about recommender systems"],
)  # fmt: skip
def test_an_item_of_the_kind_asked_for_is_on_the_subject_or_speaks_of_it(
    assistant: Assistant, message: str
) -> None:
    # The best paper of all may be on something else entirely ("Attention Is All You Need" for
    # monitoring): listed, even as related, only if what it says is about the subject.
    answer = assistant.ask(message)
    topics = answer.query_used["topics"]
    speaks = assistant.parser.speaks_of(topics, [])
    assert answer.items
    for item in answer.items:
        r = item.resource
        said = (r.summary, r.best_for, item.snippet)
        assert set(topics) & set(r.topics) or any(speaks(text) for text in said), r.id


@pytest.mark.parametrize(("message", "label"), [("books on MLOps", "MLOps"),
                                                  ("courses about llms", "LLMs")])  # fmt: skip
def test_a_topic_is_written_as_people_write_it(
    assistant: Assistant, message: str, label: str
) -> None:
    header = assistant.ask(message).text.split("\n", 1)[0]
    assert label in header, header


def _words_beyond_names(quote: str, names: list[str]) -> int:
    rest = re.sub(r"\]\([^)]*\)", " ", quote).lower()
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(name.lower(), " ")
    return len(re.findall(r"[a-z]{2,}", rest))


@pytest.mark.parametrize(
    "message", ["explain how random forests work", "what is the bias variance tradeoff?"]
)
def test_without_a_glossary_entry_only_passages_that_say_something_are_quoted(
    assistant: Assistant, message: str
) -> None:
    # A bare title line ("Data Science from Scratch by Joel Grus.") explains nothing.
    answer = assistant.ask(message)
    assert answer.intent == "explain" and not answer.concepts and answer.items
    names = [n for i in answer.items for n in (*i.resource.names, *i.resource.authors)]
    head = answer.text.split("\n1. ", 1)[0]
    quoted = [line[2:].rsplit(" [", 1)[0] for line in head.splitlines() if line.startswith("- ")]
    assert all(_words_beyond_names(q, names) >= 5 for q in quoted), quoted


@pytest.mark.parametrize(
    "message", ["what should I read about vector databases?", "what is a vector database?"]
)
def test_a_glossary_subject_lists_what_teaches_it_not_what_matched_its_words(
    assistant: Assistant, message: str
) -> None:
    # Retrieval matched "database" and "vector" in books on statistics and data management;
    # the glossary says which resources teach vector databases, and only those are on it.
    answer = assistant.ask(message)
    teaches = set(assistant.concepts.concepts["vector-database"].resources)
    assert answer.items, answer.text
    assert {i.resource.id for i in answer.items} <= teaches, answer.text
    assert "distributed-systems" not in (answer.query_used.get("topics") or ())  # type: ignore[operator]


def test_dir_naming_a_concept_asks_what_to_read_and_describing_it_asks_what_it_is(
    assistant: Assistant,
) -> None:
    read = assistant.ask("what should I read about vector databases?")
    assert read.intent == "recommend" and not read.text.startswith("**Vector database**")
    described = assistant.ask("how do I store embeddings to find the nearest ones fast?")
    assert described.intent == "explain"


@pytest.mark.parametrize(
    "message", ["what is a vector database?", "what is training-serving skew?", "what is RAG?"]
)
def test_scores_shown_are_shares_of_the_best(assistant: Assistant, message: str) -> None:
    # What the glossary adds is scaled like the rest, so the floor compares like with like.
    answer = assistant.ask(message)
    assert answer.items
    assert all(0.0 <= item.score <= 1.0 for item in answer.items), [
        (i.resource.id, i.score) for i in answer.items
    ]


def test_a_citation_quotes_what_its_passage_says_of_the_subject(assistant: Assistant) -> None:
    # A resource's own passage may introduce it first and speak of feature stores later: the
    # quote is the part on the subject asked about.
    answer = assistant.ask("what should I read for feature stores?")
    checked = 0
    for citation in answer.citations:
        chunk = assistant.retriever.chunks[citation.chunk_id]
        if "feature store" in chunk.body.lower():
            assert "feature store" in citation.snippet.lower(), citation
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize(
    "message",
    ["where do I start with model monitoring?", "I want to learn about experiment tracking",
     "I want to get into feature stores"],
)  # fmt: skip
def test_starting_on_a_subject_reads_first(assistant: Assistant, message: str) -> None:
    # Someone starting on a subject, like someone asking what to read, gets reading material
    # first and one tool at most to try.
    answer = assistant.ask(message)
    kinds = [i.resource.kind for i in answer.items[:5]]
    assert kinds and kinds[0] != "tool" and kinds.count("tool") <= 1, kinds


@pytest.mark.parametrize(
    "message",
    ["what should I read to understand PagedAttention?", "what is a feature store?",
     "explain the KV cache"],
)  # fmt: skip
def test_what_does_not_teach_a_defined_concept_is_listed_last_as_related(
    assistant: Assistant, message: str
) -> None:
    answer = assistant.ask(message)
    assert answer.concepts, answer.text
    teaching = {rid for c in answer.concepts for rid in c.resources}
    groups = [(i.resource.id in teaching, i.group) for i in answer.items]
    assert groups[0][0], groups  # something that teaches it comes first
    assert all((group == "Related") is (not teaches) for teaches, group in groups), groups
    assert groups == sorted(groups, key=lambda g: not g[0])


@pytest.mark.parametrize(
    ("message", "kind", "topic"),
    [("recommend a course on recommender systems", "course", "recommender-systems"),
     ("is there a book about feature stores?", "book", "feature-stores")],
)  # fmt: skip
def test_no_resource_of_the_asked_kind_says_where_the_subject_is(
    assistant: Assistant, message: str, kind: str, topic: str
) -> None:
    # The catalog has no such course (or book): a mentor says so and points to what it does
    # have on the subject, while the list itself keeps to the kind asked for.
    answer = assistant.ask(message)
    first = answer.text.split("\n", 1)[0]
    assert first.startswith(f"The catalog has no {kind} on "), first
    named = re.findall(r"\*(?:\[([^\]]+)\]\(([^)]+)\)|([^*\[]+))\* \((\w+)\)", first)
    by_title = {r.title: r for r in assistant.catalog.resources.values()}
    assert named, first
    for linked, url, plain, shown_kind in named:
        resource = by_title[linked or plain]
        assert resource.kind == shown_kind != kind and topic in resource.topics
        assert url == (resource.url or "")  # linked to its own page where it has one
    assert all(item.resource.kind == kind for item in answer.items)
    assert not any(topic in item.resource.topics for item in answer.items)


def test_a_kind_the_subject_has_is_listed_without_pointing_elsewhere(assistant: Assistant) -> None:
    answer = assistant.ask("recommend a book on distributed systems")
    assert not answer.text.startswith("The catalog has no")
    assert any("distributed-systems" in i.resource.topics for i in answer.items)


def test_dir_a_narrowing_follow_up_that_widens_keeps_the_kind_asked_before(
    assistant: Assistant,
) -> None:
    # "Books on monitoring", then "any of those free?": none is, so the answer widens to the
    # topic, still to books, as the person asked for books.
    first = assistant.ask("books on model monitoring")
    assert first.items and all(i.resource.kind == "book" for i in first.items)
    assert not any(i.resource.cost == "free" for i in first.items)
    widened = assistant.ask("any of those free?", session_id=first.session_id)
    assert widened.items, widened.text
    assert all(i.resource.kind == "book" and i.resource.cost == "free" for i in widened.items)
    assert widened.text.startswith("None of those fit; on the same topic, these books do")


@pytest.mark.parametrize(
    "message", ["I'm new to feature stores, what should I read?", "what should I read on MLOps?"]
)
def test_what_to_read_is_mostly_reading(assistant: Assistant, message: str) -> None:
    # Books, courses, papers and blogs before repositories and communities: a list that asks
    # what to read and gets one blog, a repo, a tool and two communities has not been heard.
    reading = ("book", "course", "paper", "blog", "newsletter", "platform")
    kinds = [i.resource.kind for i in assistant.ask(message).items]
    assert sum(k in reading for k in kinds) >= 3, kinds


def test_which_is_shortest_answers_from_the_recorded_lengths(assistant: Assistant) -> None:
    listed = assistant.ask("books on ML system design")
    books = [i.resource for i in listed.items if i.resource.pages]
    assert len(books) >= 2  # the catalog records page counts for several of these books
    shortest = min(books, key=lambda r: r.pages or 0)
    longest = max(books, key=lambda r: r.pages or 0)
    short = assistant.ask("which of those is the shortest?", session_id=listed.session_id)
    assert short.text.startswith(
        f"By page count, **{shortest.title}** is the shortest ({shortest.pages} pages)"
    )
    # What has no recorded length is said to have none, not ranked.
    unknown = [i.resource for i in listed.items if not i.resource.length]
    if unknown:
        assert "The catalog records no length for" in short.text
    # Other words for the same question get the same answer.
    quick = assistant.ask(
        "which of them is the fastest to get through?", session_id=listed.session_id
    )
    assert quick.text.startswith(f"By page count, **{shortest.title}** is the shortest")
    long = assistant.ask("which is longer?", session_id=listed.session_id)
    assert long.text.startswith(f"By page count, **{longest.title}** is the longest")
    # Two courses state their time, not pages: both are given, neither is ranked by pages.
    courses = assistant.ask("CS329S or Full Stack Deep Learning, which takes less time?")
    assert "By page count" not in courses.text
    for resource in courses.items[:2]:
        assert f"*{resource.resource.title}* takes {resource.resource.effort}." in courses.text


def test_how_long_is_one_resource_is_answered_first(assistant: Assistant) -> None:
    catalog = assistant.catalog.resources
    book = catalog["designing-data-intensive-applications"]
    assert book.pages
    answer = assistant.ask("how long is Designing Data-Intensive Applications?")
    assert answer.text.startswith(f"*{book.title}* has {book.pages} pages.")
    assert [i.resource.id for i in answer.items] == [book.id]
    # The detail's header names who published it and when, where the catalog records it.
    assert book.publisher and book.year
    assert f"({book.level} book, {book.publisher}, {book.year})" in answer.text
    course = catalog["stanford-cs329s"]
    timed = assistant.ask("how many weeks does CS329S take, and how long is it?")
    assert timed.text.startswith(f"*{course.title}* takes {course.effort}.")
    # Nothing recorded: said, not guessed.
    unknown = next(r for r in catalog.values() if r.kind == "course" and not r.length)
    told = assistant.ask(f"how long does {unknown.title} take?")
    assert told.text.startswith(f"The catalog records no length for *{unknown.title}*.")


def test_a_comparison_of_named_resources_holds_just_those(assistant: Assistant) -> None:
    compared = assistant.ask("compare MLflow and Weights & Biases")
    catalog = assistant.catalog.resources
    ids = [i.resource.id for i in compared.items]
    assert ids[:2] == ["mlflow", "weights-and-biases"]
    # Beside them, only alternatives of their kind and main subject (experiment trackers).
    alike = {(catalog[i].kind, catalog[i].topics[0]) for i in ("mlflow", "weights-and-biases")}
    assert all((catalog[i].kind, catalog[i].topics[0]) in alike for i in ids), ids
    # Each one compared links to its own page, as a listed one does.
    for rid in ("mlflow", "weights-and-biases"):
        assert f"**[{catalog[rid].title}]({catalog[rid].url})**" in compared.text
    # A follow-up narrows those, not what retrieval found beside them.
    narrowed = assistant.ask("which one is open source?", session_id=compared.session_id)
    assert all(i.resource.open_source for i in narrowed.items)
    assert {i.resource.id for i in narrowed.items} <= set(ids) and "vllm" not in ids


def test_what_to_read_after_a_book_leaves_it_out(assistant: Assistant) -> None:
    book = assistant.catalog.resources["designing-machine-learning-systems"]
    for message in (f"what should I read after {book.title}?",
                    f"I've finished {book.title}, what next?"):  # fmt: skip
        answer = assistant.ask(message)
        assert answer.text.startswith(f"To go on from *{book.title}*"), answer.text[:80]
        assert answer.items and book.id not in {i.resource.id for i in answer.items}


@pytest.mark.parametrize(
    ("message", "topic"),
    [("I've finished Designing Machine Learning Systems, what should I read next on monitoring?",
      "monitoring"),
     ("I already read DDIA, what's next for data engineering?", "data-engineering")],
)  # fmt: skip
def test_what_to_read_after_a_book_on_a_subject_is_on_that_subject(
    assistant: Assistant, message: str, topic: str
) -> None:
    # The subject named is what to go on with; the book read is left out, and its title's
    # words ("designing ... systems") are no subject of their own.
    answer = assistant.ask(message)
    assert answer.query_used["topics"] == [topic]
    finished = set(answer.query_used["finished"])
    assert len(answer.items) >= 3
    assert all(topic in i.resource.topics for i in answer.items), [
        (i.resource.id, i.resource.topics) for i in answer.items
    ]
    assert not finished & {i.resource.id for i in answer.items}


def test_prerequisites_are_answered_from_the_catalog(assistant: Assistant) -> None:
    catalog = assistant.catalog.resources
    needs = next(r for r in catalog.values() if r.prerequisites)
    first = catalog[needs.prerequisites[0]]
    answer = assistant.ask(f"what should I read before {needs.title}?")
    assert answer.text.startswith(f"Before *{needs.title}*, read *{first.title}*")
    assert f"Read first: *{first.title}*" in answer.text
    learn = assistant.ask(f"what should I learn before reading {needs.title}?")
    assert learn.text.startswith(f"Before *{needs.title}*, read *{first.title}*")
    free = catalog["designing-machine-learning-systems"]
    none = assistant.ask(f"what are the prerequisites for {free.title}?")
    assert none.text.startswith(f"The catalog records no prerequisites for *{free.title}*")


def test_asking_what_to_read_on_a_described_concept_defines_it_first(
    assistant: Assistant,
) -> None:
    # No catalog topic, but the words describe a glossary concept: its definition, then what
    # teaches it, rather than a list found by the words alone.
    answer = assistant.ask("what should I read to understand how to make models smaller?")
    assert answer.concepts and answer.items
    taught = set(answer.concepts[0].resources)
    assert taught & {i.resource.id for i in answer.items}


def test_a_level_asked_does_not_put_other_subjects_first(assistant: Assistant) -> None:
    # Only vLLM serves LLMs among the open-source tools, and it is not marked beginner: it
    # still comes first, and the beginner tools for serving in general follow as related.
    answer = assistant.ask("tools for serving LLMs that are open source and easy for beginners")
    groups = [i.group for i in answer.items]
    assert RELATED in groups and groups[0] != RELATED
    assert groups.index(RELATED) == sum(1 for g in groups if g != RELATED)  # related last
    first = answer.items[0].resource
    assert {"serving", "llms"} <= set(first.topics) and first.level != "beginner"
    # The header says where the asked level is, not "the first is beginner".
    places = [n for n, i in enumerate(answer.items, 1) if i.resource.level == "beginner"]
    assert places and places[0] > 1 and f"number {places[0]} is beginner" in answer.text


def test_which_covers_both_answers_from_what_the_glossary_says_teaches_them(
    assistant: Assistant,
) -> None:
    compared = assistant.ask("what's the difference between data drift and concept drift?")
    assert [c.id for c in compared.concepts] == ["data-drift", "concept-drift"]
    glossary = assistant.concepts.concepts
    teach_both = set(glossary["data-drift"].resources) & set(glossary["concept-drift"].resources)
    shown = {i.resource.id for i in compared.items}
    assert teach_both & shown  # the comparison's list holds some that teach both
    both = assistant.ask("which book covers both?", session_id=compared.session_id)
    lead = both.text.split("(the glossary says)")[0]
    assert lead.startswith("Of those,") and " both data drift and concept drift " in lead
    # Those that teach both come first, and only those are named as teaching both.
    first = [i.resource.id for i in both.items][: len(teach_both & shown)]
    assert set(first) <= teach_both
    for item in both.items:
        assert (item.resource.title in lead) is (item.resource.id in teach_both)


def test_a_yes_or_no_question_is_no_constraint_for_the_next_turn(assistant: Assistant) -> None:
    paid = assistant.ask("tell me more about Designing Data-Intensive Applications")
    asked = assistant.ask("is it free?", session_id=paid.session_id)
    assert asked.text.startswith("No,")
    # "is it free?" asked a fact; "anything similar?" is not a request for free resources.
    after = assistant.ask("anything similar?", session_id=paid.session_id)
    assert not after.query_used.get("free_only")
    assert any(i.resource.cost != "free" for i in after.items)


def test_a_comparison_with_a_users_document_in_the_results_still_answers(
    assistant: Assistant, embedder: Embedder, tmp_path: Path
) -> None:
    # A user's document has no catalog topics; found beside two named trackers, it is never
    # taken for an alternative of theirs (it once raised IndexError there).
    note = tmp_path / "tracking-notes.md"
    note.write_text(
        "# Our experiment tracking\n\nWe compared MLflow and Weights & Biases for tracking "
        "training runs, metrics and artifacts, and chose MLflow for self-hosting.\n",
        encoding="utf-8",
    )
    with_note = with_documents(assistant.settings, embedder, tmp_path / "scratch", [note])
    answer = with_note.ask("compare MLflow and Weights & Biases")
    ids = [i.resource.id for i in answer.items]
    assert ids[:2] == ["mlflow", "weights-and-biases"]
    assert all(i.resource.kind != "document" for i in answer.items[2:])


def test_a_resource_named_in_passing_carries_its_unverified_caveat(assistant: Assistant) -> None:
    # "Where the subject is instead" names resources in a sentence, not as cards: one that no
    # public record confirms says so there too.
    first = assistant.ask("what should I read for feature stores?")
    course = assistant.ask("a course on the same topic?", session_id=first.session_id)
    unverified = [r for r in course.elsewhere if not r.verified]
    assert unverified, [r.id for r in course.elsewhere]
    for resource in unverified:
        assert re.search(rf"{re.escape(resource.title)}\]?(\([^)]*\))?\* \({resource.kind}, "
                         r"unverified\)", course.text), course.text  # fmt: skip
    # Only those: the verified ones named beside them carry no such mark.
    assert course.text.count(", unverified)") == len(unverified)


def test_a_follow_up_on_a_defined_concept_keeps_it_as_the_subject(assistant: Assistant) -> None:
    # "Which tools implement it?" after a definition asks for tools for that concept, not for
    # whatever matched the word "implement".
    defined = assistant.ask("what is a feature store?")
    tools = assistant.ask("which tools implement it?", session_id=defined.session_id)
    assert tools.items and all(i.resource.kind == "tool" for i in tools.items)
    assert all("feature-stores" in i.resource.topics for i in tools.items), tools.text
    assert tools.text.startswith("The catalog has")


def test_a_kind_asked_of_a_defined_concept_with_none_says_where_it_is(
    assistant: Assistant,
) -> None:
    # Quantization is no catalog topic: what the glossary says teaches it is the subject, so
    # "any papers on it?" is not answered with papers on something else.
    concept = assistant.concepts.concepts["quantization"]
    defined = assistant.ask("what is quantization?")
    papers = assistant.ask("is there a paper on it?", session_id=defined.session_id)
    taught = set(concept.resources)
    assert not any(i.resource.kind == "paper" for i in papers.items)
    assert papers.text.startswith("The catalog has no paper on quantization."), papers.text
    assert papers.elsewhere and {r.id for r in papers.elsewhere} <= taught


def test_it_after_an_answer_about_one_resource_is_that_resource(assistant: Assistant) -> None:
    about = assistant.ask("tell me about Feast")
    start = assistant.ask("how do I get started with it?", session_id=about.session_id)
    assert [i.resource.id for i in start.items] == ["feast"]
    assert start.text.startswith("**Feast**")  # its description, not a one-card list


def test_a_yes_or_no_question_on_a_listed_one_answers_for_it(assistant: Assistant) -> None:
    listed = assistant.ask("books on ML system design")
    first = listed.items[0].resource
    asked = assistant.ask("is the first one free?", session_id=listed.session_id)
    verdict = {"free": "Yes,", "freemium": "Partly:", "paid": "No,"}[first.cost]
    assert asked.text.startswith(f"{verdict} *{first.title}*"), asked.text
    more = assistant.ask("tell me more about it", session_id=listed.session_id)
    assert [i.resource.id for i in more.items] == [first.id]


@pytest.mark.parametrize(
    ("first", "choice"),
    [("tools for experiment tracking", "which is the most beginner friendly?"),
     ("courses on MLOps", "which is best for a beginner?")],
)  # fmt: skip
def test_a_choice_among_a_list_picks_one_of_them_at_the_level_asked(
    assistant: Assistant, first: str, choice: str
) -> None:
    listed = assistant.ask(first)
    shown = {i.resource.id: i.resource for i in listed.items}
    picked = assistant.ask(choice, session_id=listed.session_id)
    assert len(picked.items) == 1 and picked.items[0].resource.id in shown
    assert picked.text.startswith("Of those, this is the one to pick")
    if any(r.level == "beginner" for r in shown.values()):
        assert picked.items[0].resource.level == "beginner"


@pytest.mark.parametrize(
    "first",
    ["how do I learn about model monitoring?", "books on MLOps", "feature store tools",
     "I have an ML system design interview in two weeks, what's the plan?"],
)  # fmt: skip
def test_which_to_start_with_is_the_way_in_among_them(assistant: Assistant, first: str) -> None:
    # Of those listed: something to learn from before something to try or join; then a list of
    # several kinds keeps its study order, and one of a single kind (ranked by relevance) starts
    # at the lowest level and the cheapest to try.
    listed = assistant.ask(first)
    start = assistant.ask("which one should I start with?", session_id=listed.session_id)
    assert start.text.startswith("Of those, start with this one")
    cost = {"free": 0, "freemium": 1, "paid": 2}
    stage = {START: 0, DEEPER: 0, HANDS_ON: 1, JOIN: 2}
    one_kind = bool(listed.query_used.get("kinds"))
    entry = [
        (stage[purpose(r)], LEVELS.index(r.level) if one_kind else 0,
         cost[r.cost] if one_kind else 0, n, r.id)
        for n, r in enumerate(i.resource for i in listed.items)
    ]  # fmt: skip
    assert [i.resource.id for i in start.items] == [min(entry)[4]]


def test_the_cheapest_of_a_list_is_a_free_one_if_any_is(assistant: Assistant) -> None:
    listed = assistant.ask("courses on MLOps")
    costs = {i.resource.id: i.resource.cost for i in listed.items}
    cheapest = assistant.ask("which one is cheapest?", session_id=listed.session_id)
    assert len(cheapest.items) == 1
    if "free" in costs.values():
        assert costs[cheapest.items[0].resource.id] == "free"


def test_a_free_header_claims_no_more_than_its_items_hold(assistant: Assistant) -> None:
    # Freemium is free to start, with paid tiers: a header over one says so.
    listed = assistant.ask("resources for interview prep")
    free = assistant.ask("which of those are free?", session_id=listed.session_id)
    header = free.text.splitlines()[0]
    costs = {i.resource.cost for i in free.items}
    assert "paid" not in costs
    assert ("free to start" in header) is ("freemium" in costs), (header, costs)


def test_no_paper_on_a_topic_lists_no_papers_on_other_subjects(assistant: Assistant) -> None:
    # No paper in the catalog is on recommender systems, and none says anything of them: the
    # answer says so and points to where the subject is, rather than listing other papers.
    # (Here every paper scores alike: the ranker has no evidence for any of them.)
    for message in ("any research papers about recommendation engines?",
                    "recommend a paper on recommender systems at YouTube"):  # fmt: skip
        answer = assistant.ask(message)
        assert not any(i.resource.kind == "paper" for i in answer.items), answer.text
        assert answer.text.startswith("The catalog has no paper on recommender systems.")
        assert answer.elsewhere
        assert all("recommender-systems" in r.topics for r in answer.elsewhere)


def test_a_glossary_subject_with_none_of_the_kind_is_named_by_its_glossary_name(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("research papers on vector databases")
    assert answer.text.startswith("The catalog has no paper on vector databases. On vector "
                                  "databases, it has "), answer.text  # fmt: skip


def test_a_kind_asked_on_a_path_is_a_constraint(assistant: Assistant) -> None:
    # "What's a good course?" with no subject is a study path, of courses.
    answer = assistant.ask("I only have weekends, what's a good course?")
    assert answer.intent == "learning_path"
    assert answer.items and {i.resource.kind for i in answer.items} == {"course"}


@pytest.mark.parametrize(
    ("message", "concept"),
    [("what's the difference between precision and recall?", "precision and recall"),
     ("is F1 a good metric for an imbalanced fraud dataset?", "precision and recall"),
     # Numeric precision is still a matter of quantization.
     ("could storing the weights at lower precision let the model fit on one GPU?",
      "quantization")],
)  # fmt: skip
def test_the_two_kinds_of_precision_are_told_apart(
    assistant: Assistant, message: str, concept: str
) -> None:
    answer = assistant.ask(message)
    assert answer.text.lower().startswith(f"**{concept}**"), answer.text[:200]


def test_instead_asks_for_others_on_the_same_subject(assistant: Assistant) -> None:
    listed = assistant.ask("resources for ML system design interviews")
    # One that is itself free to start: "instead" still asks for others.
    place, chosen = next(
        (n, i.resource) for n, i in enumerate(listed.items[:5]) if i.resource.cost != "paid"
    )
    ordinal = ("first", "second", "third", "fourth", "fifth")[place]
    assistant.ask(f"tell me more about the {ordinal} one", session_id=listed.session_id)
    other = assistant.ask("anything free instead?", session_id=listed.session_id)
    ids = [i.resource.id for i in other.items]
    assert ids and chosen.id not in ids
    assert all(i.resource.cost != "paid" for i in other.items)
    # The subject of the list is kept through the turn about one of its resources.
    assert other.query_used.get("topics") == listed.query_used.get("topics")


def test_a_comparative_after_a_comparison_picks_one_of_the_two(assistant: Assistant) -> None:
    compared = assistant.ask("compare Feast and Tecton")
    cheaper = assistant.ask("which one is cheaper?", session_id=compared.session_id)
    assert [i.resource.id for i in cheaper.items] == ["feast"]  # free against paid
    assert cheaper.text.startswith("Of those, this is the one to pick (free):")


@pytest.mark.parametrize(
    ("first", "then", "concept"),
    [("what is shadow deployment?", "how does it work?", "shadow-deployment"),
     ("what is a feature store?", "when should I use it?", "feature-store")],
)  # fmt: skip
def test_a_question_about_it_after_a_definition_stays_on_that_concept(
    assistant: Assistant, first: str, then: str, concept: str
) -> None:
    defined = assistant.ask(first)
    again = assistant.ask(then, session_id=defined.session_id)
    entry = assistant.concepts.concepts[concept]
    assert [c.id for c in again.concepts] == [concept]
    assert entry.definition.strip()[:60] in again.text


def test_why_does_it_matter_after_a_definition_gives_the_reason_first(
    assistant: Assistant,
) -> None:
    defined = assistant.ask("explain the KV cache")
    why = assistant.ask("why does it matter?", session_id=defined.session_id)
    entry = assistant.concepts.concepts["kv-cache"]
    assert why.text.startswith(f"Why **KV cache** matters: {entry.why.strip()}")


def test_the_second_one_can_be_one_named_where_the_subject_is(assistant: Assistant) -> None:
    # With no course on feature stores, the answer names what the catalog has there instead;
    # "the second one" is the second of those.
    first = assistant.ask("what should I read for feature stores?")
    course = assistant.ask("a course on the same topic?", session_id=first.session_id)
    assert not course.items and len(course.elsewhere) >= 2
    second = assistant.ask("tell me more about the second one", session_id=first.session_id)
    assert [i.resource.id for i in second.items] == [course.elsewhere[1].id]
    assert second.text.startswith(f"**{course.elsewhere[1].title}**")


@pytest.mark.parametrize(
    "follow_up",
    ["explain the first one", "what's the third one about?", "summarize the third",
     "tell me about the last"],
)  # fmt: skip
def test_one_resource_of_the_last_answer_asked_by_place_is_described(
    assistant: Assistant, follow_up: str
) -> None:
    first = assistant.ask("what should I read on experiment tracking?")
    place = {"first": 0, "third": 2, "last": len(first.items) - 1}
    wanted = first.items[next(n for word, n in place.items() if word in follow_up)].resource
    answer = assistant.ask(follow_up, session_id=first.session_id)
    assert [i.resource.id for i in answer.items] == [wanted.id]
    assert answer.text.startswith(f"**{wanted.title}**") and wanted.summary in answer.text


@pytest.mark.parametrize(
    "first", ["what should I read for feature stores?", "what is a feature store?"]
)
@pytest.mark.parametrize("follow_up", ["any open source options?", "any free options?"])
def test_options_asked_with_a_constraint_keep_the_subject(
    assistant: Assistant, first: str, follow_up: str
) -> None:
    # "Options" names no subject of its own: the constraint narrows what was being discussed.
    earlier = assistant.ask(first)
    answer = assistant.ask(follow_up, session_id=earlier.session_id)
    assert answer.query_used["follow_up"] == "narrow"
    assert answer.items
    assert all("feature-stores" in i.resource.topics for i in answer.items), answer.text


@pytest.mark.parametrize(
    ("follow_up", "quality"),
    [("which is safer?", "safer"), ("which one is more expensive to run?", "more expensive to run"),
     ("which is harder to detect?", "harder to detect")],
)  # fmt: skip
def test_which_of_two_concepts_just_compared_answers_from_their_entries(
    assistant: Assistant, follow_up: str, quality: str
) -> None:
    first = assistant.ask("what's the difference between canary and shadow deployment?")
    answer = assistant.ask(follow_up, session_id=first.session_id)
    assert [c.id for c in answer.concepts] == ["canary-deployment", "shadow-deployment"]
    assert answer.text.startswith(f"Which is {quality}, **canary deployment** or **shadow")
    # One sentence of each entry, in order, not the resources compared.
    lines = answer.text.splitlines()
    said = [line.split("**: ", 1)[1] for line in lines if line.startswith("- **")]
    assert len(said) == 2
    for concept, sentence in zip(answer.concepts, said, strict=True):
        assert sentence in f"{concept.definition.strip()} {concept.why.strip()}"


def test_which_is_free_after_two_concepts_still_asks_of_the_resources(
    assistant: Assistant,
) -> None:
    first = assistant.ask("what's the difference between canary and shadow deployment?")
    answer = assistant.ask("which is free?", session_id=first.session_id)
    assert answer.query_used["free_only"] and not answer.concepts


def test_a_kind_asked_on_a_described_concept_lists_what_teaches_it(assistant: Assistant) -> None:
    # "Version datasets" names no catalog topic and no glossary name; it describes data
    # versioning, whose one tool in the catalog is the answer (not a model server that
    # versions models).
    answer = assistant.ask("what tools do people use to version datasets?")
    teaching = set(assistant.concepts.concepts["data-versioning"].resources)
    assert answer.items and {i.resource.id for i in answer.items} <= teaching
    assert answer.text.startswith("The catalog has one tool on data versioning")


def test_what_else_is_like_it_lists_others_like_the_one_described(assistant: Assistant) -> None:
    about = assistant.ask("tell me about vLLM")
    like = assistant.ask("what else is like it?", session_id=about.session_id)
    assert like.intent == "recommend" and like.query_used.get("similar_to") == "vllm"
    assert like.items and "vllm" not in [i.resource.id for i in like.items]


@pytest.mark.parametrize(
    ("first", "then", "pair"),
    [("what is a feature store?", "how does it compare to a data warehouse?",
      ["feature-store", "data-warehouse-lake"]),
     ("what is shadow deployment?", "how is it different from a canary release?",
      ["shadow-deployment", "canary-deployment"])],
)  # fmt: skip
def test_comparing_it_after_a_definition_sets_that_concept_beside_the_new_one(
    assistant: Assistant, first: str, then: str, pair: list[str]
) -> None:
    defined = assistant.ask(first)
    compared = assistant.ask(then, session_id=defined.session_id)
    assert [c.id for c in compared.concepts] == pair
    assert "side by side" in compared.text.splitlines()[0]


def test_why_it_matters_for_something_stays_on_the_defined_concept(assistant: Assistant) -> None:
    defined = assistant.ask("explain the KV cache")
    why = assistant.ask("why does it matter for latency?", session_id=defined.session_id)
    assert [c.id for c in why.concepts] == ["kv-cache"]
    assert why.text.startswith("Why **KV cache** matters:")


def test_a_level_asked_with_none_of_the_kind_is_said_and_put_first(assistant: Assistant) -> None:
    first = assistant.ask("what should I read for feature stores?")
    assistant.ask("a course on the same topic?", session_id=first.session_id)
    easier = assistant.ask("something more beginner friendly?", session_id=first.session_id)
    assert easier.text.startswith("The catalog has no beginner course on feature stores.")
    levels = [r.level for r in easier.elsewhere]
    order = {"beginner": 0, "intermediate": 1, "advanced": 2}
    assert levels == sorted(levels, key=order.__getitem__)


def test_a_format_asked_of_one_resource_is_on_its_main_subject(assistant: Assistant) -> None:
    # No course is on feature stores: a course that shares a side topic with Feast is no answer.
    about = assistant.ask("tell me about Feast")
    course = assistant.ask("is there a course on it?", session_id=about.session_id)
    assert not course.items
    assert course.text.startswith("The catalog has no course on feature stores.")


def test_something_shorter_after_one_book_stays_on_its_subject(assistant: Assistant) -> None:
    book = assistant.catalog.resources["designing-machine-learning-systems"]
    about = assistant.ask("tell me about Designing Machine Learning Systems")
    shorter = assistant.ask("anything shorter?", session_id=about.session_id)
    assert shorter.query_used.get("similar_to") == book.id
    assert shorter.items and all(i.resource.kind in ("blog", "paper") for i in shorter.items)
    assert all(book.topics[0] in i.resource.topics for i in shorter.items)


def test_who_is_it_for_describes_the_one_resource(assistant: Assistant) -> None:
    about = assistant.ask("tell me about Designing Machine Learning Systems")
    who = assistant.ask("who is it for?", session_id=about.session_id)
    assert [i.resource.id for i in who.items] == ["designing-machine-learning-systems"]
    assert "Best for:" in who.text


@pytest.mark.parametrize(
    "message",
    ["what should I read about machine learning systems?",
     "what should I read about ML?"],
)  # fmt: skip
def test_asking_what_to_read_on_the_whole_field_gets_a_path_not_a_definition(
    assistant: Assistant, message: str
) -> None:
    # No subject within the field: where to start, foundations first, not one concept defined.
    answer = assistant.ask(message)
    assert answer.intent == "learning_path" and not answer.concepts
    assert len(answer.items) >= 3


def test_leading_a_team_with_no_subject_gets_the_managers_path(assistant: Assistant) -> None:
    # "Run" and "team" are the role, not a subject: no experiment-tracking tools for them.
    answer = assistant.ask("how do I run an ML team?")
    assert answer.intent == "learning_path"
    assert answer.query_used.get("role") == "manager"
    managers = [i for i in answer.items if "manager" in i.resource.audience]
    assert answer.items[0] in managers and len(managers) > len(answer.items) / 2
    assert not any(i.resource.kind == "tool" for i in answer.items)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("where do I start? any conferences?", "conference"),
        ("any free books?", "book"),
        ("any good newsletters?", "newsletter"),
    ],
)
def test_a_path_of_one_kind_says_how_many_it_has(
    assistant: Assistant, message: str, kind: str
) -> None:
    # A kind the catalog has few of makes a short path; the header counts it, not "a path".
    answer = assistant.ask(message)
    assert answer.intent == "learning_path" and answer.items
    assert {i.resource.kind for i in answer.items} == {kind}
    count = len(answer.items)
    words = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five"}
    assert answer.text.startswith(f"{words[count]} {kind if count == 1 else kind + 's'}")
    # A single step has no study order to speak of.
    assert ("in study order" in answer.text.split("\n", 1)[0]) is (count > 1)


def test_a_comparison_with_no_entry_for_one_side_says_so(assistant: Assistant) -> None:
    # The definition of the side the glossary has opens the answer; the other side is named as
    # missing, so a definition never passes for a comparison.
    first = assistant.ask("what is shadow deployment?")
    answer = assistant.ask(
        "how does it differ from a simple backtest?", session_id=first.session_id
    )
    assert [c.id for c in answer.concepts] == ["shadow-deployment"]
    assert answer.text.startswith("**Shadow deployment**")
    assert "no entry for \u201csimple backtest\u201d" in answer.text
    # However long, and whatever topic its other side names, "it" is still shadow deployment.
    longer = assistant.ask(
        "how is it different from testing the new model on last month's data?",
        session_id=first.session_id,
    )
    assert [c.id for c in longer.concepts] == ["shadow-deployment"]
    assert "to set beside shadow deployment" in longer.text
    same = assistant.ask(
        "what is continual learning? how does it differ from retraining every night?"
    )
    assert "the glossary counts it as part of continual learning" in same.text


@pytest.mark.parametrize(
    ("message", "resource_id", "role", "fits"),
    [("is Designing Data-Intensive Applications worth reading for ML engineers?",
      "designing-data-intensive-applications", "ml-engineer", True),
     ("is Clean Code any use for researchers?", "clean-code", "researcher", False)],
)  # fmt: skip
def test_whether_a_resource_suits_a_role_is_answered_from_its_audience(
    assistant: Assistant, message: str, resource_id: str, role: str, fits: bool
) -> None:
    resource = assistant.catalog.resources[resource_id]
    assert (role in resource.audience) is fits  # the catalog's own record decides
    answer = assistant.ask(message)
    assert [i.resource.id for i in answer.items] == [resource_id]
    opening = "Yes: " if fits else "It is not aimed at "
    assert answer.text.startswith(opening)


def test_how_to_act_on_a_defined_concept_is_answered_by_what_teaches_it(
    assistant: Assistant,
) -> None:
    # "How do I prevent it?" after a definition: not the same answer again, but the definition
    # with what teaches how, said as such.
    first = assistant.ask("what is training-serving skew?")
    how = assistant.ask("how do I prevent it?", session_id=first.session_id)
    assert [c.id for c in how.concepts] == ["training-serving-skew"]
    assert how.text != first.text
    assert how.text.startswith("**Training-serving skew**")
    assert "How to prevent it is what the resources below teach" in how.text
    assert "What teaches how to prevent it:" in how.text and how.items


def test_the_newest_first_when_asked_for_what_is_recent(assistant: Assistant) -> None:
    # Books and papers record a year: asked for the newest, they come newest first.
    answer = assistant.ask("what's the newest book on MLOps?")
    years = [i.resource.year for i in answer.items if i.resource.year]
    assert len(years) >= 3 and years == sorted(years, reverse=True)
    assert "(newest first)" in answer.text.split("\n", 1)[0]
    assert "in study order" not in answer.text.split("\n", 1)[0]
    # Among the last answer's: the most recent, with its year.
    listed = assistant.ask("books on ML system design")
    newest = max((i.resource for i in listed.items if i.resource.year), key=lambda r: r.year or 0)
    for asked in ("which is the most recent?", "what's the newest of them?"):
        pick = assistant.ask(asked, session_id=listed.session_id)
        assert pick.text.startswith(f"Of those, the most recent is from {newest.year}:")
        assert len(pick.items) == 1 and pick.items[0].resource.year == newest.year
    # A path of papers asked for as recent: its steps, as listed and as cards, newest first.
    path = assistant.ask("recent papers on ML systems")
    assert path.intent == "learning_path"
    dated_years = [i.resource.year for i in path.items if i.resource.year]
    assert len(dated_years) >= 2 and dated_years == sorted(dated_years, reverse=True)
    assert path.text.split("\n", 1)[0].endswith("newest first:")
    # Of a list of several kinds, some with no year and at another level, the newest is the
    # one with the latest year (it was a repo with none, picked by level).
    after = assistant.ask("I've read Designing Machine Learning Systems, what next?")
    mixed = assistant.ask("something more advanced?", session_id=after.session_id)
    dated = [i.resource for i in mixed.items if i.resource.year]
    assert dated and any(not i.resource.year for i in mixed.items)
    latest = assistant.ask("which is the most recent?", session_id=mixed.session_id)
    top = max(r.year or 0 for r in dated)
    assert latest.text.startswith(f"Of those, the most recent is from {top}:")


@pytest.mark.parametrize(
    "message",
    ["when was Designing Data-Intensive Applications published?",
     "is Designing Data-Intensive Applications outdated?",
     "what year did the Hidden Technical Debt paper come out?"],
)  # fmt: skip
def test_how_old_a_resource_is_answered_from_its_year(assistant: Assistant, message: str) -> None:
    answer = assistant.ask(message)
    assert len(answer.items) == 1
    resource = answer.items[0].resource
    assert resource.year
    assert answer.text.startswith(f"*{resource.title}* was published in {resource.year}.")


def test_an_ongoing_resource_has_no_year_to_give(assistant: Assistant) -> None:
    about = assistant.ask("tell me about Made With ML")
    when = assistant.ask("when was it published?", session_id=about.session_id)
    assert when.text.startswith("*Made With ML* is a course, kept up over time")


@pytest.mark.parametrize(
    ("with_time", "without"),
    [("I have an interview at a big tech company in a month",
      "I have an interview at a big tech company"),
     ("I want to learn about feature stores over the next few weekends",
      "I want to learn about feature stores")],
)  # fmt: skip
def test_inv_when_and_for_how_long_do_not_change_the_list(
    assistant: Assistant, with_time: str, without: str
) -> None:
    # "In a month" says when, not what: no Mythical Man-Month for an interview next month.
    timed = [i.resource.id for i in assistant.ask(with_time).items]
    assert timed == [i.resource.id for i in assistant.ask(without).items]
    assert "mythical-man-month" not in timed


def test_a_concepts_name_asked_alone_is_defined_but_a_bare_topic_is_listed(
    assistant: Assistant,
) -> None:
    asked = assistant.ask("KV cache?")
    assert [c.id for c in asked.concepts] == ["kv-cache"] and asked.intent == "explain"
    assert asked.text.startswith("**KV cache**")
    listed = assistant.ask("experiment tracking")
    assert not listed.concepts and listed.items
    # A follow-up that swaps the topic keeps the list it swaps in.
    books = assistant.ask("books on MLOps")
    swapped = assistant.ask("and experiment tracking?", session_id=books.session_id)
    assert not swapped.concepts


def test_what_the_person_has_read_is_left_out_for_the_rest_of_the_conversation(
    assistant: Assistant,
) -> None:
    book = "designing-machine-learning-systems"
    after = assistant.ask("I've read Designing Machine Learning Systems, what next?")
    assert after.items and book not in [i.resource.id for i in after.items]
    later = [assistant.ask("something more advanced?", session_id=after.session_id)]
    later.append(assistant.ask("any courses on system design?", session_id=after.session_id))
    for answer in later:
        assert answer.items and book not in [i.resource.id for i in answer.items]
    # Named again, it is there to talk about.
    named = assistant.ask(
        "tell me about Designing Machine Learning Systems", session_id=after.session_id
    )
    assert [i.resource.id for i in named.items] == [book]


def test_a_users_own_document_is_read_next_after_a_definition(
    assistant: Assistant, embedder: Embedder, tmp_path: Path
) -> None:
    # A question about their own system gets the glossary's definition, and their own notes
    # are among what to read next, not cut for the catalog's books.
    note = tmp_path / "skew-runbook.md"
    note.write_text(
        "# Runbook: the training-serving skew alert\n\nWhen the skew alert fires on the ranking "
        "model, compare the logged serving features with the offline feature table for the "
        "same users, check the last change to the feature pipeline code, and page the feature "
        "platform on-call if the online store lags.\n",
        encoding="utf-8",
    )
    with_note = with_documents(assistant.settings, embedder, tmp_path / "scratch", [note])
    answer = with_note.ask("our training-serving skew alert fired, what should I check?")
    assert answer.concepts and answer.concepts[0].id == "training-serving-skew"
    assert any(i.resource.kind == "document" for i in answer.items)


@pytest.mark.parametrize(
    ("message", "concept"),
    [("what is data drfit?", "data-drift"), ("what is a featur store?", "feature-store"),
     ("KV cahce?", "kv-cache")],
)  # fmt: skip
def test_a_misspelt_concept_is_defined_as_corrected(
    assistant: Assistant, message: str, concept: str
) -> None:
    # Matched by meaning, "drfit" found data versioning; the corrected words name the concept.
    answer = assistant.ask(message)
    assert answer.query_used.get("corrections")
    assert [c.id for c in answer.concepts] == [concept]


def test_two_named_resources_compared_are_compared_whatever_concept_is_named(
    assistant: Assistant,
) -> None:
    # The concept named beside them ("workflow orchestration") is no side of the comparison.
    answer = assistant.ask("workflow orchestration: Prefect vs Dagster")
    assert not answer.concepts
    assert [i.resource.id for i in answer.items[:2]] == ["prefect", "dagster"]


def test_a_comparison_with_one_named_resource_and_nothing_beside_it_describes_it(
    assistant: Assistant,
) -> None:
    # "When is Feast the right choice?" was compared with Feast's Slack community.
    answer = assistant.ask("when is Feast the right choice?")
    assert [i.resource.id for i in answer.items] == ["feast"]
    assert answer.text.startswith("**Feast**") and "Best for:" in answer.text
    # Beside other feature stores, it is still compared with them.
    others = assistant.ask("how does Feast compare to other feature stores?")
    assert len(others.items) >= 2 and others.items[0].resource.id == "feast"
