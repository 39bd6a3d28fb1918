"""Evals stage: checks on whole answers (citations, catalog ids, out-of-scope) and constraints."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from evals.datasets import PersonalizationCase

if TYPE_CHECKING:
    from assistant.compose import Answer
    from ingest.catalog import Catalog

CITATION = re.compile(r"\[(\d+)\]")
CONSTRAINT_DEPTH = 5  # constraints are judged on what a person sees first


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
