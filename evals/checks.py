"""Evals stage: checks on whole answers (citations, catalog ids, out-of-scope, what a mentor would
say: definitions first, reading first, no padding, links) and constraints."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from assistant.compose import RELATED
from evals.datasets import PersonalizationCase

if TYPE_CHECKING:
    from assistant.compose import Answer
    from ingest.catalog import Catalog

CITATION = re.compile(r"\[(\d+)\]")
CONSTRAINT_DEPTH = 5  # constraints are judged on what a person sees first
# "What should I read ...": asks for reading material (issue 13: at most one tool in the top 5).
READ_QUESTION = re.compile(r"\b(read|reading)\b", re.IGNORECASE)
MAX_TOOLS_WHEN_READING = 1


def dangling_citations(answer: Answer) -> list[int]:
    """Citation numbers used in the text that no citation of the answer carries."""
    numbers = {c.number for c in answer.citations}
    used = sorted({int(n) for n in CITATION.findall(answer.text)})
    dangling = [n for n in used if n not in numbers]
    # An item pointing at a citation that does not exist is just as broken.
    dangling += [i.citation for i in answer.items if i.citation and i.citation not in numbers]
    return sorted(set(dangling))


def unknown_items(answer: Answer, known_ids: Collection[str]) -> list[str]:
    """Ids of the answer's items that are not in the catalog."""
    return [i.resource.id for i in answer.items if i.resource.id not in known_ids]


def answer_checks(answer: Answer, known_ids: Collection[str]) -> dict[str, list[Any]]:
    """What is wrong with one answer: dangling citation numbers, items outside the catalog."""
    return {
        "dangling_citations": dangling_citations(answer),
        "unknown_items": unknown_items(answer, known_ids),
    }


def opens_with_definition(answer: Answer) -> bool:
    """An explain/compare answer starts by defining its concept(s), or the one resource it was
    asked about ("what's MLflow?": its title and summary), and cites a source."""
    cites = bool(CITATION.search(answer.text)) and not dangling_citations(answer)
    if not answer.concepts:
        named = list(answer.query_used.get("mentioned") or ())  # type: ignore[call-overload]
        if len(named) != 1 or len(answer.items) != 1 or answer.items[0].resource.id != named[0]:
            return False
        resource = answer.items[0].resource
        starts = answer.text.startswith(f"**{resource.title}**")
        return starts and resource.summary.strip() in answer.text and cites
    head = answer.text.split("What to read next:", 1)[0]
    defined = all(c.definition.strip() in head for c in answer.concepts)
    first = answer.concepts[0]
    starts = answer.text.lower().startswith(f"**{first.name.lower()}**")
    return defined and starts and cites


def tools_on_top(answer: Answer, depth: int = CONSTRAINT_DEPTH) -> int:
    """How many of the first `depth` items are tools."""
    return sum(1 for item in answer.items[:depth] if item.resource.kind == "tool")


def padding(answer: Answer) -> list[str]:
    """Items that share no asked-for topic, were not named (nor by a named author) and teach no
    asked-for concept: filler that makes a list look full."""
    topics = set(answer.query_used.get("topics") or [])  # type: ignore[call-overload]
    if not topics or answer.intent not in ("recommend", "explain", "compare"):
        return []
    named = set(answer.query_used.get("mentioned") or [])  # type: ignore[call-overload]
    named |= set(answer.query_used.get("restrict_to") or [])  # type: ignore[call-overload]
    taught = {rid for c in answer.concepts for rid in c.resources}
    authors = set(answer.query_used.get("authors") or [])  # type: ignore[call-overload]
    return [
        i.resource.id
        for i in answer.items
        if not (topics & set(i.resource.topics))
        and i.resource.id not in named | taught
        and not authors & set(i.resource.authors)
    ]


def mentor_checks(answer: Answer, question: str) -> dict[str, Any]:
    """The issue-13 checks on one answer, as row fields.

    An explain question is one understood as explain, or a comparison naming no catalog resource
    ("batch vs online inference", not "Airflow vs Dagster" nor "which one is best for LLMs?"
    among the last answer's resources). A read question asks to read and not for tools.
    """
    kinds = set(answer.query_used.get("kinds") or [])  # type: ignore[call-overload]
    named = answer.query_used.get("mentioned") or answer.query_used.get("restrict_to")
    explains = bool(answer.concepts) or answer.intent == "explain"
    explains = explains or (answer.intent == "compare" and not named)
    padded = padding(answer)
    return {
        "defines": opens_with_definition(answer) if explains else None,
        "read_question": bool(READ_QUESTION.search(question)) and "tool" not in kinds,
        "tools_top5": tools_on_top(answer),
        "padding": padded,
        # Padding the answer presents as on the topic: not listed under "Related".
        "unlabelled_padding": [
            i.resource.id for i in answer.items if i.resource.id in padded and i.group != RELATED
        ],
        "linked": sum(1 for i in answer.items if i.resource.url),
    }


def forbidden_in(
    ids: Sequence[str],
    catalog: Catalog,
    must_not: Collection[str] = (),
    must_not_kinds: Collection[str] = (),
    paid_forbidden: bool = False,
    depth: int = CONSTRAINT_DEPTH,
) -> list[str]:
    """The ids among the first `depth` that a case forbids, each with why."""
    found = []
    for resource_id in ids[:depth]:
        resource = catalog.get(resource_id)
        if resource_id in must_not:
            found.append(f"{resource_id} (excluded)")
        elif resource is not None and resource.kind in must_not_kinds:
            found.append(f"{resource_id} (kind {resource.kind})")
        elif resource is not None and paid_forbidden and resource.cost == "paid":
            found.append(f"{resource_id} (paid)")
    return found


def case_violations(case: PersonalizationCase, ids: Sequence[str], catalog: Catalog) -> list[str]:
    """What a personalized ranking shows in its top 5 that the case forbids."""
    return forbidden_in(ids, catalog, case.must_not, case.must_not_kinds, case.paid_forbidden)
