"""UI adapter: plain-data views of assistant results, shared by the CLI, the API and the UI."""

from __future__ import annotations

from typing import Any

from assistant.compose import Answer
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


def answer_view(answer: Answer) -> dict[str, Any]:
    """A chat answer as plain data."""
    return {
        "session_id": answer.session_id,
        "answer": answer.text,
        "intent": answer.intent,
        "generator": answer.generator,
        "sources": [
            resource_view(item.resource)
            | {"reason": item.reason, "citation": item.citation, "snippet": item.snippet}
            for item in answer.items
        ],
        "citations": [
            {
                "number": c.number,
                "source_title": c.source_title,
                "origin": c.origin,
                "heading": c.heading,
                "snippet": c.snippet,
            }
            for c in answer.citations
        ],
        "query_used": answer.query_used,
    }
