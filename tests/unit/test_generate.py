"""The optional LLM path: citation and catalog checks, repair, fallback to the composed answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.compose import RELATED, Answer, Citation, Recommendation
from assistant.generate import (
    AnswerChecker,
    GeneratorError,
    build_prompt,
    make_generator,
    with_generator,
)
from assistant.settings import Settings
from ingest.catalog import load_catalog
from ingest.concepts import load_concepts

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings rooted in a test's temp dir, over the real corpus unless told otherwise."""
    values: dict[str, object] = {"data_dir": tmp_path / "data", "corpus_dir": REAL_CORPUS}
    return Settings(**(values | overrides))  # type: ignore[arg-type]


class QueuedGenerator:
    """A deterministic stand-in for a remote LLM (same Protocol): replies from a queue.

    Only the remote model is replaced; everything it is checked against is real.
    """

    name = "queued"

    def __init__(self, *replies: str | Exception) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def generate(self, system: str, prompt: str) -> str:
        self.prompts.append(prompt)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REAL_CORPUS)


@pytest.fixture
def composed(catalog) -> Answer:
    feast, tecton = catalog.resources["feast"], catalog.resources["tecton"]
    citations = [
        Citation(1, "source:x#1", "Guide", "000.txt", "Feature Stores", "Feast | open source"),
        Citation(2, "source:x#2", "Guide", "000.txt", "Feature Stores", "Tecton | managed"),
    ]
    items = [
        Recommendation(feast, 1.0, "Open-source tool.", 1, "Feast | open source"),
        Recommendation(tecton, 0.9, "Managed tool.", 2, "Tecton | managed"),
    ]
    return Answer("composed text [1] [2]", "recommend", items, citations, {"text": "fs"})


def run(answer: Answer, catalog, *replies: str | Exception) -> Answer:
    return with_generator(
        answer, "feature stores?", QueuedGenerator(*replies), AnswerChecker(catalog)
    )


def test_a_grounded_answer_is_shown(composed: Answer, catalog) -> None:
    reply = "Start with **Feast** [1], or **Tecton** if you want it managed [2]."
    answer = run(composed, catalog, reply)
    assert answer.text == reply and answer.generator == "queued" and answer.notes == []


def test_citation_of_evidence_never_given_is_repaired(composed: Answer, catalog) -> None:
    answer = run(composed, catalog, "Use **Feast** [1] and see also [7].")
    assert answer.generator == "queued"
    assert "[7]" not in answer.text and "[1]" in answer.text


def test_a_resource_outside_the_catalog_replaces_the_answer(composed: Answer, catalog) -> None:
    answer = run(composed, catalog, "Read **The Feature Store Bible** [1].")
    assert answer.text == composed.text and answer.generator == "composer"
    assert "The Feature Store Bible" in answer.notes[0]


def test_an_answer_citing_nothing_is_replaced(composed: Answer, catalog) -> None:
    answer = run(composed, catalog, "Feast is nice.")
    assert answer.text == composed.text and "cited no evidence" in answer.notes[0]


def test_an_unreachable_llm_falls_back_to_the_composed_answer(composed: Answer, catalog) -> None:
    answer = run(composed, catalog, GeneratorError("connection refused"))
    assert answer.text == composed.text and "LLM unavailable" in answer.notes[0]


def test_out_of_scope_answers_never_reach_the_llm(catalog) -> None:
    oos = Answer("That isn't covered here.", "out_of_scope", [], [], {"text": "pizza"})
    generator = QueuedGenerator("anything")
    assert with_generator(oos, "pizza?", generator, AnswerChecker(catalog)) is oos
    assert generator.prompts == []


def test_the_prompt_carries_numbered_evidence_and_only_catalog_titles(composed: Answer) -> None:
    prompt = build_prompt("feature stores?", composed)
    assert "[1] (Guide) Feast | open source" in prompt and "- Tecton (tool)" in prompt
    assert "related" not in prompt.split("Resources:", 1)[1]
    # What the composer listed as related reaches the LLM marked so.
    composed.items[-1] = replace(composed.items[-1], group=RELATED)
    title = composed.items[-1].resource.title
    assert f"- {title} ({composed.items[-1].resource.kind}) [related: not on the topic asked]" in (
        build_prompt("feature stores?", composed)
    )


def test_the_prompt_carries_each_resources_facts_and_formats_the_catalog_lacks(
    composed: Answer,
) -> None:
    # "Is it free?" and "any podcasts?" are answerable from the prompt alone.
    for item in composed.items:
        r = item.resource
        assert f"{r.best_for} [{r.level}, {r.cost}" in build_prompt("is it free?", composed)
    assert "lists no" not in build_prompt("feature stores?", composed)
    asked = replace(composed, query_used={**composed.query_used, "unlisted_kinds": ["podcast"]})
    assert "The catalog lists no podcasts." in build_prompt("podcasts on MLOps?", asked)


