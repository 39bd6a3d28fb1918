"""Assistant stage: resolve follow-ups ("any of those open source?") against earlier turns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.query import MAX_REFERRING_WORDS, ParsedMessage, Request


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
    def context(self) -> Turn | None:
        """The turn a follow-up refers to: the latest one that was not small talk ("thanks!"
        between an answer and "any of those free?" must not break the thread)."""
        return next((t for t in reversed(self.turns) if t.intent != "smalltalk"), None)


_BOTH = re.compile(r"\bboth\b")
_COMPARING = re.compile(r"\b(?:compare[sd]?|different|differ|difference|versus|vs\.?|unlike)\b")


def _as_tuple(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _carried(parsed: ParsedMessage, used: Mapping[str, object]) -> dict[str, Any]:
    """The constraints a follow-up keeps from the last turn unless it states its own. A yes/no
    question's words ("is it free?") asked about a fact; they were no constraint to keep."""
    kept = {} if used.get("judged") else used
    return {
        "free_only": parsed.free_only or bool(kept.get("free_only")),
        "open_source": parsed.open_source or bool(kept.get("open_source")),
        "level": parsed.level or (str(kept["level"]) if kept.get("level") else None),
        # "Not too mathematical" still holds for "any courses?" after it, unless the new
        # message asks for that subject itself.
        "avoided_topics": tuple(
            t
            for t in dict.fromkeys((*parsed.avoided_topics, *_as_tuple(used.get("avoided_topics"))))
            if t not in parsed.topics
        ),
    }


def _picked(parsed: ParsedMessage, previous: Turn | None) -> str:
    """The resource an ordinal ("the second one") points at in the last answer, if any."""
    if parsed.ordinal is None or previous is None or not previous.resource_ids:
        return ""
    index = parsed.ordinal - 1 if parsed.ordinal > 0 else len(previous.resource_ids) - 1
    return previous.resource_ids[index] if index < len(previous.resource_ids) else ""


def _on_topic(intent: str) -> str:
    """A follow-up that keeps the last answer's topic asks about that topic: read alone,
    "something more beginner friendly?" sounds like "where do I start?" (a learning path), but
    after an answer on feature stores it asks for easier feature-store resources."""
    return "recommend" if intent == "learning_path" else intent


