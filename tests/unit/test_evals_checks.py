"""The issue-13 answer checks in `mlsd eval`: definition first, reading first, no padding, links."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.compose import RELATED, Answer, Citation, Recommendation
from evals.checks import mentor_checks, opens_with_definition, padding, tools_on_top
from evals.suites import mentor_summary
from ingest.catalog import Catalog, load_catalog
from ingest.concepts import load_concepts

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


def _answer(catalog: Catalog, ids: list[str], text: str, **fields: object) -> Answer:
    items = [
        Recommendation(catalog.resources[i], 1.0, "why", n + 1, "passage")
        for n, i in enumerate(ids)
    ]
    citations = [Citation(n + 1, f"c{n}", "Guide", "seed", "", "passage") for n in range(len(ids))]
    return Answer(text=text, items=items, citations=citations, **fields)  # type: ignore[arg-type]


def test_an_explain_answer_must_open_with_its_definition_and_cite(catalog: Catalog) -> None:
    skew = load_concepts(CORPUS, catalog)["training-serving-skew"]
    good = _answer(
        catalog,
        ["designing-machine-learning-systems"],
        f"**Training-serving skew**: {skew.definition}\n\nWhat to read next:\n1. DMLS [1]",
        intent="explain",
        query_used={},
        concepts=[skew],
    )
    assert opens_with_definition(good)
    fragments = _answer(
        catalog,
        ["designing-machine-learning-systems"],
        "What the sources say about serving:\n- Articles like ... [1]",
        intent="explain",
        query_used={},
    )
    assert not opens_with_definition(fragments)
    uncited = _answer(
        catalog, [], f"**Training-serving skew**: {skew.definition}", intent="explain",
        query_used={}, concepts=[skew],
    )  # fmt: skip
    assert not opens_with_definition(uncited)


def test_what_is_a_named_resource_is_answered_by_describing_it(catalog: Catalog) -> None:
    feast = catalog.resources["feast"]
    text = f"**{feast.title}** (tool)\n\n{feast.summary}\n\nWhat the sources say:\n- x [1]"
    asked = {"mentioned": ["feast"]}
    good = _answer(catalog, ["feast"], text, intent="explain", query_used=asked)
    assert opens_with_definition(good)
    other = _answer(catalog, ["tecton"], text, intent="explain", query_used=asked)
    assert not opens_with_definition(other)  # describes something else than was asked
    listing = _answer(catalog, ["feast", "tecton"], f"Here are 2 tools [1] [2]\n{text}",
                      intent="explain", query_used=asked)  # fmt: skip
    assert not opens_with_definition(listing)


def test_tools_padding_and_links_are_counted(catalog: Catalog) -> None:
    answer = _answer(
        catalog,
        ["feast", "tecton", "designing-machine-learning-systems", "attention-is-all-you-need"],
        "Here are 4 resources for feature stores [1] [2] [3] [4]",
        intent="recommend",
        query_used={"topics": ["feature-stores"]},
    )
    assert tools_on_top(answer) == 2
    # DMLS and the transformer paper carry no feature-stores tag and were not named.
    assert padding(answer) == ["designing-machine-learning-systems", "attention-is-all-you-need"]
    row = {"id": "q", "got": [i.resource.id for i in answer.items]}
    row |= mentor_checks(answer, "what should I read for feature stores?")
    assert row["read_question"] and row["tools_top5"] == 2
    # Shown as if on the topic; under "Related" they would not be.
    assert row["unlabelled_padding"] == row["padding"]
    answer.items[2:] = [replace(i, group=RELATED) for i in answer.items[2:]]
    assert (
        mentor_checks(answer, "what should I read for feature stores?")["unlabelled_padding"] == []
    )
    summary = mentor_summary([row])
    assert summary["read_tool_rate"] == 0.0 and summary["read_tool_failures"] == ["q"]
    assert summary["padding_rate"] == 0.5
    linked = sum(1 for i in answer.items if i.resource.url)
    assert summary["link_coverage"] == round(linked / 4, 4)
    # Asked for by its author's name ("what did Chip Huyen write?"): not filler.
    by_author = _answer(
        catalog,
        ["feast", "designing-machine-learning-systems"],
        "Here are 2 resources [1] [2]",
        intent="recommend",
        query_used={"topics": ["feature-stores"], "authors": ["Chip Huyen"]},
    )
    assert "Chip Huyen" in catalog.resources["designing-machine-learning-systems"].authors
    assert padding(by_author) == []


def test_a_comparison_of_concepts_is_an_explain_question_one_of_resources_is_not(
    catalog: Catalog,
) -> None:
    text = "Here is how they compare [1] [2]"
    concepts = _answer(catalog, ["vllm", "bentoml"], text, intent="compare", query_used={})
    assert mentor_checks(concepts, "batch or online inference?")["defines"] is False
    among = {"restrict_to": ["vllm", "bentoml", "torchserve"]}
    last = _answer(catalog, ["vllm", "bentoml"], text, intent="compare", query_used=among)
    assert mentor_checks(last, "which one is best for LLMs?")["defines"] is None
    named = _answer(catalog, ["vllm", "bentoml"], text, intent="compare",
                    query_used={"mentioned": ["vllm", "bentoml"]})  # fmt: skip
    assert mentor_checks(named, "vLLM or BentoML?")["defines"] is None
