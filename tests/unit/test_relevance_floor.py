"""The composer's relevance floor: what is off the question's subject needs a higher score to be
shown than what is on it, and a question about a glossary concept is answered from what teaches
it. Real catalog and glossary; hits are built by hand so the scores are known."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.compose import (
    OFF_TOPIC_FLOOR,
    RELATED,
    RELEVANCE_FLOOR,
    Composer,
    says_something,
    subject_concepts,
)
from assistant.concepts import ConceptIndex
from assistant.hybrid import Hit
from assistant.profiles import Profile
from assistant.query import ParsedQuery
from ingest.catalog import Catalog, Resource, load_catalog
from ingest.concepts import load_concepts

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
# Between the two floors: kept when on the subject, dropped when not.
BETWEEN = (RELEVANCE_FLOOR + OFF_TOPIC_FLOOR) / 2


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


@pytest.fixture(scope="module")
def composer(catalog: Catalog) -> Composer:
    return Composer(concepts=ConceptIndex(load_concepts(CORPUS, catalog)))


def _blogs(catalog: Catalog, topic: str, on: bool) -> list[Resource]:
    return sorted(
        (r for r in catalog.resources.values() if r.kind == "blog" and (topic in r.topics) == on),
        key=lambda r: r.id,
    )


def _hits(*scored: tuple[Resource, float]) -> list[Hit]:
    return [Hit(resource, score, None, "") for resource, score in scored]


def _ids(composer: Composer, parsed: ParsedQuery, hits: list[Hit]) -> set[str]:
    return {item.resource.id for item in composer.compose(parsed, hits, "", limit=5).items}


def test_off_topic_needs_a_higher_score_than_on_topic(catalog: Catalog, composer: Composer) -> None:
    best, on = _blogs(catalog, "feature-stores", on=True)[:2]
    off = _blogs(catalog, "feature-stores", on=False)[0]
    parsed = ParsedQuery("good blogs on feature stores", "good blogs on feature stores",
                         kinds=("blog",), topics=("feature-stores",))  # fmt: skip
    hits = _hits((best, 1.0), (on, BETWEEN), (off, BETWEEN))
    assert _ids(composer, parsed, hits) == {best.id, on.id}
    # Well above the higher floor, an off-topic resource is still an answer.
    assert off.id in _ids(composer, parsed, _hits((best, 1.0), (off, OFF_TOPIC_FLOOR + 0.05)))


def test_of_a_kind_asked_for_what_says_nothing_of_the_subject_is_not_even_related(
    catalog: Catalog, composer: Composer
) -> None:
    best_on = _blogs(catalog, "feature-stores", on=True)[0]
    off = _blogs(catalog, "feature-stores", on=False)[0]
    asked = ParsedQuery("good blogs on feature stores", "good blogs on feature stores",
                        kinds=("blog",), topics=("feature-stores",))  # fmt: skip
    silent = [Hit(off, 1.0, None, "", speaks=False), Hit(best_on, 0.3, None, "")]
    assert _ids(composer, asked, silent) == {best_on.id}
    speaking = [Hit(off, 1.0, None, ""), Hit(best_on, 0.3, None, "")]
    assert _ids(composer, asked, speaking) == {best_on.id, off.id}
    # With no kind asked for, the top of the whole catalog sets the bar, as before.
    any_kind = ParsedQuery("feature stores", "feature stores", topics=("feature-stores",))
    assert _ids(composer, any_kind, silent) == {best_on.id, off.id}


def test_with_no_evidence_for_any_what_says_nothing_of_the_subject_is_still_dropped(
    catalog: Catalog, composer: Composer
) -> None:
    # Every blog scored alike (the ranker saw no evidence for any): "good blogs on feature
    # stores" is not answered with the ones that say nothing of feature stores.
    off = _blogs(catalog, "feature-stores", on=False)[:3]
    asked = ParsedQuery("good blogs on feature stores", "good blogs on feature stores",
                        kinds=("blog",), topics=("feature-stores",))  # fmt: skip
    assert _ids(composer, asked, [Hit(r, 0.0, None, "", speaks=False) for r in off]) == set()
    # One that speaks of the subject stays, as a related one.
    speaking = [Hit(off[0], 0.0, None, "")] + [Hit(r, 0.0, None, "", speaks=False) for r in off[1:]]
    assert _ids(composer, asked, speaking) == {off[0].id}


def test_an_off_topic_best_sets_no_bar_for_what_is_on_the_subject(
    catalog: Catalog, composer: Composer
) -> None:
    best_on, on = _blogs(catalog, "feature-stores", on=True)[:2]
    off = _blogs(catalog, "feature-stores", on=False)[0]
    parsed = ParsedQuery("good blogs on feature stores", "good blogs on feature stores",
                         kinds=("blog",), topics=("feature-stores",))  # fmt: skip
    # The best on the subject is scored far below something off it: still the answer, first.
    answer = composer.compose(parsed, _hits((off, 1.0), (best_on, 0.3), (on, 0.3 * BETWEEN)), "",
                              limit=5)  # fmt: skip
    assert [i.resource.id for i in answer.items][2:] == [off.id]
    assert {i.resource.id for i in answer.items[:2]} == {best_on.id, on.id}
    assert answer.items[2].group == RELATED


def test_without_a_topic_every_resource_has_the_same_floor(
    catalog: Catalog, composer: Composer
) -> None:
    best, off = _blogs(catalog, "data-engineering", on=False)[:2]
    parsed = ParsedQuery("some good blogs", "some good blogs", kinds=("blog",))
    assert _ids(composer, parsed, _hits((best, 1.0), (off, BETWEEN))) == {best.id, off.id}


def test_what_fits_the_learners_role_is_not_off_topic(catalog: Catalog) -> None:
    profile = Profile(role="sre")
    fits = [r for r in catalog.resources.values() if profile.fits(r)]
    assert fits and not all(profile.fits(r) for r in catalog.resources.values())
    assert not Profile().fits(fits[0])


def test_a_glossary_concept_is_the_subject_of_a_topicless_request(
    catalog: Catalog, composer: Composer
) -> None:
    concept = composer.concepts.concepts["feature-engineering"]
    teaches = [catalog.resources[r] for r in concept.resources]
    books = [r for r in teaches if r.kind == "book"]
    other = next(r for r in catalog.resources.values() if r.kind == "book" and r not in teaches)
    parsed = ParsedQuery("books about feature engineering", "books about feature engineering",
                         kinds=("book",))  # fmt: skip
    assert [c.id for c in subject_concepts(composer.concepts, parsed)] == ["feature-engineering"]
    # The filler scored best on the word "books"; what teaches the concept leads the answer.
    answer = composer.compose(parsed, _hits((other, 1.0), *((b, 0.5) for b in books)), "", limit=5)
    assert [i.resource.id for i in answer.items][: len(books)] == [b.id for b in books]
    assert "books on feature engineering:" in answer.text.splitlines()[0]


def test_a_countable_concept_is_named_in_the_plural_as_a_subject(
    catalog: Catalog, composer: Composer
) -> None:
    concept = composer.concepts.concepts["vector-database"]
    teaches = [catalog.resources[r] for r in concept.resources]
    parsed = ParsedQuery("resources on vector databases", "resources on vector databases")
    answer = composer.compose(parsed, _hits(*((r, 1.0) for r in teaches)), "", limit=5)
    assert answer.text.splitlines()[0].endswith("on vector databases:")


def test_a_concept_with_nothing_of_the_asked_kind_says_so(
    catalog: Catalog, composer: Composer
) -> None:
    concept = composer.concepts.concepts["model-compression"]
    papers = [r for r in catalog.resources.values() if r.kind == "paper"]
    assert not {r.id for r in papers} & set(concept.resources)
    parsed = ParsedQuery("papers about model compression", "papers about model compression",
                         kinds=("paper",))  # fmt: skip
    answer = composer.compose(parsed, _hits(*((p, 1.0 - n / 10) for n, p in enumerate(papers))),
                              "model compression", limit=5)  # fmt: skip
    assert answer.items == []
    assert answer.text.startswith("Nothing in the catalog on model compression")


def test_follow_ups_and_named_resources_keep_their_own_subject(composer: Composer) -> None:
    text = "papers about model compression"
    follow = ParsedQuery(text, text, kinds=("paper",), follow_up="same-topic")
    named = ParsedQuery(text, text, kinds=("paper",), mentioned=("attention-is-all-you-need",))
    assert subject_concepts(composer.concepts, follow) == []
    assert subject_concepts(composer.concepts, named) == []
    # A follow-up on the concept the last answer defined ("any papers on it?") keeps it; one
    # that narrows the last list keeps that list instead.
    concept = composer.concepts.concepts["model-compression"]
    carried = replace(follow, about=(concept.id,))
    assert subject_concepts(composer.concepts, carried) == [concept]
    narrowed = replace(carried, follow_up="narrow", restrict_to=("attention-is-all-you-need",))
    assert subject_concepts(composer.concepts, narrowed) == []


def test_the_floor_sweep_trades_relevant_items_for_filler() -> None:
    from evals.relevance_floor import FLOORS, sweep

    rows = [sweep()["floors"][str(floor)] for floor in FLOORS]
    kept = [r["relevant_kept"] for r in rows]
    dropped = [r["unlabelled_dropped"] for r in rows]
    assert kept == sorted(kept, reverse=True) and dropped == sorted(dropped)
    assert dropped[-1] > dropped[0]  # a higher floor on off-topic items drops more filler


def test_a_topic_request_naming_a_concept_is_answered_by_what_teaches_it_first(
    catalog: Catalog, composer: Composer
) -> None:
    teaches = set(composer.concepts.concepts["feature-store"].resources)
    blogs = [r for r in _blogs(catalog, "feature-stores", on=True)]
    teacher = next(r for r in blogs if r.id in teaches)
    other = next(r for r in blogs if r.id not in teaches)
    text = "which blogs explain feature stores well?"
    parsed = ParsedQuery(text, text, kinds=("blog",), topics=("feature-stores",))
    hits = _hits((other, 1.0), (teacher, 0.6))
    assert [i.resource.id for i in composer.compose(parsed, hits, "", limit=1).items] == [
        teacher.id
    ]


def test_the_users_own_document_leads_an_answer_about_a_concept(
    catalog: Catalog, composer: Composer
) -> None:
    from assistant.hybrid import document_resource
    from ingest.chunking import Chunk

    concept = composer.concepts.concepts["data-validation"]
    teaches = [catalog.resources[r] for r in concept.resources]
    chunk = Chunk(id="c1", doc_id="user:checks-1", text="Our checks.", heading="", position=0,
                  kind="passage", source_title="Snapshot checks", origin="checks.md",
                  trust="user")  # fmt: skip
    mine = document_resource(chunk)
    text = "what is data validation and what do we check before training?"
    parsed = ParsedQuery(text, text, intent="explain")
    hits = _hits(*((r, 1.0) for r in teaches), (mine, 0.6))
    answer = composer.compose(parsed, hits, "", limit=len(teaches))
    assert answer.items[0].resource.id == "user:checks-1"


def test_purpose_headers_only_when_the_list_is_in_study_order(
    catalog: Catalog, composer: Composer
) -> None:
    blogs = sorted(_blogs(catalog, "feature-stores", on=True), key=lambda r: r.level != "advanced")
    advanced, other = blogs[0], blogs[-1]
    assert advanced.level == "advanced" and other.level != "advanced"
    text = "blogs about feature stores and data engineering"
    parsed = ParsedQuery(text, text, kinds=("blog",), topics=("feature-stores", "data-engineering"))
    # One kind asked for: relevance order, the advanced post first, so no "Go deeper" header
    # above "Start here".
    answer = composer.compose(parsed, _hits((advanced, 1.0), (other, 0.9)), "", limit=5)
    assert [i.resource.id for i in answer.items] == [advanced.id, other.id]
    assert "**Go deeper**" not in answer.text and "**Start here**" not in answer.text
    assert "on feature stores and data engineering" in answer.text.splitlines()[0]
    # Any kind: study order, under headers.
    mixed = ParsedQuery(text, text, topics=("feature-stores",))
    answer = composer.compose(mixed, _hits((advanced, 1.0), (other, 0.9)), "", limit=5)
    assert answer.text.index("**Start here**") < answer.text.index("**Go deeper**")


@pytest.mark.parametrize(
    ("snippet", "names", "says"),
    [
        ("Data Science from Scratch by Joel Grus.", ["Data Science from Scratch", "Joel Grus"],
         False),
        ("[CS329S](https://stanford-cs329s.github.io/) from Stanford", ["CS329S"], False),
        ("WhyLabs | Data and model monitoring with drift detection | Teams focused on quality",
         ["WhyLabs"], False),
        ("The foundational paper on ML system complexity.", [], True),
        ("Articles like \"Distributed Time Travel for Feature Generation\" are essential reading "
         "for anyone designing feature stores.", ["Distributed Time Travel for Feature "
                                                  "Generation"], True),
    ],
)  # fmt: skip
def test_a_quoted_passage_must_say_something(snippet: str, names: list[str], says: bool) -> None:
    assert says_something(snippet, names) is says


@pytest.mark.parametrize(
    ("snippet", "says"),
    [("The Gradient bridges the gap between academic ML research and industry practice.", False),
     ("Gradient descent takes small steps against the gradient of the loss function.", True),
     ("Optimizers follow the gradients of the loss one mini-batch at a time.", True)],
)  # fmt: skip
def test_a_quoted_passage_must_be_about_the_question_beyond_the_names_it_cites(
    snippet: str, says: bool
) -> None:
    # "what is gradient descent?": sharing the word only through a magazine's name is not it.
    assert says_something(snippet, ["The Gradient"], ("gradient", "descent")) is says


def test_a_comparison_naming_nothing_is_not_set_side_by_side(
    catalog: Catalog, composer: Composer
) -> None:
    # "precompute nightly versus per request": no concept named on both sides and no resource
    # named, so unrelated resources must not be presented as the two sides being compared.
    blogs = _blogs(catalog, "serving", on=True)[:2]
    parsed = ParsedQuery("nightly jobs versus per request?", "nightly jobs versus per request?",
                         intent="compare")  # fmt: skip
    text = composer.compose(parsed, _hits((blogs[0], 1.0), (blogs[1], 0.9)), "", limit=5).text
    assert not text.startswith("Here is how they compare")
    assert text.startswith("No glossary entry fits that closely enough to define it.")
    named = ParsedQuery("a vs b", "a vs b", intent="compare",
                        mentioned=(blogs[0].id, blogs[1].id))  # fmt: skip
    hits = _hits((blogs[0], 1.0), (blogs[1], 0.9))
    assert composer.compose(named, hits, "", limit=5).text.startswith("Here is how they compare")


def test_a_comparison_of_named_resources_puts_them_first_and_filler_must_clear_the_floor(
    catalog: Catalog, composer: Composer
) -> None:
    airflow, dagster = catalog.resources["apache-airflow"], catalog.resources["dagster"]
    prefect = catalog.resources["prefect"]
    book = catalog.resources["fundamentals-of-data-engineering"]  # reading: leads study order
    text = "airflow vs dagster"
    parsed = ParsedQuery(text, text, intent="compare", mentioned=("apache-airflow", "dagster"),
                         topics=("orchestration",))  # fmt: skip
    hits = _hits((dagster, 1.0), (airflow, 0.3), (prefect, 0.9), (book, 0.3))
    items = [i.resource.id for i in composer.compose(parsed, hits, "", limit=5).items]
    # In the order named, Airflow kept however it scored; the book, off the topic and far
    # below, is not.
    assert items[:2] == ["apache-airflow", "dagster"]
    assert "prefect" in items and book.id not in items


def test_asking_what_an_author_wrote_lists_their_works(
    catalog: Catalog, composer: Composer
) -> None:
    by_author: dict[str, list[Resource]] = {}
    for resource in catalog.resources.values():
        for author in resource.authors:
            by_author.setdefault(author, []).append(resource)
    author, works = max(by_author.items(), key=lambda kv: (len(kv[1]), kv[0]))
    assert len(works) >= 2
    others = [r for r in catalog.resources.values() if author not in r.authors][:3]
    text = f"what did {author} write?"
    parsed = ParsedQuery(text, text, authors=(author,), topics=("deployment",))
    hits = _hits(*((r, 1.0) for r in others), *((r, 0.6) for r in works))
    answer = composer.compose(parsed, hits, "", limit=5)
    assert {i.resource.id for i in answer.items} == {r.id for r in works}
    assert f"by {author}" in answer.text.split("\n", 1)[0]


def test_an_explain_answers_reading_is_what_teaches_the_concept(
    catalog: Catalog, composer: Composer
) -> None:
    concept = composer.concepts.concepts["distributed-training"]
    teaches = [catalog.resources[r] for r in concept.resources]
    filler = next(r for r in catalog.resources.values()
                  if r.id not in concept.resources and r.kind == "book")  # fmt: skip
    text = "what is model parallelism?"
    parsed = ParsedQuery(text, text, intent="explain")
    hits = _hits((teaches[0], 1.0), (filler, BETWEEN), *((r, 0.3) for r in teaches[1:]))
    answer = composer.compose(parsed, hits, "", limit=5)
    assert answer.concepts and answer.concepts[0].id == "distributed-training"
    ids = [i.resource.id for i in answer.items]
    assert set(ids) == set(concept.resources)  # the book in between is not what to read next


def test_what_is_off_the_topic_is_listed_as_related_and_not_counted_as_on_it(
    catalog: Catalog, composer: Composer
) -> None:
    on = _blogs(catalog, "feature-stores", on=True)[0]
    off = _blogs(catalog, "feature-stores", on=False)[:2]
    text = "blogs on feature stores"
    parsed = ParsedQuery(text, text, topics=("feature-stores",))
    # The off-topic ones score above the stricter floor, and one above the on-topic blog.
    hits = _hits((off[0], 1.0), (on, 0.95), (off[1], 0.9))
    answer = composer.compose(parsed, hits, "", limit=5)
    assert [i.resource.id for i in answer.items] == [on.id, off[0].id, off[1].id]
    assert [i.group for i in answer.items][1:] == [RELATED, RELATED]
    lead = answer.text.split("\n", 1)[0]
    assert lead == "The catalog has one resource on feature stores, and two related:"
    assert "**Related**" in answer.text
    # Nothing on the topic at all: said so, not counted.
    alone = composer.compose(parsed, _hits((off[0], 1.0), (off[1], 0.9)), "", limit=5)
    assert alone.text.startswith("Nothing in the catalog is on feature stores itself")


def test_for_a_subject_named_as_one_what_covers_half_of_it_is_related(
    catalog: Catalog, composer: Composer
) -> None:
    both = [r for r in catalog.resources.values() if {"llms", "serving"} <= set(r.topics)]
    half = [r for r in catalog.resources.values()
            if "serving" in r.topics and "llms" not in r.topics]  # fmt: skip
    text = "resources on LLM serving"
    parsed = ParsedQuery(text, text, topics=("serving", "llms"),
                         compound_topics=(("serving", "llms"),))  # fmt: skip
    answer = composer.compose(parsed, _hits((half[0], 1.0), (both[0], 0.9)), "", limit=5)
    groups = {i.resource.id: i.group for i in answer.items}
    assert groups[half[0].id] == RELATED and groups[both[0].id] != RELATED
    # The same topics asked separately ("LLMs and serving"): either one is on the subject.
    apart = ParsedQuery(text, text, topics=("serving", "llms"))
    answer = composer.compose(apart, _hits((half[0], 1.0), (both[0], 0.9)), "", limit=5)
    assert RELATED not in {i.group for i in answer.items}


def test_one_on_topic_item_among_related_reads_as_one(catalog: Catalog, composer: Composer) -> None:
    books = sorted((r for r in catalog.resources.values() if r.kind == "book"), key=lambda r: r.id)
    on = next(r for r in books if "monitoring" in r.topics)
    off = [r for r in books if not {"monitoring", "reliability", "mlops"} & set(r.topics)][:4]
    parsed = ParsedQuery("books on monitoring", "books on monitoring", kinds=("book",),
                         topics=("monitoring",))  # fmt: skip
    answer = composer.compose(parsed, _hits((on, 1.0), *((r, 0.95) for r in off)), "", limit=5)
    assert [i.group == RELATED for i in answer.items] == [False, True, True, True, True]
    assert answer.text.startswith("Here is 1 book for monitoring"), answer.text[:80]


def test_a_short_list_of_two_kinds_names_both(catalog: Catalog, composer: Composer) -> None:
    blog = _blogs(catalog, "feature-stores", on=True)[0]
    parsed = ParsedQuery("blogs or papers on feature stores", "blogs or papers on feature stores",
                         kinds=("blog", "paper"), topics=("feature-stores",))  # fmt: skip
    answer = composer.compose(parsed, _hits((blog, 1.0)), "", limit=5)
    assert answer.text.startswith("The catalog has one blog or paper on feature stores")


def test_a_learning_path_takes_its_strongest_steps_in_study_order(
    catalog: Catalog, composer: Composer
) -> None:
    # Candidates arrive in study order (level first); the weakest are the easy ones here. The
    # path is the strongest few, still in study order, not the first few.
    by_level = sorted(
        (r for r in catalog.resources.values() if r.kind == "book" and not r.prerequisites),
        key=lambda r: ("beginner", "intermediate", "advanced").index(r.level),
    )[:6]
    hits = _hits(*((r, 0.1 + n / 10) for n, r in enumerate(by_level)))  # stronger as it goes
    parsed = ParsedQuery("where do I start?", "where do I start?", intent="learning_path")
    shown = [i.resource.id for i in composer.compose(parsed, hits, "", limit=3).items]
    assert shown == [r.id for r in by_level[3:]]


def test_an_unverified_resource_is_marked_in_the_chat_bubbles_list(
    catalog: Catalog, composer: Composer
) -> None:
    # The bubble drops each item's reason (the card carries it), so the list line itself says
    # what the card's caveat says; a verified one has no mark.
    from ui.render import chat_text

    unverified = catalog.resources["feature-store-for-machine-learning-paper"]
    verified = catalog.resources["feast"]
    parsed = ParsedQuery("feature stores", "feature stores", topics=("feature-stores",))
    answer = composer.compose(parsed, _hits((verified, 1.0), (unverified, 0.9)), "", limit=5)
    bubble = chat_text(answer.text)
    assert f"**{unverified.title}** (paper, unverified)" in bubble
    assert "(tool, unverified)" not in bubble
