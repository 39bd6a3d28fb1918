"""Evals stage: the answer-level suites: answer checks, conversations and personalization."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from evals.checks import (
    MAX_TOOLS_WHEN_READING,
    answer_checks,
    case_violations,
    forbidden_in,
    mentor_checks,
)
from evals.datasets import Datasets
from evals.metrics import evaluate_rankings, percentile
from evals.pipelines import personalized_ranking

if TYPE_CHECKING:
    from assistant.compose import Answer
    from assistant.service import Assistant


def rounded(values: dict[str, float]) -> dict[str, float]:
    """Metric values rounded for the report (4 places)."""
    return {k: round(v, 4) for k, v in values.items()}


def latency_stats(values: list[float]) -> dict[str, float]:
    """Median, p95 and mean of latencies in ms."""
    return {
        "median": round(statistics.median(values), 1) if values else 0.0,
        "p95": round(percentile(values, 95), 1),
        "mean": round(statistics.fmean(values), 1) if values else 0.0,
    }


def _answer_row(answer: Answer, known: Collection[str], **fields: Any) -> dict[str, Any]:
    question = str(fields.get("query") or fields.get("message") or "")
    return {
        **fields,
        "intent": answer.intent,
        "got": [i.resource.id for i in answer.items],
        "citations": len(answer.citations),
        **answer_checks(answer, known),
        **mentor_checks(answer, question),
    }


def _share(rows: list[dict[str, Any]], ok: Callable[[dict[str, Any]], bool]) -> float:
    return round(sum(1 for r in rows if ok(r)) / len(rows), 4) if rows else 1.0


def check_answers(
    assistant: Assistant, data: Datasets
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`ask` every in-scope and out-of-scope question once, in a fresh session each."""
    known = assistant.catalog.resources
    rows = [
        _answer_row(assistant.ask(case.query), known, id=case.id, query=case.query)
        for case in data.queries
    ]
    oos_rows = []
    for oos in data.out_of_scope:
        row = _answer_row(assistant.ask(oos.query), known, id=oos.id, query=oos.query)
        row["correct"] = row["intent"] == "out_of_scope" and not row["got"]
        oos_rows.append(row)
    out_of_scope = {
        "cases": len(oos_rows),
        "accuracy": _share(oos_rows, lambda r: r["correct"]),
        "failures": [r for r in oos_rows if not r["correct"]],
        "rows": oos_rows,
    }
    return rows + oos_rows, out_of_scope


def answer_summary(in_scope: list[dict[str, Any]], checked: list[dict[str, Any]]) -> dict[str, Any]:
    """Citation and catalog validity over every answer; false out-of-scope over in-scope ones."""
    false_oos = [r["id"] for r in in_scope if r["intent"] == "out_of_scope"]
    return {
        "checked": len(checked),
        "citation_validity": _share(checked, lambda r: not r["dangling_citations"]),
        "catalog_validity": _share(checked, lambda r: not r["unknown_items"]),
        "false_out_of_scope_rate": round(len(false_oos) / len(in_scope), 4) if in_scope else 0.0,
        "false_out_of_scope": false_oos,
        "invalid": [r for r in checked if r["dangling_citations"] or r["unknown_items"]],
        **mentor_summary(checked),
    }


def mentor_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue 13's bars over answered rows: explain answers define and cite; read questions show
    at most one tool in the top 5; no off-topic padding; how many recommended items link out."""
    explained = [r for r in rows if r.get("defines") is not None]
    reading = [r for r in rows if r.get("read_question") and r["got"]]
    items = sum(len(r["got"]) for r in rows)
    padded = [r for r in rows if r.get("padding")]
    return {
        "explain_answers": len(explained),
        "explain_defines_rate": _share(explained, lambda r: r["defines"]),
        "explain_failures": [r["id"] for r in explained if not r["defines"]],
        "read_questions": len(reading),
        "read_tool_rate": _share(reading, lambda r: r["tools_top5"] <= MAX_TOOLS_WHEN_READING),
        "read_tool_failures": [
            r["id"] for r in reading if r["tools_top5"] > MAX_TOOLS_WHEN_READING
        ],
        "padding_rate": round(sum(len(r["padding"]) for r in padded) / items, 4) if items else 0.0,
        "padded": [{"id": r["id"], "padding": r["padding"]} for r in padded],
        "unlabelled_padding_rate": (
            round(sum(len(r.get("unlabelled_padding", ())) for r in rows) / items, 4)
            if items
            else 0.0
        ),
        "link_coverage": round(sum(r.get("linked", 0) for r in rows) / items, 4) if items else 1.0,
    }


def run_conversations(assistant: Assistant, data: Datasets) -> dict[str, Any]:
    """Each conversation turn by turn in one session; every turn judged on its own labels.

    Turns use `ask`'s default k (5), as a person would: a narrowing follow-up ("any of those
    free?") works on what the previous turn showed.
    """
    known = assistant.catalog.resources
    rows: list[dict[str, Any]] = []
    qrels: dict[str, dict[str, int]] = {}
    rankings: dict[str, list[str]] = {}
    for conversation in data.conversations:
        session_id = None
        for n, turn in enumerate(conversation.turns):
            answer = assistant.ask(turn.message, session_id=session_id)
            session_id = answer.session_id
            key = f"{conversation.id}#{n + 1}"
            row = _answer_row(answer, known, id=key, message=turn.message, follow_up=n > 0)
            ids = row["got"]
            qrels[key], rankings[key] = turn.relevant, ids
            row["expected"] = turn.relevant
            row["hit"] = any(turn.relevant.get(i, 0) >= 1 for i in ids[:5])
            row["violations"] = forbidden_in(ids, assistant.catalog, must_not=turn.must_not)
            row["query_used"] = answer.query_used
            rows.append(row)
    scored = evaluate_rankings(qrels, rankings)
    for row in rows:
        row["metrics"] = rounded(scored.per_query[row["id"]])
    follow_ups = [r for r in rows if r["follow_up"]]
    return {
        "conversations": len(data.conversations),
        "turns": len(rows),
        "metrics": rounded(scored.mean),
        "second_turn_hit_rate": _share(follow_ups, lambda r: r["hit"]),
        "must_not_violations": sum(1 for r in rows if r["violations"]),
        "rows": rows,
    }


def run_personalization(assistant: Assistant, data: Datasets) -> dict[str, Any]:
    """Each profile case: relevance of the ranking and whether its top 5 keeps the constraints."""
    rows: list[dict[str, Any]] = []
    qrels: dict[str, dict[str, int]] = {}
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    for case in data.personalization:
        started = time.perf_counter()
        ids = personalized_ranking(assistant, case.profile, case.query)
        latencies.append((time.perf_counter() - started) * 1000)
        qrels[case.id], rankings[case.id] = case.relevant, ids
        rows.append(
            {
                "id": case.id,
                "profile": case.profile,
                "query": case.query,
                "expected": case.relevant,
                "got": ids,
                "violations": case_violations(case, ids, assistant.catalog),
            }
        )
    scored = evaluate_rankings(qrels, rankings)
    for row in rows:
        row["metrics"] = rounded(scored.per_query[row["id"]])
    return {
        "cases": len(rows),
        "metrics": rounded(scored.mean),
        "constraint_adherence": _share(rows, lambda r: not r["violations"]),
        "latency_ms": latency_stats(latencies),
        "rows": rows,
    }
