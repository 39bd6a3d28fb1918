"""UI adapter: plain-data views of assistant results, shared by the CLI, the API and the UI."""

from __future__ import annotations

from typing import Any

from assistant.compose import Answer, Citation, Recommendation
from assistant.hybrid import Hit
from ingest.catalog import Resource


def resource_view(resource: Resource) -> dict[str, Any]:
    """The public fields of a resource (every answer carries at least these)."""
    return {
        "id": resource.id,
        "title": resource.title,
        "kind": resource.kind,
        "url": resource.url,
        "authors": list(resource.authors),
        "year": resource.year,
        "level": resource.level,
        "cost": resource.cost,
        "open_source": resource.open_source,
        "topics": list(resource.topics),
        "verified": resource.verified,
        "vendor": resource.vendor,
    }


def hit_view(hit: Hit) -> dict[str, Any]:
    """A search result: resource + score + evidence snippet and where it was found."""
    source = None
    if hit.evidence is not None:
        source = {
            "title": hit.evidence.source_title,
            "origin": hit.evidence.origin,
            "heading": hit.evidence.heading,
        }
    return resource_view(hit.resource) | {
        "score": round(hit.score, 4),
        "snippet": hit.snippet,
        "source": source,
    }


def resource_detail_view(resource: Resource) -> dict[str, Any]:
    """Everything public about a resource: the catalog entry minus nothing but internals."""
    return resource_view(resource) | {
        "aliases": list(resource.aliases),
        "audience": list(resource.audience),
        "summary": resource.summary,
        "best_for": resource.best_for,
        "mentioned_in": list(resource.mentioned_in),
        "publisher": resource.publisher,
        "prerequisites": list(resource.prerequisites),
        "effort": resource.effort,
        "pages": resource.pages,
    }


def citation_view(citation: Citation) -> dict[str, Any]:
    """A numbered citation: the source passage an answer relies on."""
    return {
        "number": citation.number,
        "source_title": citation.source_title,
        "origin": citation.origin,
        "heading": citation.heading,
        "snippet": citation.snippet,
        "url": citation.url,
    }


def recommendation_view(item: Recommendation, with_score: bool = False) -> dict[str, Any]:
    """A resource in an answer: why it fits and which citation backs it."""
    view = resource_view(item.resource)
    if with_score:
        view["score"] = item.score
    return view | {"reason": item.reason, "citation": item.citation, "snippet": item.snippet,
                   "group": item.group}  # fmt: skip


def answer_view(answer: Answer) -> dict[str, Any]:
    """A chat answer as plain data."""
    return {
        "session_id": answer.session_id,
        "answer": answer.text,
        "intent": answer.intent,
        "generator": answer.generator,
        "sources": [recommendation_view(item) for item in answer.items],
        "citations": [citation_view(c) for c in answer.citations],
        "query_used": answer.query_used,
    }
