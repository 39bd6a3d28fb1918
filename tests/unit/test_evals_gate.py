"""The eval gate and the answer checks, on hand-made results and real answer objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.compose import Answer, Citation, Recommendation
from evals.checks import dangling_citations, forbidden_in, unknown_items
from evals.gate import THRESHOLDS, ThresholdsError, check_gate, load_thresholds
from ingest.catalog import load_catalog

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REAL_CORPUS)


def _results(split: str = "test", **summary: float) -> dict[str, object]:
    values = {"full.ndcg@10": 0.8, "full.recall@5": 0.7, "answers.false_out_of_scope_rate": 0.05}
    return {"split": split, "summary": values | summary}


THRESHOLDS_FOR_TEST = {
    "split": "test",
    "min": {"full.ndcg@10": 0.78, "full.recall@5": 0.7},
    "max": {"answers.false_out_of_scope_rate": 0.05},
}


def test_gate_passes_at_or_above_the_thresholds():
    assert check_gate(_results(), THRESHOLDS_FOR_TEST) == []


def test_gate_reports_each_missed_bound():
    failures = check_gate(
        _results(**{"full.ndcg@10": 0.7, "answers.false_out_of_scope_rate": 0.1}),
        THRESHOLDS_FOR_TEST,
    )
    assert failures == [
        "full.ndcg@10 = 0.7000, below the minimum 0.78",
        "answers.false_out_of_scope_rate = 0.1000, above the maximum 0.05",
    ]


def test_gate_fails_on_the_wrong_split_and_on_unknown_names():
    failures = check_gate(_results(split="dev"), THRESHOLDS_FOR_TEST)
    assert len(failures) == 1 and "run it with --split test" in failures[0]
    bogus = {"split": "test", "min": {"full.ndgc@10": 0.5}}
    [failure] = check_gate(_results(), bogus)
    assert failure.startswith("full.ndgc@10: no such result (known: ")


def test_committed_thresholds_load_and_cover_the_issue_bars():
    thresholds = load_thresholds(THRESHOLDS)
    assert thresholds["split"] == "dev"  # the test split is sealed: reported, never gated on
    minimums = thresholds["min"]
    for name in (
        "full.ndcg@10",
        "full.recall@5",
        "answers.citation_validity",
        "out_of_scope.accuracy",
        "personalization.constraint_adherence",
    ):
        assert 0 < minimums[name] <= 1, name
    assert minimums["answers.citation_validity"] == 1.0


def test_thresholds_on_the_sealed_test_split_are_refused(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text("split: test\nmin:\n  full.ndcg@10: 0.5\n", encoding="utf-8")
    with pytest.raises(ThresholdsError, match="runs on the dev split, not 'test'"):
        load_thresholds(path)


def test_malformed_thresholds_are_a_clear_error(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text("split: test\nmin:\n  full.ndcg@10: high\n", encoding="utf-8")
    with pytest.raises(ThresholdsError, match="'min' must map summary names to numbers"):
        load_thresholds(path)
    with pytest.raises(ThresholdsError, match="cannot read thresholds"):
        load_thresholds(tmp_path / "missing.yaml")


def _answer(catalog, text: str, citation_numbers: list[int], item_citations: list[int | None]):
    resources = list(catalog.resources.values())
    citations = [
        Citation(n, f"chunk-{n}", "Source", "seed", "", "snippet") for n in citation_numbers
    ]
    items = [
        Recommendation(resources[i], 1.0, "reason", c, "snippet")
        for i, c in enumerate(item_citations)
    ]
    return Answer(text=text, intent="recommend", items=items, citations=citations, query_used={})


def test_citation_numbers_must_point_at_existing_citations(catalog):
    sound = _answer(catalog, "1. **A** [1]\n2. **B** [2]\n\nSources:\n[1] x\n[2] y", [1, 2], [1, 2])
    assert dangling_citations(sound) == []
    broken = _answer(catalog, "1. **A** [1]\n2. **B** [3]\n\nSources:\n[1] x", [1], [1, 4])
    assert dangling_citations(broken) == [3, 4]
    # Markdown links and years in brackets with text are not citations.
    linked = _answer(catalog, "[Designing ML Systems](https://x.y) (2022 edition) [1]", [1], [1])
    assert dangling_citations(linked) == []


def test_items_must_be_catalog_resources(catalog):
    answer = _answer(catalog, "text", [], [None, None])
    assert unknown_items(answer, catalog.resources) == []
    assert unknown_items(answer, set()) == [item.resource.id for item in answer.items]


def test_forbidden_in_the_top_five(catalog):
    paid = next(r.id for r in catalog.resources.values() if r.cost == "paid")
    book = next(r.id for r in catalog.resources.values() if r.kind == "book")
    free = [r.id for r in catalog.resources.values() if r.cost == "free" and r.kind != "book"]
    assert forbidden_in([paid], catalog, paid_forbidden=True) == [f"{paid} (paid)"]
    assert forbidden_in([free[0]], catalog, must_not={free[0]}) == [f"{free[0]} (excluded)"]
    assert forbidden_in([book], catalog, must_not_kinds={"book"}) == [f"{book} (kind book)"]
    assert forbidden_in([*free[:5], paid], catalog, paid_forbidden=True) == []  # 6th: not shown
