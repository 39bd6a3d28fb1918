"""Assistant stage: the constraints a message states about the request, with negation scope.

A constraint comes from a phrase about the request ("a free course", "budget: free", "no paid"),
and a negation governs the few words after it, the way NegEx reads clinical notes (Chapman et al.
2001): a trigger ("not", "doesn't have to be", "I don't want") opens a window of up to
`SCOPE_WORDS` words that ends early at a clause boundary (a comma, "but", "want"); a cue inside
the window is negated. Pseudo-triggers ("not only", "no doubt") negate nothing, and "allow"
triggers ("paid is fine", "I don't mind paying") lift a constraint instead of setting it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ingest.vocabulary import KIND_WORDS, LEVEL_WORDS, LEVELS, UNLISTED_KINDS

Polarity = Literal["affirmed", "negated", "allowed"]

# NegEx's default window is five words; a request's clauses are short, so the same serves here.
SCOPE_WORDS = 5

_PSEUDO = r"not only|not just|no doubt|not sure|no matter|nothing but|no-?brainer"
_NEGATION = (
    r"(?:do|does|did)(?: not|n'?t) (?:want|need|like)|(?:would|'d) rather not|not looking for|"
    r"nothing|not|no|never|none|without|"
    r"(?:do|does|did|is|are|was|were|need|must|should|would|could|ca|wo)n'?t|cannot|"
    r"other than|except|instead of|anything but|rather than|avoid(?:ing)?|skip(?:ping)?|"
    r"no need for|no more|less"
)
_ALLOW = r"(?:do not|don't|dont|wouldn't) mind|happy to|fine with|ok with|okay with|open to"
_ALLOW_AFTER = (
    r"(?:is|are|would be|'s) (?:fine|ok|okay|good|welcome|acceptable|allowed)|"
    r"(?:is|are) fine too|too|as well"
)
# A trigger is a whole word: "no-code tools" and "non-free" are names, not negations.
_TRIGGER = re.compile(
    rf"\b(?:(?P<pseudo>{_PSEUDO})|(?P<allow>{_ALLOW})|(?P<neg>{_NEGATION}))\b(?![-'])"
)
_AFTER = re.compile(rf"^\s*(?:{_ALLOW_AFTER})\b")
# A clause boundary ends a negation's scope: "not a beginner, want a book" negates no book.
_BOUNDARY = re.compile(
    r"[,.;:?!()]|\b(?:but|however|though|although|so|because|and i|i want|i need|i'd like|"
    r"looking for|please|instead|rather|just|only)\b"
)

# Cues: the phrases that state each constraint.
_FREE = re.compile(
    r"(?<!feel )(?<!sugar )(?<!sugar-)(?<!hands-)(?<!lock-)(?<!lock )\bfree\b"
    r"(?![- ](?:time|will|speech|of|to|form|fall|range|text|style|way|ride|throw|hand|lance)\b)"
    r"|\bno[- ]cost\b|\bgratis\b|\bzero budget\b|\bno budget\b|\bno money\b|\bbudget:? ?zero\b"
)
_PAID = re.compile(
    r"\b(?:paid|paying|pay(?: for)?|cost(?:s)? money|(?<!least )(?<!less )expensive|pricey|"
    r"premium)\b"
)
# Asking for what was published lately, which orders what records a year (books and papers)
# newest first. The word must be about resources: before a kind of resource ("recent papers",
# "the newest book"), or closing the message ("anything more recent?"); "the latest feature
# values" asks for no new reading.
_RECENT = re.compile(
    r"\b(?:more recent|most recent|recent(?:ly published)?|newer|newest|latest)"
    r"(?=(?: \w+)? (?:books?|papers?|courses?|blogs?|posts?|articles?|resources?|research|"
    r"publications?|reading|material|stuff|editions?|releases?|ones?|them|those|these)\b|"
    r"\s*[?.!]*\s*$)"
)
_OPEN = re.compile(
    r"\b(?:open[- ]?source[ds]?|oss|foss|self[- ]?host(?:ed|ing|able)?|on[- ]?prem\w*)\b"
)
_LEVEL_EXTRA = {
    "advanced": r"too technical|very technical|highly technical|too hard|too difficult",
    "beginner": r"too basic|too easy|too simple|too shallow",
}

# Words that rule a subject out of the request when they come just before it: "not too
# mathematical", "less theoretical", "without much theory", "no math", "I don't want anything
# too heavy on LLMs", "..., but not deep learning", "anything that isn't about LLMs". Narrower
# than a negation's scope: "I know nothing about feature stores", "no background in deep
# learning", "why is my model not training?" and "avoiding training/serving skew" name what the
# asker wants to learn.
_AVOID = re.compile(
    r"(?:\b(?:less|too|not (?:too|so|very|overly|about|on)|nothing too|without|skip(?:ping)?|"
    r"no|other than|except(?: for)?|anything but|light on|lighter on|not into|"
    r"(?:is|are|was|were)(?: not|n'?t) (?:about|on)|"
    r"not looking for|(?:do|does)(?: not|n'?t) (?:want|need|like|care (?:for|about)))"
    r"|(?:^|[,;(]|\bbut)\s*not)"
    r"(?:\s+(?:the|much|any|anything|something|stuff|too|so|very|heavy|hardcore|deep|a lot of|"
    r"on|about|with|of|pure|more|heavily))*\s+$"
)

# The same, said after the subject: "theory is not what I want", "LLMs aren't my thing",
# "maths isn't my strong suit". A statement about the subject's state ("the model is not
# training", "features are not available") says nothing of what to read, so only these do.
_AVOID_AFTER = re.compile(
    r"(?:\s+(?:stuff|material|content|topics?|heavy|books?|papers?))*\s*"
    # "theory's" is one token, so its "'s" may come before the match.
    r"(?:,\s*)?(?:(?:is|are|'s|'re)(?: not|n'?t)|(?<='s) not|(?<='re) not) "
    r"(?:really |quite |exactly |at all )?"
    r"(?:what (?:i|we)(?:'m| am|'re| are)? ?(?:want|need|after|looking for|interested in)\w*"
    r"(?! (?:it|them|to)\b)|"  # "our data is not what we need it to be" is a state
    r"(?:my|our) (?:thing|strong suit|strength|focus|interest|cup of tea)|"
    r"for (?:me|us)|(?:of )?interest(?: to (?:me|us))?|needed|necessary|wanted|a priority)"
)


@dataclass(frozen=True)
class Cue:
    """One constraint phrase found in a message, and whether it is asserted or negated."""

    what: str  # "free", "paid", "open_source", "kind:book", "level:beginner"
    start: int
    end: int
    polarity: Polarity


@dataclass(frozen=True)
class Constraints:
    """What the message asks of the resources (and what it rules out)."""

    kinds: tuple[str, ...] = ()
    excluded_kinds: tuple[str, ...] = ()
    free_only: bool = False
    open_source: bool = False
    level: str | None = None
    unlisted_kinds: tuple[str, ...] = ()  # asked-for formats the catalog has no kind for
    recent: bool = False  # newest first


def _scopes(text: str) -> list[tuple[int, int, Polarity]]:
    """The spans each negation or allow trigger governs: up to SCOPE_WORDS words, to a boundary."""
    scopes: list[tuple[int, int, Polarity]] = []
    for trigger in _TRIGGER.finditer(text):
        if trigger.group("pseudo"):
            continue
        polarity: Polarity = "allowed" if trigger.group("allow") else "negated"
        rest = text[trigger.end() :]
        words = list(re.finditer(r"\S+", rest))[:SCOPE_WORDS]
        end = trigger.end() + (words[-1].end() if words else 0)
        boundary = _BOUNDARY.search(rest)
        if boundary is not None:
            end = min(end, trigger.end() + boundary.start())
        scopes.append((trigger.end(), end, polarity))
    return scopes


def _polarity(start: int, end: int, text: str, scopes: list[tuple[int, int, Polarity]]) -> Polarity:
    if _AFTER.match(text[end:]):  # "paid is fine", "books are fine too"
        return "allowed"
    # The nearest trigger before the cue decides: "not free but no paid" reads each on its own.
    governing = [s for s in scopes if s[0] <= start and end <= s[1]]
    return governing[-1][2] if governing else "affirmed"


def find_cues(text: str, covered: Iterable[tuple[int, int]] = ()) -> list[Cue]:
    """Every constraint phrase in a lower-cased message with its polarity.

    `covered` are spans of longer terms (topic phrases such as "class imbalance" or "software
    engineering") in which a kind word is part of a name, not a request for that kind.
    """
    spans = list(covered)
    scopes = _scopes(text)
    found: list[Cue] = []

    def add(what: str, match: re.Match[str]) -> None:
        start, end = match.span()
        found.append(Cue(what, start, end, _polarity(start, end, text, scopes)))

    for match in _FREE.finditer(text):
        add("free", match)
    for match in _PAID.finditer(text):
        add("paid", match)
    for match in _OPEN.finditer(text):
        add("open_source", match)
    for match in _RECENT.finditer(text):
        add("recent", match)
    for kind, pattern in KIND_WORDS.items():
        for match in re.finditer(rf"\b(?:{pattern})\b", text):
            if not any(a <= match.start() and match.end() <= b for a, b in spans):
                add(f"kind:{kind}", match)
    for kind, pattern in UNLISTED_KINDS.items():
        for match in re.finditer(rf"\b(?:{pattern})\b", text):
            add(f"unlisted:{kind}", match)
    for level, pattern in LEVEL_WORDS.items():
        extra = _LEVEL_EXTRA.get(level)
        for match in re.finditer(rf"\b(?:{pattern}{'|' + extra if extra else ''})\b", text):
            add(f"level:{level}", match)
    return sorted(found, key=lambda cue: cue.start)


def _flipped(level: str) -> str | None:
    """The level a negated one points to: "not a beginner" reads as advanced, "nothing too
    advanced" as beginner; "not intermediate" says nothing usable."""
    if level == LEVELS[0]:
        return LEVELS[-1]
    if level == LEVELS[-1]:
        return LEVELS[0]
    return None


def read_constraints(cues: list[Cue]) -> Constraints:
    """Turn cues into constraints: negation drops or flips, "allowed" lifts."""

    def has(what: str, polarity: Polarity) -> bool:
        return any(c.what == what and c.polarity == polarity for c in cues)

    free_only = (has("free", "affirmed") or has("paid", "negated")) and not (
        has("free", "negated") or has("paid", "allowed") or has("paid", "affirmed")
    )
    open_source = has("open_source", "affirmed") and not has("open_source", "negated")
    kind_cues = [c for c in cues if c.what.startswith("kind:")]
    excluded = tuple(dict.fromkeys(c.what[5:] for c in kind_cues if c.polarity == "negated"))
    kinds = tuple(
        dict.fromkeys(
            c.what[5:] for c in kind_cues if c.polarity != "negated" and c.what[5:] not in excluded
        )
    )
    level_cues = [c for c in cues if c.what.startswith("level:")]
    level = next((c.what[6:] for c in level_cues if c.polarity != "negated"), None)
    if level is None:
        level = next((_flipped(c.what[6:]) for c in level_cues if c.polarity == "negated"), None)
    unlisted = tuple(
        dict.fromkeys(
            c.what[9:] for c in cues if c.what.startswith("unlisted:") and c.polarity != "negated"
        )
    )
    recent = has("recent", "affirmed")
    return Constraints(kinds, excluded, free_only, open_source, level, unlisted, recent)


def ruled_out(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of a lower-cased message that rules out what it names at `start:end`, with
    the words that rule it out before it ("not too mathematical", "less theoretical") or after
    it ("theory is not what I want"), or None if none do."""
    before = _AVOID.search(text, 0, start)
    if before:
        return before.start(), end
    after = _AVOID_AFTER.match(text, end)
    # "our data quality isn't a priority" says how things stand, not what to read.
    owned = re.search(r"\b(?:my|our|your|their|its)\s+$", text[:start])
    return (start, after.end()) if after and not owned else None