def test_the_prompt_marks_the_entry_the_question_may_mean_instead(
    composed: Answer, catalog
) -> None:
    assert "may mean this instead" not in build_prompt("what is it?", composed)
    other = load_concepts(REAL_CORPUS, catalog)["canary-deployment"]
    unsure = replace(composed, maybe=[other])
    assert f"- {other.name} [the question may mean this instead]: " in build_prompt(
        "what is it?", unsure
    )


def test_the_prompt_says_where_the_subject_is_when_the_kind_asked_has_none(
    composed: Answer,
) -> None:
    assert "formats not asked for" not in build_prompt("feature stores?", composed)
    pointed = replace(composed, elsewhere=[composed.items[0].resource])
    tail = build_prompt("a course on feature stores?", pointed).split("formats not asked for", 1)
    assert len(tail) == 2 and "- Feast (tool)" in tail[1]


def test_the_prompt_names_what_follows_a_single_pick(composed: Answer) -> None:
    assert "also worth a look" not in build_prompt("the best feature store?", composed)
    runners = [i.resource for i in composed.items[1:3]]
    one = replace(composed, items=composed.items[:1], also=runners)
    tail = build_prompt("the single best feature store?", one).split("also worth a look", 1)
    assert len(tail) == 2
    assert all(f"- {i.resource.title} ({i.resource.kind})" in tail[1] for i in composed.items[1:3])


def test_no_generator_unless_configured(tmp_path: Path) -> None:
    assert make_generator(make_settings(tmp_path)) is None
    configured = make_settings(
        tmp_path, llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="m"
    )
    generator = make_generator(configured)
    assert generator is not None and generator.name == "openai:m"
    with pytest.raises(GeneratorError, match="failed"):
        generator.generate("system", "hello")  # nothing listens on port 9


def test_llm_settings_without_url_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MLSD_LLM_BASE_URL"):
        make_settings(tmp_path, llm_provider="openai")


# -- real streaming (issue 13) -------------------------------------------------------------------


class StreamingGenerator(QueuedGenerator):
    """A stand-in that streams its reply token by token and records how far it got."""

    def __init__(self, *tokens: str | Exception) -> None:
        super().__init__()
        self.tokens = list(tokens)
        self.sent = 0

    def stream(self, system: str, prompt: str):
        self.prompts.append(prompt)
        for token in self.tokens:
            if isinstance(token, Exception):
                raise token
            self.sent += 1
            yield token


@pytest.fixture(scope="module")
def small_assistant(tmp_path_factory: pytest.TempPathFactory, embedder):
    from assistant.service import build_assistant
    from ingest.pipeline import run_ingest

    corpus = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
    settings = make_settings(tmp_path_factory.mktemp("stream"), corpus_dir=corpus)
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


def test_tokens_arrive_while_the_llm_is_still_writing(small_assistant) -> None:
    small_assistant.generator = StreamingGenerator("Start with ", "**Feast** [1]", ", it is open.")
    events = small_assistant.ask_stream("what should I read for feature stores?")
    first = next(events)
    assert first == "Start with " and small_assistant.generator.sent == 1  # not buffered
    rest = list(events)
    final = rest[-1]
    assert rest[:-1] == ["**Feast** [1]", ", it is open."]
    assert isinstance(final, Answer) and final.generator == "queued"
    assert final.text == "Start with **Feast** [1], it is open."
    assert final.session_id and "Evidence:" in small_assistant.generator.prompts[0]


def test_a_streamed_answer_that_fails_the_checks_is_replaced(small_assistant) -> None:
    small_assistant.generator = StreamingGenerator("Read **The Invented Book** [1].")
    *tokens, final = small_assistant.ask_stream("what should I read for feature stores?")
    assert tokens == ["Read **The Invented Book** [1]."]
    assert final.generator == "composer" and "The Invented Book" not in final.text
    assert any("not in the catalog" in note for note in final.notes)


def test_a_stream_that_breaks_falls_back_to_the_composed_answer(small_assistant) -> None:
    small_assistant.generator = StreamingGenerator("Start", GeneratorError("connection reset"))
    *_, final = small_assistant.ask_stream("what should I read for feature stores?")
    assert final.generator == "composer" and "connection reset" in final.notes[0]


def test_without_an_llm_nothing_is_replayed(small_assistant) -> None:
    small_assistant.generator = None
    events = list(small_assistant.ask_stream("what should I read for feature stores?"))
    assert len(events) == 1 and isinstance(events[0], Answer)  # the answer, once, no fake tokens
