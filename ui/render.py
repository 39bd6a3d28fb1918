"""UI adapter: what the web UI shows for an answer, as HTML (pure functions, no Gradio)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import nh3

from assistant.compose import (
    RELATED,
    Answer,
    Citation,
    Recommendation,
    caveats,
    purpose,
    reason_for,
)
from assistant.query import ParsedQuery
from ingest.catalog import Resource, Source

# Scoped to each gr.HTML component (css_template), so the UI needs no page-wide CSS from the
# server that mounts it.
CARD_CSS = """
.mlsd-cards { display: grid; gap: 8px; }
.mlsd-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; }
.mlsd-card h4 { margin: 0 0 4px 0; font-size: 1rem; }
.mlsd-meta { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.mlsd-badge { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 4px;
  margin-right: 4px; font-size: 0.8rem; }
.mlsd-reason { margin: 4px 0 0 0; font-size: 0.9rem; }
.mlsd-citations { padding-left: 0; list-style: none; font-size: 0.9rem; }
.mlsd-citations li { margin-bottom: 6px; }
.mlsd-empty { color: var(--body-text-color-subdued); }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_card(item: Recommendation) -> str:
    """One recommended resource: title linked to its url, kind, authors, why it fits."""
    r: Resource = item.resource
    title = (
        f'<a href="{_e(r.url)}" target="_blank" rel="noopener noreferrer">{_e(r.title)}</a>'
        if r.url
        else _e(r.title)
    )
    authors = f" · by {_e(', '.join(r.authors[:4]))}" if r.authors else ""
    year = f" · {r.year}" if r.year else ""
    length = f" · {_e(r.length)}" if r.length else ""
    cite = f' <a href="#mlsd-cite-{item.citation}">[{item.citation}]</a>' if item.citation else ""
    badges = [r.kind, r.level, r.cost] + (["open source"] if r.open_source else [])
    # Off the question's topics but shown: the card says so, as the answer text does.
    badges += ["related, not on the topic asked"] if item.group == RELATED else []
    badge_html = "".join(f'<span class="mlsd-badge">{_e(b)}</span>' for b in badges)
    return (
        f'<div class="mlsd-card" data-resource-id="{_e(r.id)}" data-kind="{_e(r.kind)}" '
        f'data-group="{_e(item.group)}" '
        f'data-cost="{_e(r.cost)}" data-open-source="{str(bool(r.open_source)).lower()}">'
        f"<h4>{title}</h4>"
        f'<div class="mlsd-meta">{badge_html}'
        f"{authors}{year}{length}</div>"
        f'<p class="mlsd-reason">{_e(item.reason)}{cite}</p></div>'
    )


def answer_cards(answer: Answer, sources: dict[str, Source]) -> list[Recommendation]:
    """The cards beside an answer: what it recommends, or, when nothing of the kind asked is on
    the subject ("any papers on quantization?"), the resources it names there instead, so they
    can be opened, rated and marked as read like any other; their reasons come from the same
    place as every card's, caveats included."""
    if answer.items:
        return list(answer.items)
    text = str(answer.query_used.get("text", ""))
    asked = ParsedQuery(text, text)
    return [
        Recommendation(r, 0.0, reason_for(r, asked, sources), None, "", group=purpose(r))
        for r in answer.elsewhere
    ]


def render_cards(items: Sequence[Recommendation], empty: str = "No resources yet.") -> str:
    """The recommended resources as cards."""
    if not items:
        return f'<p class="mlsd-empty">{_e(empty)}</p>'
    return '<div class="mlsd-cards">' + "".join(render_card(i) for i in items) + "</div>"


_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s\"]+)\)")


def _snippet_html(snippet: str) -> str:
    # Source passages quote Markdown links; show them as links rather than raw brackets.
    return _MD_LINK.sub(
        r'<a href="\2" target="_blank" rel="noopener noreferrer">\1</a>', _e(snippet)
    )


def render_citations(citations: Sequence[Citation]) -> str:
    """The numbered citations: source title (linked to its page where it has one), section and
    the quoted passage."""
    if not citations:
        return '<p class="mlsd-empty">No citations yet.</p>'
    rows = []
    for c in citations:
        title = (
            f'<a href="{_e(c.url)}" target="_blank" rel="noopener noreferrer">'
            f"{_e(c.source_title)}</a>"
            if c.url
            else _e(c.source_title)
        )
        where = f"{title}, “{_e(c.heading)}”" if c.heading else title
        rows.append(
            f'<li id="mlsd-cite-{c.number}" data-number="{c.number}"><b>[{c.number}]</b> '
            f"{where}: <q>{_snippet_html(c.snippet)}</q></li>"
        )
    return '<ol class="mlsd-citations">' + "".join(rows) + "</ol>"


