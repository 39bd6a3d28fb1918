"""Evals stage: ranking metrics (nDCG, recall, MRR, precision) computed with ranx."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# "recall@5-l2" is ranx's recall@5 at relevance level 2: only "right answer" labels count, so
# it reaches 1 whenever the top five hold every right answer (supporting ones are not needed).
METRICS = ("ndcg@10", "recall@5", "recall@5-l2", "recall@10", "mrr@10", "precision@5")
# The metrics whose differences between pipelines are tested for significance, and the level.
COMPARED = ("ndcg@10", "recall@5", "recall@5-l2", "mrr@10")
# A composed answer shows at most five resources: judged at that depth.
ANSWER_METRICS = ("ndcg@5", "precision@5", "recall@5")
SIGNIFICANCE = 0.05
# ranx needs at least one document per query; this one is never relevant, so a query with no
# results still counts, as zeros, instead of being dropped from the mean.
NO_RESULT = "__no_result__"


@dataclass(frozen=True)
class Evaluation:
    """Mean metrics over a query set, and each query's own values."""

    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]


def evaluate_rankings(
    qrels: Mapping[str, Mapping[str, int]],
    rankings: Mapping[str, Sequence[str]],
    metrics: Sequence[str] = METRICS,
) -> Evaluation:
    """Score ranked id lists against graded labels (2 right, 1 supporting) with ranx.

    nDCG uses the grades as linear gains (ranx's `ndcg`, as trec_eval); recall, precision and
    MRR count any grade >= 1 as relevant, and a metric suffixed `-l2` (ranx's relevance level)
    only grade 2; a query with no grade-2 label scores 0 on it.

    Every query in `qrels` counts; one missing from `rankings`, or ranked empty, scores zero.
    Queries in `rankings` without labels are ignored. Duplicate ids keep their first rank.
    """
    if not qrels:
        return Evaluation({m: 0.0 for m in metrics}, {})
    empty = [q for q, labels in qrels.items() if not any(g >= 1 for g in labels.values())]
    if empty:
        raise ValueError(f"queries with no relevant label cannot be scored: {sorted(empty)}")
    from ranx import Qrels, Run, evaluate

    run_dict: dict[str, dict[str, float]] = {}
    for query_id in qrels:
        ids = list(dict.fromkeys(rankings.get(query_id, ())))
        # Distinct descending scores keep the exact order (ranx sorts by score).
        scores = {doc: float(len(ids) - rank) for rank, doc in enumerate(ids)}
        run_dict[query_id] = scores or {NO_RESULT: 0.0}
    qrels_dict = {
        q: {doc: int(g) for doc, g in labels.items() if g >= 1} for q, labels in qrels.items()
    }
    run = Run.from_dict(run_dict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 -> int64 cast notice inside ranx
        means = evaluate(Qrels.from_dict(qrels_dict), run, list(metrics))
    if len(metrics) == 1:  # ranx returns a bare number for a single metric
        means = {metrics[0]: means}
    # ranx also keeps each query's value on the run.
    per_query = {q: {m: float(run.scores[m][q]) for m in metrics} for q in qrels_dict}
    return Evaluation({m: float(means[m]) for m in metrics}, per_query)


@dataclass(frozen=True)
class Comparison:
    """Pipeline `a` against `b` on one metric, paired over the same queries."""

    a: str
    b: str
    metric: str
    delta: float  # mean of a minus mean of b
    p_value: float  # two-sided, Fisher's randomization test
    wins: int  # queries where a scores higher
    ties: int
    losses: int

    @property
    def significant(self) -> bool:
        """Whether the difference is unlikely to be chance (p < SIGNIFICANCE)."""
        return self.p_value < SIGNIFICANCE


def compare_rankings(
    qrels: Mapping[str, Mapping[str, int]],
    rankings: Mapping[str, Mapping[str, Sequence[str]]],
    pairs: Sequence[tuple[str, str]],
    metrics: Sequence[str] = COMPARED,
    permutations: int = 10_000,
) -> list[Comparison]:
    """Paired significance of each (a, b) pipeline pair, query by query.

    Fisher's randomization test, the one Smucker et al. (CIKM 2007) recommend for IR: with 60
    queries a 0.01 difference in a mean is usually noise, and the report should say so. Per-query
    scores come from ranx; the test is scipy's paired `permutation_test` with a fixed seed, so
    the same rankings always give the same p-values (ranx's own `compare` draws its permutations
    inside numba, where the seed does not reach, and its p-values change from run to run).
    """
    from scipy.stats import permutation_test

    scored = {
        name: evaluate_rankings(qrels, rankings[name], metrics)
        for name in dict.fromkeys(name for pair in pairs for name in pair)
    }
    found: list[Comparison] = []
    for a, b in pairs:
        for metric in metrics:
            ours = [scored[a].per_query[q][metric] for q in qrels]
            theirs = [scored[b].per_query[q][metric] for q in qrels]
            test = permutation_test(
                (ours, theirs),
                lambda x, y, axis: (x - y).mean(axis=axis),
                permutation_type="samples",  # paired: swap the two runs' values per query
                vectorized=True,
                n_resamples=permutations,
                alternative="two-sided",
                random_state=42,
            )
            found.append(
                Comparison(
                    a=a,
                    b=b,
                    metric=metric,
                    delta=scored[a].mean[metric] - scored[b].mean[metric],
                    p_value=float(test.pvalue),
                    wins=sum(x > y for x, y in zip(ours, theirs, strict=True)),
                    ties=sum(x == y for x, y in zip(ours, theirs, strict=True)),
                    losses=sum(x < y for x, y in zip(ours, theirs, strict=True)),
                )
            )
    return found


def ideal_rankings(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, list[str]]:
    """The best possible ranking for each query (by grade): the ceiling each metric can reach."""
    return {
        q: [doc for doc, g in sorted(labels.items(), key=lambda p: (-p[1], p[0])) if g >= 1]
        for q, labels in qrels.items()
    }


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0..100) with linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