def resolve(parsed: ParsedMessage, previous: Turn | None) -> tuple[Request, str]:
    """Combine a message with the previous turn; returns the request and its topic text.

    - "any of those open source?", "which are free?": restrict to the last answer's resources,
      add the constraint; "which one is best for LLMs?" ranks them by the new words too.
    - "and for model serving?": new topic, keep the last turn's kind and cost constraints.
    - "a course on the same topic?", "something more beginner friendly?": keep the last topic,
      take the new kind or level.
    - "show me more": the last request again, without what was already shown.
    - "tell me about the second one", "is the first one free?", and "how do I get started with
      it?" after an answer about one resource: that resource; "anything similar to the second
      one?" or "something like Feast": more like that resource.
    - "which tools implement it?", "any papers on it?": the last subject, with the glossary
      concepts the last answer was on (`about`) when no catalog topic names them.
    - "anything free instead?": others on the last subject, without those shown.
    A message with its own topic and none of these cues starts afresh.
    """
    own_topic = " ".join(parsed.topic_words)
    if parsed.intent == "smalltalk":
        return Request.of(parsed), ""
    picked = _picked(parsed, previous)
    # "anything similar?" right after an answer about one resource means similar to that one.
    single = previous.resource_ids[0] if previous and len(previous.resource_ids) == 1 else ""
    # After an answer about one resource (not a definition), "is there a course on it?" and
    # "anything shorter?" ask for that format or change on its subject: more like it.
    defined = bool(previous and previous.query_used.get("concepts"))
    changes_it = bool(
        parsed.kinds or parsed.comparative or (parsed.same_topic and not parsed.refers)
    ) and not (parsed.topics or parsed.mentioned or defined)
    if single and changes_it and not parsed.similar and not picked:
        parsed = replace(parsed, similar=True)
    if parsed.similar and (picked or len(parsed.mentioned) == 1 or (single and not parsed.topics)):
        like = picked or (parsed.mentioned[0] if parsed.mentioned else single)
        carried = _carried(parsed, previous.query_used if previous else {})
        similar = Request.of(
            parsed,
            similar_to=like,
            follow_up="similar",
            intent="recommend",  # "what else is like it?" asks for resources, not a definition
            mentioned=(),
            free_only=carried["free_only"],
            open_source=carried["open_source"],
        )
        return similar, own_topic
    if previous is None or previous.intent == "out_of_scope":
        if _points_back(parsed):
            # "Tell me more about the second one" with no list before it: said, not guessed
            # (a learning path was given, which the words never asked for).
            return Request.of(parsed, intent="smalltalk", smalltalk="no-context"), ""
        return Request.of(parsed), own_topic or parsed.text
    used = previous.query_used
    last_topics = _as_tuple(used.get("topics"))
    # The glossary concepts the last answer was on stay the subject of a follow-up that names
    # no topic of its own ("what is quantization?", then "any papers on it?").
    last_concepts = _as_tuple(used.get("concepts") or used.get("about"))
    about = () if parsed.topics else last_concepts
    # One resource of the last answer keeps the conversation's subject for the turns after it.
    kept_subject = {
        "topics": parsed.topics or last_topics,
        "compound_topics": _compounds(parsed, used),
        "about": about,
    }
    if parsed.refers and single and not (parsed.kinds or about):
        # "How do I get started with it?" after an answer about Feast alone: Feast.
        single_one = Request.of(
            parsed,
            restrict_to=(single,),
            follow_up="narrow",
            intent=_on_topic(parsed.intent),
            **kept_subject,
        )
        return single_one, previous.topic_text
    if picked:
        one = Request.of(parsed, restrict_to=(picked,), follow_up="narrow", **kept_subject)
        return one, previous.topic_text
    if parsed.instead and previous.resource_ids and not (parsed.mentioned or own_topic):
        # "Anything free instead?": others on the same subject, not those just shown.
        shown = (*_as_tuple(used.get("exclude")), *previous.resource_ids)
        other = Request.of(
            parsed,
            follow_up="same-topic",
            intent=_on_topic(parsed.intent),
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            **kept_subject,
            **_carried(parsed, used),
            exclude=tuple(dict.fromkeys(shown)),
        )
        return other, previous.topic_text
    if parsed.more and not (parsed.mentioned or own_topic):
        shown = (*_as_tuple(used.get("exclude")), *previous.resource_ids)
        again = Request.of(
            parsed,
            follow_up="more",
            intent=_on_topic(previous.intent),
            topics=parsed.topics or last_topics,
            compound_topics=_compounds(parsed, used),
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            similar_to=str(used.get("similar_to") or ""),
            **_carried(parsed, used),
            exclude=tuple(dict.fromkeys(shown)),
            about=about,
        )
        return again, previous.topic_text
    # A bare constraint ("which are free?", "only open source") narrows the last answer too. A
    # bare level ("something easier?") asks for other resources on the topic, so it searches it.
    constraint_only = not (own_topic or parsed.kinds or parsed.same_topic) and bool(
        parsed.free_only or parsed.open_source
    )
    level_only = not (own_topic or parsed.kinds or parsed.anaphoric) and bool(parsed.level)
    if (parsed.anaphoric and not parsed.mentioned) or constraint_only:
        carried = _carried(parsed, used)
        # "Which book covers both?" after two concepts were set side by side.
        both = _as_tuple(used.get("concepts")) if _BOTH.search(parsed.text) else ()
        narrowed = Request.of(
            parsed,
            restrict_to=previous.resource_ids,
            follow_up="narrow",
            intent=_on_topic(parsed.intent),
            topics=parsed.topics or last_topics,
            compound_topics=_compounds(parsed, used),
            # "Books on X" then "any of those free?": if none is, the search widens to free
            # books on X, not to anything free on X.
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            free_only=carried["free_only"],
            open_source=carried["open_source"],
            both_of=both if len(both) >= 2 else (),
            about=about,
        )
        # The last answer's items already carry its topic; new words ("which one is best for
        # LLMs?") are what to rank them by, and joined to the old topic they would be diluted.
        return narrowed, own_topic or previous.topic_text
    if previous.intent == "learning_path" and _reshapes_path(parsed, own_topic):
        # "Something shorter?", "any free ones to start?", "only courses" after a learning
        # path: the path again, for the same role, changed as asked; the path had no topic of
        # its own to search ("fundamentals" is where paths start, not a subject).
        role = parsed.role or (str(used["role"]) if used.get("role") else None)
        path = Request.of(
            parsed,
            intent="learning_path",
            role=role,
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            **_carried(parsed, used),
        )
        return path, previous.topic_text
    if (parsed.same_topic or not own_topic) and (parsed.kinds or parsed.same_topic or level_only):
        kept = Request.of(
            parsed,
            follow_up="same-topic",
            intent=_on_topic(parsed.intent),
            topics=parsed.topics or last_topics,
            compound_topics=_compounds(parsed, used),
            kinds=parsed.kinds or (_as_tuple(used.get("kinds")) if level_only else ()),
            **_carried(parsed, used),
            about=about,
        )
        # "Anything more hands-on?": the topic again, searched with the respect that changed.
        changed = own_topic if parsed.comparative else ""
        return kept, f"{previous.topic_text} {changed}".strip()
    if parsed.topic_swap and own_topic:
        swapped = Request.of(
            parsed,
            follow_up="topic-swap",
            kinds=parsed.kinds or _as_tuple(used.get("kinds")),
            intent=parsed.intent if parsed.intent != "recommend" else previous.intent,
            **_carried(parsed, used),
        )
        return swapped, own_topic
    # "How does it compare to a data warehouse?", "why does it matter for latency?" after a
    # definition: about that concept (beside the one the message names, for a comparison).
    concept_asked = parsed.pronoun and parsed.intent in ("explain", "compare")
    carried_about = last_concepts if concept_asked else ()
    compares = bool(carried_about) and bool(_COMPARING.search(parsed.text))
    intent = "compare" if compares else parsed.intent
    return Request.of(parsed, about=carried_about, intent=intent), own_topic or parsed.text


