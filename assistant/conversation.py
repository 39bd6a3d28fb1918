"""Assistant stage: resolve follow-ups ("any of those open source?") against earlier turns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assistant.query import ParsedQuery


@dataclass(frozen=True)
class Turn:
    """One stored exchange: what was asked, what was understood, what was recommended."""

    message: str
    query_used: dict[str, object]
    resource_ids: tuple[str, ...]
    answer: str
    intent: str = "recommend"
    topic_text: str = ""  # the topic the turn was about, for "same topic" follow-ups


@dataclass
class Session:
    """A conversation: its id, owner and turns so far."""

    id: str
    user_id: str | None = None
    turns: list[Turn] = field(default_factory=list)

    @property
    def last(self) -> Turn | None:
        """The most recent turn, if any."""
        return self.turns[-1] if self.turns else None


def _as_tuple(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def resolve(parsed: ParsedQuery, previous: Turn | None) -> tuple[ParsedQuery, str]:
    """Combine a message with the previous turn; returns the query and its topic text.

    - "any of those open source?", "which are free?": restrict to the last answer's resources,
      add the constraint; "which one is best for LLMs?" ranks them by the new words too.
    - "and for model serving?": new topic, keep the last turn's kind and cost constraints.
    - "a course on the same topic?": keep the last topic, take the new kind.
    A message with its own topic and none of these cues starts afresh.
    """
    own_topic = " ".join(parsed.topic_words)
    if previous is None or previous.intent == "out_of_scope":
        return parsed, own_topic or parsed.text
    used = previous.query_used
    last_topics = _as_tuple(used.get("topics"))
    # A bare constraint ("which are free?", "only open source") narrows the last answer too.
    constraint_only = not (own_topic or parsed.kinds or parsed.same_topic) and bool(
        parsed.free_only or parsed.open_source or parsed.level
    )
    if (parsed.anaphoric and not parsed.mentioned) or constraint_only:
        narrowed = replace(
            parsed,
            restrict_to=previous.resource_ids,
            follow_up="narrow",
            topics=parsed.topics or last_topics,
            kinds=parsed.kinds,
            free_only=parsed.free_only or bool(used.get("free_only")),
            open_source=parsed.open_source or bool(used.get("open_source")),
        )
        return narrowed, f"{previous.topic_text} {own_topic}".strip()
    if (parsed.same_topic or not own_topic) and (parsed.kinds or parsed.same_topic):
        kept = replace(
            parsed,
            follow_up="same-topic",
            topics=parsed.topics or last_topics,
            free_only=parsed.free_only or bool(used.get("free_only")),
            open_source=parsed.open_source or bool(used.get("open_source")),
            level=parsed.level or (str(used["level"]) if used.get("level") else None),
        )
        return kept, previous.topic_text
    if parsed.topic_swap and own_topic:
        swapped = replace(
            parsed,
            follow_up="topic-swap",
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            free_only=parsed.free_only or bool(used.get("free_only")),
            open_source=parsed.open_source or bool(used.get("open_source")),
            level=parsed.level or (str(used["level"]) if used.get("level") else None),
            intent=parsed.intent if parsed.intent != "recommend" else previous.intent,
        )
        return swapped, own_topic
    return parsed, own_topic or parsed.text