def describe_query(query_used: dict[str, object]) -> str:
    """What the assistant understood, in one line a person can check."""
    if not query_used:
        return "Ask a question to see what was understood."
    parts = [f"intent: {query_used.get('intent', '?')}"]
    for key, label in (("topics", "topics"), ("kinds", "kinds"), ("level", "level")):
        value = query_used.get(key)
        if value:
            parts.append(f"{label}: {', '.join(value) if isinstance(value, list) else value}")
    avoided = query_used.get("avoided_topics")
    if isinstance(avoided, list) and avoided:
        parts.append(f"leaving out: {', '.join(avoided)}")
    if query_used.get("free_only"):
        parts.append("free only")
    if query_used.get("open_source"):
        parts.append("open source")
    if query_used.get("role"):
        parts.append(f"role: {query_used['role']}")
    follow_up = query_used.get("follow_up")
    if follow_up:
        restrict = query_used.get("restrict_to")
        among = f" (among the {len(restrict)} from before)" if isinstance(restrict, list) else ""
        parts.append(f"follow-up: {follow_up}{among}")
    profile = query_used.get("profile")
    # What the message said ("I'm an SRE", "something easier?", "free ones") is shown above and
    # shapes a path as a profile would; it is no stored profile.
    said = {
        "role": query_used.get("role"),
        "level": query_used.get("level"),
        "budget": "free" if query_used.get("free_only") else None,
    }
    if isinstance(profile, dict) and any(said.get(k) != v for k, v in profile.items()):
        parts.append("personalized to your profile")
    searched = query_used.get("topic_text") or query_used.get("text")
    return f"**Understood:** {' · '.join(parts)}. **Searched for:** “{searched}”"


# A list line of a composed answer: "1. **Title** by A (kind). Reason ... [3]".
_ITEM_LINE = re.compile(r"^(\d+\. \*\*.+?\*\*(?: by [^(]+)? \([^)]*\))\..*?((?: \[\d+\])?)$")


def chat_text(text: str) -> str:
    """An answer for the chat bubble, shown once: the cards carry each resource's reasons and
    the citations panel the passages, so the bubble keeps the lead, the definitions, and the
    list as titles with their citation numbers."""
    body = text.split("\nSources:\n", 1)[0].rstrip()
    return "\n".join(_ITEM_LINE.sub(r"\1\2", line) for line in body.split("\n"))


def resource_detail(resource: Resource, sources: dict[str, Source]) -> str:
    """Everything the catalog knows about one resource, as Markdown (the Browse detail view)."""
    byline = f" by {', '.join(resource.authors)}" if resource.authors else ""
    published = f", {resource.published}" if resource.published else ""
    lines = [f"### {resource.title}", f"*{resource.kind}{published}*{byline}", "",
             resource.summary]  # fmt: skip
    lines += ["", f"- **Best for:** {resource.best_for}"]
    facts: list[str] = [resource.level, resource.cost]
    if resource.open_source is not None:
        facts.append("open source" if resource.open_source else "not open source")
    lines.append(f"- **Level, cost:** {', '.join(facts)}")
    if resource.length:
        lines.append(f"- **Length:** {resource.length}")
    lines.append(f"- **Topics:** {', '.join(t.replace('-', ' ') for t in resource.topics)}")
    found = caveats(resource, sources)
    if found:
        lines.append(f"- **Caveats:** {'; '.join(found)}.")
    named = [sources[s].title for s in resource.mentioned_in if s in sources]
    lines.append(f"- **Named in:** {'; '.join(named)}")
    link = f"[{resource.url}]({resource.url})" if resource.url else "no public link in the catalog"
    lines.append(f"- **Link:** {link}")
    return "\n".join(lines)


def safe_markdown(text: str) -> str:
    """Answer text for a Markdown view with any HTML in it made harmless (nh3: scripts, event
    handlers, iframes and javascript: links go; plain text and Markdown stay as they are).
    Answers quote users' own documents, so this runs on the server, not only in the browser."""
    cleaned = nh3.clean(text, tags=SAFE_TAGS, url_schemes={"http", "https", "mailto"})
    return _UNSAFE_MD_LINK.sub(r"\1", cleaned)  # [text](javascript:...) keeps only the text


# A Markdown link whose target is not web or mail (javascript:, data:, ...).
_UNSAFE_MD_LINK = re.compile(r"\[([^\]]*)\]\(\s*(?!https?:|mailto:)[^)]*\)", re.IGNORECASE)


# What a Markdown renderer itself produces; anything else in a document is dropped.
SAFE_TAGS = {"a", "b", "strong", "i", "em", "code", "pre", "p", "br", "ul", "ol", "li", "q"}