def _points_back(parsed: ParsedMessage) -> bool:
    """Whether a message only makes sense after an answer: it points at what was listed ("the
    second one", "any of those", "is it free?", "show me more", "something shorter?") and names
    no subject or resource of its own."""
    own = bool(parsed.topics or parsed.mentioned or parsed.authors or parsed.smalltalk)
    # "I'm a data engineer and our ML team wants me to support them": who is asking, or words
    # enough to say what about, is a question of its own whatever "them" points at.
    own = own or bool(parsed.role) or len(parsed.topic_words) > MAX_REFERRING_WORDS
    back = parsed.ordinal is not None or parsed.anaphoric or parsed.more or parsed.refers
    back = back or parsed.judged or parsed.same_topic or parsed.comparative
    return back and not own


def _reshapes_path(parsed: ParsedMessage, own_topic: str) -> bool:
    """Whether a follow-up changes a learning path in a respect the path takes (a kind, "shorter",
    a level, cost) without naming a subject or pointing at what was listed ("any of those ...")."""
    changes = bool(parsed.kinds or parsed.level or parsed.free_only or parsed.open_source)
    # "Something shorter?" reads as a kind (SHORTER_KINDS), "more hands-on" as words: the path
    # takes the first and not the second.
    subject = bool(own_topic) and not (parsed.comparative and parsed.kinds)
    return changes and not (subject or parsed.topics or parsed.mentioned or parsed.anaphoric)


def _compounds(parsed: ParsedMessage, used: Mapping[str, object]) -> tuple[tuple[str, ...], ...]:
    """The subjects named as one ("LLM serving") that a follow-up keeps with the last topics."""
    if parsed.topics:
        return parsed.compound_topics
    groups = used.get("compound_topics")
    return tuple(_as_tuple(g) for g in groups) if isinstance(groups, list | tuple) else ()
