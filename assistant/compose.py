"""Assistant stage: compose a grounded answer from evidence, with numbered citations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.hybrid import Hit
from assistant.personalize import ROLE_LABELS, Personalized
from assistant.profiles import Profile
from assistant.query import ParsedQuery
from assistant.ranking import open_source_applies
from ingest.catalog import Resource

COVERED = (
    "books, courses, papers, repositories, blogs, tools, communities and conferences on ML "
    "system design: feature stores, model serving, monitoring and drift, experiment tracking, "
    "orchestration, MLOps, distributed systems, LLM serving, technical debt, reliability and "
    "interview preparation"
)


@dataclass(frozen=True)
class Citation:
    """A numbered pointer to the source passage an answer relies on."""

    number: int
    chunk_id: str
    source_title: str
    origin: str
    heading: str
    snippet: str


@dataclass(frozen=True)
class Recommendation:
    """One resource in an answer, with why it fits and the citation that backs it."""

    resource: Resource
    score: float
    reason: str
    citation: int | None
    snippet: str


@dataclass
class Answer:
    """A complete answer: text, the resources it names, citations and what was understood."""

    text: str
    intent: str
    items: list[Recommendation]
    citations: list[Citation]
    query_used: dict[str, object]
    session_id: str | None = None
    generator: str = "composer"
    notes: list[str] = field(default_factory=list)


def _topic_phrase(topics: tuple[str, ...]) -> str:
    return ", ".join(t.replace("-", " ") for t in topics)


def reason_for(resource: Resource, parsed: ParsedQuery) -> str:
    """One line on why this resource fits this question (and person)."""
    parts: list[str] = []
    label = f"{resource.level} {resource.kind}"
    if resource.open_source:
        label = f"open-source {label}"
    if resource.cost == "free":
        label = f"free {label}"
    parts.append(label[0].upper() + label[1:])
    shared = [t for t in resource.topics if t in parsed.topics]
    if shared:
        parts.append(f"covers {_topic_phrase(tuple(shared))}")
    matched_authors = [a for a in resource.authors if a in parsed.authors]
    if matched_authors:
        parts.append(f"by {', '.join(matched_authors)}")
    if parsed.role and parsed.role in resource.audience:
        parts.append(f"suits {ROLE_LABELS.get(parsed.role, parsed.role)}")
    # Kept as written: a label may start with a name or an acronym ("SREs", "PyTorch", "Python").
    return f"{'; '.join(parts)}. Best for: {resource.best_for.rstrip('.')}."


class Composer:
    """Writes answers from hits by rule; never names anything outside the catalog."""

    def __init__(self, titles: Mapping[str, str] | None = None) -> None:
        self.titles = dict(titles or {})  # resource id -> title, for "like *X*" headers

    def compose(
        self,
        parsed: ParsedQuery,
        hits: list[Hit],
        topic_text: str,
        personal: Personalized | None = None,
    ) -> Answer:
        """The answer for this intent, citing the passage behind each resource."""
        if parsed.intent == "out_of_scope":
            return self.not_covered(parsed)
        if parsed.intent == "smalltalk":
            return self.smalltalk(parsed)
        if not hits:
            return self.nothing_fits(parsed, topic_text)
        citations: list[Citation] = []
        by_evidence: dict[tuple[str, str], int] = {}
        items: list[Recommendation] = []
        for hit in hits:
            number = None
            if hit.evidence is not None:
                # One citation per passage and snippet: two rows of one table cite separately.
                key = (hit.evidence.id, hit.snippet)
                if key not in by_evidence:
                    by_evidence[key] = len(citations) + 1
                    citations.append(
                        Citation(
                            number=len(citations) + 1,
                            chunk_id=hit.evidence.id,
                            source_title=hit.evidence.source_title,
                            origin=hit.evidence.origin,
                            heading=hit.evidence.heading,
                            snippet=hit.snippet,
                        )
                    )
                number = by_evidence[key]
            reason = reason_for(hit.resource, parsed)
            note = personal.notes.get(hit.resource.id) if personal else None
            if note:
                reason = f"{reason} For you: {note}."
            items.append(
                Recommendation(
                    resource=hit.resource,
                    score=round(hit.score, 4),
                    reason=reason,
                    citation=number,
                    snippet=hit.snippet,
                )
            )
        text = self._text(parsed, items, citations, topic_text, personal)
        used = parsed.to_dict() | {"topic_text": topic_text}
        if personal is not None and personal.profile is not None:
            used["profile"] = personal.profile.model_dump(mode="json", exclude_defaults=True)
        return Answer(text=text, intent=parsed.intent, items=items, citations=citations,
                      query_used=used)  # fmt: skip

    def not_covered(self, parsed: ParsedQuery) -> Answer:
        """The honest answer for a question the corpus does not cover."""
        text = (
            "That isn't covered here. I can only recommend from a curated catalog of "
            f'{COVERED}.\n\nTry, for example: "what should I read for feature stores?", '
            '"I\'m an SRE, where do I start?" or "a free course on MLOps".'
        )
        used = parsed.to_dict() | {"intent": "out_of_scope"}
        return Answer(text=text, intent="out_of_scope", items=[], citations=[], query_used=used)

    def smalltalk(self, parsed: ParsedQuery) -> Answer:
        """A short reply to a greeting, thanks or goodbye (no resources, no citations)."""
        replies = {
            "greeting": "Hi! I recommend books, courses, papers, tools and communities for "
            "learning ML system design, each with why it fits and where it was found.",
            "thanks": 'Glad it helps. Ask a follow-up ("any of those free?", "show me more", '
            '"something like the second one?") or a new question any time.',
            "goodbye": "Good luck with your learning. Your conversation is saved if you come back.",
        }
        text = replies.get(parsed.smalltalk, replies["greeting"])
        if parsed.smalltalk == "greeting":
            text += (
                ' Try "what should I read for feature stores?", "I\'m an SRE, where do I start?" '
                'or "a free course on MLOps".'
            )
        return Answer(text=text, intent="smalltalk", items=[], citations=[],
                      query_used=parsed.to_dict())  # fmt: skip

    def nothing_fits(self, parsed: ParsedQuery, topic_text: str) -> Answer:
        """The answer when the topic is covered but nothing meets every stated constraint."""
        asked = [f"{' or '.join(parsed.kinds)}" if parsed.kinds else ""]
        asked += ["free" if parsed.free_only else ""]
        asked += ["open source" if open_source_applies(parsed) else ""]
        asked += [f"among the {len(parsed.restrict_to)} from before" if parsed.restrict_to else ""]
        wanted = ", ".join(a for a in asked if a) or "those constraints"
        about = _topic_phrase(parsed.topics) or topic_text
        if parsed.follow_up == "more":
            text = (
                f"That was everything on {about} that fits ({wanted}): the catalog has no more. "
                "Try another kind, or a related topic."
            )
        else:
            text = (
                f"Nothing in the catalog on {about} meets all of: {wanted}. "
                "Try dropping one of the constraints (for example the kind, or 'free')."
            )
        return Answer(text=text, intent=parsed.intent, items=[], citations=[],
                      query_used=parsed.to_dict() | {"topic_text": topic_text})  # fmt: skip

    @staticmethod
    def _line(n: int, item: Recommendation) -> str:
        resource = item.resource
        title = f"[{resource.title}]({resource.url})" if resource.url else resource.title
        byline = f" by {', '.join(resource.authors[:3])}" if resource.authors else ""
        cite = f" [{item.citation}]" if item.citation else ""
        return f"{n}. **{title}**{byline} ({resource.kind}). {item.reason}{cite}"

    def _text(
        self,
        parsed: ParsedQuery,
        items: list[Recommendation],
        citations: list[Citation],
        topic_text: str,
        personal: Personalized | None = None,
    ) -> str:
        constraints = []
        if parsed.free_only:
            constraints.append("free")
        if open_source_applies(parsed):
            constraints.append("open source")
        if parsed.level:
            constraints.append(parsed.level)
        kinds = " or ".join(f"{k}s" for k in parsed.kinds) or "resources"
        about = _topic_phrase(parsed.topics) or topic_text or parsed.text
        qualifier = f" ({', '.join(constraints)})" if constraints else ""
        lines: list[str]
        if parsed.intent == "compare" and len(items) >= 2:
            lines = ["Here is how they compare, from the catalog and the sources:", ""]
            for n, item in enumerate(items[:4], start=1):
                r = item.resource
                cite = f" [{item.citation}]" if item.citation else ""
                lines.append(f"{n}. **{r.title}** ({r.level} {r.kind}): {r.summary.strip()}{cite}")
                lines.append(f"   Choose it if: {r.best_for.strip()}")
        elif parsed.intent == "learning_path":
            who = describe(personal.profile) if personal and personal.profile else ""
            lead = f"A learning path for you ({who})" if who else "A learning path"
            lines = [f"{lead}, foundations first:", ""]
            lines += [self._line(n, item) for n, item in enumerate(items, start=1)]
        elif parsed.intent == "explain":
            lines = [f"What the sources say about {about}:", ""]
            for citation in citations[:3]:
                lines.append(f"- {citation.snippet} [{citation.number}]")
            lines += ["", "To go deeper:"]
            lines += [self._line(n, item) for n, item in enumerate(items, start=1)]
        else:
            if parsed.restrict_to:
                lead = f"Of those, these fit{qualifier}:"
            elif parsed.similar_to:
                like = self.titles.get(parsed.similar_to, parsed.similar_to)
                lead = f"{len(items)} {kinds}{qualifier} like *{like}*:"
            elif parsed.follow_up == "more":
                lead = f"{len(items)} more {kinds}{qualifier} for {about}:"
            else:
                lead = f"Here are {len(items)} {kinds}{qualifier} for {about}:"
            lines = [lead, ""] + [self._line(n, item) for n, item in enumerate(items, start=1)]
        if personal is not None and personal.skipped_read:
            titles = " and ".join(f"*{title}*" for title in personal.skipped_titles)
            them = "them" if len(personal.skipped_titles) > 1 else "it"
            lines[0] = f"Since you've read {titles}, I left {them} out. {lines[0]}"
        lines += ["", "Sources:"]
        for c in citations:
            where = f"{c.source_title}, \u201c{c.heading}\u201d" if c.heading else c.source_title
            lines.append(f"[{c.number}] {where}: {c.snippet}")
        return "\n".join(lines)


def describe(profile: Profile) -> str:
    """A profile in a few words: "beginner · data scientists · goals: fundamentals · free only"."""
    parts: list[str] = []
    if profile.level:
        parts.append(profile.level)
    if profile.role:
        parts.append(f"for {ROLE_LABELS.get(profile.role, profile.role)}")
    if profile.goals:
        parts.append(f"goals: {', '.join(profile.goals)}")
    if profile.formats:
        parts.append(f"prefers {', '.join(f'{k}s' for k in profile.formats)}")
    if profile.budget == "free":
        parts.append("free only")
    return " · ".join(parts)
