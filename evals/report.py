"""Evals stage: the eval report as Markdown, a metrics chart (PNG) and a terminal summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.metrics import METRICS, SIGNIFICANCE

LABELS = {
    "ndcg@10": "nDCG@10",
    "recall@5": "Recall@5",
    "recall@5-l2": "R@5 grade 2",
    "recall@10": "Recall@10",
    "mrr@10": "MRR@10",
    "precision@5": "P@5",
}


def _num(value: float) -> str:
    return f"{value:.3f}"


def _ids(ids: list[str], expected: dict[str, int] | None = None) -> str:
    if not ids:
        return "(none)"
    if expected is None:
        return ", ".join(ids)
    # Mark what was labeled: ** right answer, * supporting.
    return ", ".join(f"{i}{'*' * expected.get(i, 0)}" for i in ids)


def _expected(labels: dict[str, int]) -> str:
    ordered = sorted(labels.items(), key=lambda p: (-p[1], p[0]))
    return ", ".join(f"{i} ({g})" for i, g in ordered if g >= 1)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _pipeline_table(results: dict[str, Any]) -> list[str]:
    header = ["pipeline", *(LABELS[m] for m in METRICS), "median ms", "p95 ms"]
    rows = []
    for name, p in results["pipelines"].items():
        latency = p["latency_ms"]
        rows.append(
            [
                f"**{name}**" if name == "full" else name,
                *(_num(p["metrics"][m]) for m in METRICS),
                f"{latency['median']:.0f}",
                f"{latency['p95']:.0f}",
            ]
        )
    rows.append(["ideal (label ceiling)", *(_num(results["ideal"][m]) for m in METRICS), "", ""])
    return _table(header, rows)


def _significance_table(results: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{row['a']} vs {row['b']}",
            LABELS[row["metric"]],
            f"{row['delta']:+.3f}",
            f"{row['wins']}/{row['ties']}/{row['losses']}",
            f"{row['p_value']:.3f}",
            "yes" if row["significant"] else "no",
        ]
        for row in results.get("significance", [])
    ]
    header = ["pair", "metric", "difference", "wins/ties/losses", "p", "significant"]
    return _table(header, rows) if rows else ["(no queries to compare)"]


def _category_table(results: dict[str, Any]) -> list[str]:
    pipelines = results["pipelines"]
    categories = sorted(next(iter(pipelines.values()))["by_category"]) if pipelines else []
    counts: dict[str, int] = {}
    for row in next(iter(pipelines.values()))["queries"] if pipelines else []:
        counts[row["category"]] = counts.get(row["category"], 0) + 1
    rows = [
        [f"{c} ({counts.get(c, 0)})"]
        + [_num(p["by_category"][c]["ndcg@10"]) for p in pipelines.values()]
        for c in categories
    ]
    return _table(["category (queries)", *pipelines], rows)


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """The human report: metrics per pipeline, answer checks, conversations, personalization,
    the gate and the full pipeline's failures."""
    counts, corpus = results["counts"], results["corpus"]
    answers, oos = results["answers"], results["out_of_scope"]
    conv, pers = results["conversations"], results["personalization"]
    lines = [
        f"# Retrieval evals: {results['split']} split",
        "",
        f"{results['generated_at']}. {counts['queries']} queries, {counts['conversations']} "
        f"conversations ({conv['turns']} turns), {counts['personalization']} personalization "
        f"cases, {counts['out_of_scope']} out-of-scope questions. Index: {corpus['resources']} "
        f"resources, {corpus['chunks']} chunks; the baseline has {corpus['baseline_chunks']} "
        f"chunks. Runtime {results['runtime_s']:.1f} s.",
        "",
        "## Retrieval by pipeline",
        "",
        "Ranked resources (k = 10) against graded labels (2 right, 1 supporting), scored with "
        "ranx. *baseline* is a tutorial RAG (raw files, 1000/200 character chunks, one vector "
        "search); *ensemble* is LangChain's EnsembleRetriever (BM25Retriever + dense, 0.5/0.5) "
        "over one Document per catalog resource; *full* adds query understanding, filters, "
        "the learned ranker and out-of-scope detection. "
        "The ideal row is a perfect ranking of the labels: Recall@5 and P@5 cannot reach 1 "
        "when a query has more or fewer than five relevant resources. R@5 (grade 2) counts "
        "only the right answers (grade 2), so supporting resources beyond five do not cap it.",
        "",
        *_pipeline_table(results),
        "",
        "![metrics per pipeline](metrics.png)",
        "",
        "nDCG@10 by query category:",
        "",
        *_category_table(results),
        "",
        "## Are the differences real?",
        "",
        "Each pair is compared query by query with Fisher's paired randomization test (scipy's "
        "`permutation_test` over ranx's per-query scores, 10,000 permutations, fixed seed, "
        f"two-sided; significant when p < {SIGNIFICANCE}). *wins/ties/"
        "losses* count the queries where the first pipeline scores higher, the same, or lower. "
        "A difference that is not significant is within what reshuffling the same queries "
        "produces by chance.",
        "",
        *_significance_table(results),
        "",
        "## Answer checks (full pipeline, `ask`)",
        "",
        f"- Citation validity: {_num(answers['citation_validity'])} of {answers['checked']} "
        "answers cite only citations they carry.",
        f"- Catalog validity: {_num(answers['catalog_validity'])} name only catalog resources.",
        f"- False out-of-scope rate on in-scope questions: "
        f"{_num(answers['false_out_of_scope_rate'])}"
        + (
            f" ({', '.join(answers['false_out_of_scope'])})"
            if answers["false_out_of_scope"]
            else ""
        )
        + ".",
        f"- Out-of-scope accuracy: {_num(oos['accuracy'])} of {oos['cases']} off-corpus "
        'questions get the honest "not covered" answer with no resources.',
        f"- Explain/compare answers that open with a definition and cite: "
        f"{_num(answers['explain_defines_rate'])} of {answers['explain_answers']}"
        + (
            f" (not: {', '.join(answers['explain_failures'])})"
            if answers["explain_failures"]
            else ""
        )
        + ".",
        f"- Read questions with at most one tool in the top 5: "
        f"{_num(answers['read_tool_rate'])} of {answers['read_questions']}.",
        f"- Off-topic padding: {_num(answers['padding_rate'])} of recommended items share no "
        "asked-for topic, were not named and teach no asked-for concept; "
        f"{_num(answers.get('unlabelled_padding_rate', 0.0))} are such items not shown under "
        '"Related" (presented as on the topic).',
        f"- Link coverage: {_num(answers['link_coverage'])} of recommended items carry a link.",
        "- The answers' lists against the query labels: "
        + ", ".join(f"{m} {_num(v)}" for m, v in answers.get("relevance", {}).items())
        + ".",
    ]
    for row in oos["failures"]:
        lines.append(f'  - {row["id"]} "{row["query"]}": {row["intent"]}, {_ids(row["got"])}')
    for row in answers["invalid"]:
        lines.append(
            f"  - {row['id']}: dangling citations {row['dangling_citations']}, "
            f"unknown items {row['unknown_items']}"
        )
    lines += [
        "",
        "## Conversations",
        "",
        f"{conv['conversations']} conversations, {conv['turns']} turns, each turn asked in its "
        "session with the default k (5) and judged on its own labels.",
        "",
        *_table(
            [*(LABELS[m] for m in METRICS), "follow-up hit rate", "turns breaking must_not"],
            [
                [
                    *(_num(conv["metrics"][m]) for m in METRICS),
                    _num(conv["second_turn_hit_rate"]),
                    str(conv["must_not_violations"]),
                ]
            ],
        ),
        "",
    ]
    for row in conv["rows"]:
        if (row["follow_up"] and not row["hit"]) or row["violations"]:
            lines.append(
                f'- {row["id"]} "{row["message"]}": got {_ids(row["got"], row["expected"])}'
                + (f"; forbidden: {', '.join(row['violations'])}" if row["violations"] else "")
            )
    lines += [
        "",
        "## Personalization",
        "",
        f"{pers['cases']} profile cases through `Assistant.recommend` (an empty query asks "
        "for a learning path).",
        "",
        *_table(
            [*(LABELS[m] for m in METRICS), "constraint adherence (top 5)"],
            [
                [
                    *(_num(pers["metrics"][m]) for m in METRICS),
                    _num(pers["constraint_adherence"]),
                ]
            ],
        ),
        "",
    ]
    for row in pers["rows"]:
        if row["violations"]:
            lines.append(f"- {row['id']}: forbidden in the top 5: {', '.join(row['violations'])}")
    documents = results.get("documents") or {}
    if documents:
        lines += [
            "",
            "## The user's own documents",
            "",
            f"{documents['questions']} questions over {documents['documents']} documents added "
            "with `mlsd ingest --add` (evals/datasets/documents.yaml): the right document is in "
            f"the top 3 of search for {_num(documents['hit_rate@3'])} of them, and of the "
            f"composed answer for {_num(documents['answer_hit_rate@3'])}. With the documents "
            f"added, {_num(documents['out_of_scope_accuracy'])} of "
            f'{documents["out_of_scope_cases"]} off-corpus questions still get "not covered".',
            "",
        ]
        lines += [
            f'- {row["id"]} "{row["query"]}" ({row["document"]}): got {_ids(row["got"])}'
            for row in documents["rows"]
            if not row["hit"]
        ]
    gate = results["gate"]
    lines += ["", "## Gate", ""]
    if gate["passed"]:
        lines.append(f"Passed (thresholds for the {gate['thresholds'].get('split')} split).")
    else:
        lines += ["Failed:", ""] + [f"- {f}" for f in gate["failures"]]
    failures = results["failures"]
    lines += [
        "",
        f"## Failures ({len(failures)})",
        "",
        "Full-pipeline queries with nDCG@10 < 0.5, or Recall@5 below the best a perfect ranking "
        "reaches for that query (1, or 5 / labels when more than five are relevant). In *got*, "
        "`**` marks a right answer and `*` a supporting one.",
        "",
    ]
    for row in failures:
        m = row["metrics"]
        lines += [
            f'- **{row["id"]}** ({row["category"]}) "{row["query"]}": nDCG@10 '
            f"{_num(m['ndcg@10'])}, Recall@5 {_num(m['recall@5'])} (best "
            f"{_num(row['ideal_recall@5'])})",
            f"  - expected: {_expected(row['expected'])}",
            f"  - got: {_ids(row['got'], row['expected'])}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(results: dict[str, Any], path: Path) -> None:
    """A grouped bar chart: each metric, one bar per pipeline."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    pipelines = results["pipelines"]
    width = 0.8 / max(1, len(pipelines))
    figure, axes = plt.subplots(figsize=(10, 4.8), dpi=110)
    for n, (name, p) in enumerate(pipelines.items()):
        positions = [i + (n - (len(pipelines) - 1) / 2) * width for i in range(len(METRICS))]
        bars = axes.bar(positions, [p["metrics"][m] for m in METRICS], width, label=name)
        axes.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    axes.set_xticks(range(len(METRICS)), [LABELS[m] for m in METRICS])
    axes.set_ylim(0, 1.12)  # headroom for the legend
    axes.set_ylabel("score")
    axes.set_title(f"Retrieval metrics by pipeline ({results['split']} split)")
    axes.legend(ncol=len(pipelines), loc="upper center", fontsize=8, frameon=False)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, format="png")
    plt.close(figure)


def summary_table(results: dict[str, Any], out_dir: Path) -> str:
    """A short plain-text summary for the terminal."""
    width = {m: max(11, len(LABELS[m]) + 2) for m in METRICS}
    header = f"{'pipeline':<10}" + "".join(f"{LABELS[m]:>{width[m]}}" for m in METRICS)
    header += f"{'p50 ms':>9}{'p95 ms':>9}"
    lines = [f"Evals on the {results['split']} split ({results['runtime_s']:.1f} s)", header]
    for name, p in results["pipelines"].items():
        lines.append(
            f"{name:<10}"
            + "".join(f"{p['metrics'][m]:>{width[m]}.3f}" for m in METRICS)
            + f"{p['latency_ms']['median']:>9.0f}{p['latency_ms']['p95']:>9.0f}"
        )
    s = results["summary"]
    lines += [
        f"answers: citation validity {s['answers.citation_validity']:.3f}, catalog validity "
        f"{s['answers.catalog_validity']:.3f}, false out-of-scope "
        f"{s['answers.false_out_of_scope_rate']:.3f}; out-of-scope accuracy "
        f"{s['out_of_scope.accuracy']:.3f}",
        f"conversations: nDCG@10 {s['conversations.ndcg@10']:.3f}, follow-up hit rate "
        f"{s['conversations.second_turn_hit_rate']:.3f}, must_not violations "
        f"{s['conversations.must_not_violations']:.0f}",
        "personalization: nDCG@10 "
        f"{s['personalization.ndcg@10']:.3f}, constraint adherence "
        f"{s['personalization.constraint_adherence']:.3f}",
        *(
            [
                f"documents: right document in the top 3 {s['documents.hit_rate@3']:.3f}; "
                f"out-of-scope accuracy with documents {s['documents.out_of_scope_accuracy']:.3f}"
            ]
            if "documents.hit_rate@3" in s
            else []
        ),
        *_gate_lines(results),
        f"report: {out_dir / 'report.md'}",
    ]
    return "\n".join(lines)


def _gate_lines(results: Mapping[str, Any]) -> list[str]:
    """The gate's verdict, or a note that it does not apply: its thresholds are for one split
    (dev), and a run on the sealed test split is a report, not something to pass."""
    gated = results["gate"]["thresholds"].get("split")
    if gated and gated != results["split"]:
        return [f"gate: not applied (its thresholds are for the {gated} split; this is a report)"]
    verdict = "gate: passed" if results["gate"]["passed"] else "gate: FAILED"
    return [verdict, *(f"  - {f}" for f in results["gate"]["failures"])]
