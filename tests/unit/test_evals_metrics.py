"""The eval metrics (ranx) on tiny hand-made rankings, against textbook values."""

from __future__ import annotations

import math

import pytest

from evals.metrics import METRICS, compare_rankings, evaluate_rankings, ideal_rankings, percentile


def test_perfect_ranking_scores_one():
    qrels = {"q1": {"a": 2, "b": 1}}
    result = evaluate_rankings(qrels, {"q1": ["a", "b", "x", "y", "z"]})
    assert result.mean["ndcg@10"] == pytest.approx(1.0)
    assert result.mean["recall@5"] == pytest.approx(1.0)
    assert result.mean["recall@10"] == pytest.approx(1.0)
    assert result.mean["mrr@10"] == pytest.approx(1.0)
    assert result.mean["precision@5"] == pytest.approx(2 / 5)  # two relevant in five slots


def test_graded_ndcg_uses_linear_gains():
    # trec_eval's (Jarvelin and Kekalainen's) nDCG, ranx's "ndcg": gain = grade.
    # Swapped order: DCG = 1/log2(2) + 2/log2(3); ideal DCG = 2/log2(2) + 1/log2(3).
    qrels = {"q1": {"a": 2, "b": 1}}
    result = evaluate_rankings(qrels, {"q1": ["b", "a"]})
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert result.mean["ndcg@10"] == pytest.approx(expected)
    assert result.mean["mrr@10"] == pytest.approx(1.0)  # any grade >= 1 counts as relevant


def test_first_relevant_at_rank_three():
    qrels = {"q1": {"a": 1, "b": 1, "c": 1, "d": 1}}
    result = evaluate_rankings(qrels, {"q1": ["x", "y", "a", "z", "b", "c", "w", "v", "u", "d"]})
    assert result.mean["mrr@10"] == pytest.approx(1 / 3)
    assert result.mean["recall@5"] == pytest.approx(2 / 4)
    assert result.mean["recall@10"] == pytest.approx(1.0)
    assert result.mean["precision@5"] == pytest.approx(2 / 5)


def test_grade_two_recall_counts_only_right_answers():
    # Six relevant, one of them the right answer: Recall@5 cannot pass 5/6, grade-2 recall can.
    qrels = {"q1": {"a": 2, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1}}
    found = evaluate_rankings(qrels, {"q1": ["a", "b", "c", "d", "x"]})
    assert found.mean["recall@5"] == pytest.approx(4 / 6)
    assert found.mean["recall@5-l2"] == pytest.approx(1.0)
    missed = evaluate_rankings(qrels, {"q1": ["b", "c", "d", "e", "f", "a"]})
    assert missed.mean["recall@5"] == pytest.approx(5 / 6)
    assert missed.mean["recall@5-l2"] == 0.0  # the right answer is sixth
    two = evaluate_rankings({"q1": {"a": 2, "b": 2, "c": 1}}, {"q1": ["c", "a", "x"]})
    assert two.mean["recall@5-l2"] == pytest.approx(1 / 2)


def test_relevant_beyond_the_cutoff_does_not_count():
    qrels = {"q1": {"a": 2}}
    ranking = [f"x{i}" for i in range(10)] + ["a"]
    result = evaluate_rankings(qrels, {"q1": ranking})
    assert all(result.mean[m] == 0.0 for m in METRICS)


def test_a_missing_or_empty_query_counts_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}}
    result = evaluate_rankings(qrels, {"q1": ["a"], "q3": []})  # q2 missing, q3 empty
    assert result.per_query["q1"]["ndcg@10"] == pytest.approx(1.0)
    assert result.per_query["q2"] == {m: 0.0 for m in METRICS}
    assert result.per_query["q3"] == {m: 0.0 for m in METRICS}
    assert result.mean["ndcg@10"] == pytest.approx(1 / 3)
    assert result.mean["recall@5"] == pytest.approx(1 / 3)


def test_when_nothing_is_found_every_metric_is_zero():
    result = evaluate_rankings({"q1": {"a": 1}, "q2": {"b": 2}}, {})
    assert result.mean == {m: 0.0 for m in METRICS}


def test_duplicates_keep_their_first_rank_and_unlabeled_queries_are_ignored():
    qrels = {"q1": {"a": 1}}
    result = evaluate_rankings(qrels, {"q1": ["x", "a", "x", "a"], "extra": ["a"]})
    assert result.mean["mrr@10"] == pytest.approx(0.5)
    assert set(result.per_query) == {"q1"}


def test_zero_grades_are_not_relevant_and_a_query_needs_a_relevant_label():
    result = evaluate_rankings({"q1": {"a": 0, "b": 1}}, {"q1": ["a", "b"]})
    assert result.mean["mrr@10"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no relevant label"):
        evaluate_rankings({"q1": {"a": 0}}, {"q1": ["a"]})


def test_ideal_rankings_reach_the_ceiling():
    qrels = {"q1": {"b": 1, "a": 2, "z": 0}, "q2": {f"d{i}": 1 for i in range(8)}}
    ideal = ideal_rankings(qrels)
    assert ideal["q1"] == ["a", "b"]
    result = evaluate_rankings(qrels, ideal)
    assert result.per_query["q1"]["ndcg@10"] == pytest.approx(1.0)
    assert result.per_query["q2"]["recall@5"] == pytest.approx(5 / 8)  # recall@5 cannot reach 1


def test_percentile_interpolates():
    assert percentile([], 95) == 0.0
    assert percentile([10.0], 95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def _twenty_queries() -> dict[str, dict[str, int]]:
    return {f"q{i}": {f"right{i}": 2} for i in range(20)}


def test_a_pipeline_that_wins_on_every_query_is_significantly_better():
    qrels = _twenty_queries()
    good = {q: [next(iter(labels))] for q, labels in qrels.items()}
    bad = {q: ["wrong"] for q in qrels}
    [comparison] = compare_rankings(
        qrels, {"good": good, "bad": bad}, [("good", "bad")], metrics=("ndcg@10",)
    )
    assert (comparison.a, comparison.b, comparison.metric) == ("good", "bad", "ndcg@10")
    assert comparison.delta == pytest.approx(1.0)
    assert (comparison.wins, comparison.ties, comparison.losses) == (20, 0, 0)
    assert comparison.p_value < 0.01 and comparison.significant


def test_a_split_decision_is_not_significant_and_the_test_is_repeatable():
    # A wins on ten queries, B on the other ten: no evidence either is better.
    qrels = _twenty_queries()
    right = {q: [next(iter(labels))] for q, labels in qrels.items()}
    a = {q: right[q] if i % 2 else ["wrong"] for i, q in enumerate(qrels)}
    b = {q: ["wrong"] if i % 2 else right[q] for i, q in enumerate(qrels)}
    first = compare_rankings(qrels, {"a": a, "b": b}, [("a", "b")], metrics=("mrr@10",))
    again = compare_rankings(qrels, {"a": a, "b": b}, [("a", "b")], metrics=("mrr@10",))
    assert first == again  # fixed seed: the same rankings give the same p-value
    [comparison] = first
    assert comparison.delta == pytest.approx(0.0)
    assert (comparison.wins, comparison.ties, comparison.losses) == (10, 0, 10)
    assert comparison.p_value > 0.5 and not comparison.significant
