"""Assistant stage: compose a grounded answer from evidence, with numbered citations."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from assistant.concepts import ConceptIndex
from assistant.hybrid import DOCUMENT, Hit
from assistant.keyword import english_stemmer
from assistant.personalize import ROLE_LABELS, Personalized
from assistant.profiles import Profile
from assistant.query import AFTER_READING, BY_LENGTH, ParsedQuery
from assistant.ranking import open_source_applies
from ingest.catalog import LEVELS, Resource, Source
from ingest.concepts import Concept
from ingest.vocabulary import level_gap, topic_label

COVERED = (
    "books, courses, papers, repositories, blogs, tools, communities and conferences on ML "
    "system design: feature stores, model serving, monitoring and drift, experiment tracking, "
    "orchestration, MLOps, distributed systems, LLM serving, technical debt, reliability and "
    "interview preparation"
)

# A resource scoring below this share of the answer's best score is padding, not an answer.
# Measured on the dev split (top 10 of `search` for each dev query, the best item left out):
# at 0.5 the floor keeps 96.7% of labelled-relevant items and drops 37.8% of unlabelled ones;
# at 0.6 it would drop 10% of relevant ones.
RELEVANCE_FLOOR = 0.5
# The higher share a resource needs when it shares none of the topics the question asks about
# (and was not named, is not by a named author and is not the user's own document): off-topic
# filler is what makes a list look full. Chosen with `python -m evals.relevance_floor` on the dev
# ranker table, out-of-fold scores (5 grouped folds, top 10 per question asking for topics): at
# 0.8, 87.3% of labelled-relevant items are kept and 47.0% of unlabelled ones dropped, against
# 88.6% and 40.3% with the 0.5 floor alone; 0.7 keeps no more relevant ones and drops fewer
# (45.6%); 0.9 loses another 1.2 points of relevant ones.
OFF_TOPIC_FLOOR = 0.8
# Candidates fetched per answer slot, so the floor and the study order pick from more than k.
CANDIDATES_PER_SLOT = 2

# Purpose groups, in study order: reading first, then hands-on, then people.
START, DEEPER, HANDS_ON, JOIN = "Start here", "Go deeper", "Try hands-on", "Join"
# Off the question's topics but close enough to show: listed last, under their own header, and
# not counted as being "on" the topic.
RELATED = "Related"
GROUPS = (START, DEEPER, HANDS_ON, JOIN, RELATED)
READING_KINDS = ("book", "course", "paper", "blog", "newsletter", "platform")
# Asking for something to read or learn from, where reading comes first and one tool at most:
# "what should I read", "where do I start with X", "I'm new to X", "I want to learn X".
_READ = re.compile(
    r"\b(read|reading|learn|study|studying|new to|getting started|get started|get into|"
    r"getting into|(where|how) (do|should|can) i (start|begin))\b"
)
# A yes/no question about one named resource ("is Made With ML good for beginners?", "should I
# read DDIA?"): answered with what the catalog knows of it (level, best for, caveats, link).
_JUDGED = re.compile(
    r"^(?!is there|are there)(is|are|does|do|would|will|can|should i|is it worth|worth)\b"
)
# "What are the prerequisites for X?", "what should I read before X?", "what should I learn
# before reading X?"
_PREREQUISITE_WORDS = (
    r"prerequisites?|before (?:reading|taking|starting|tackling|diving into)|"
    r"(?:read|learn|study|know|take|do) (?:first )?before"
)
_PREREQUISITE = re.compile(rf"\b(?:{_PREREQUISITE_WORDS})\b")
_DETAIL = re.compile(
    r"\b(tell me (more )?about|more (details?|info\w*) (on|about)|more about|details? (on|about)|"
    r"describe|what is (the )?(second|first|third|fourth|fifth|last) one|"
    # "Explain the first one", "what's the second one about?": one resource of the last answer.
    r"(explain|summari[sz]e) (the )?(second|first|third|fourth|fifth|last)( one)?|"
    r"what(?:'s| is) (the )?(second|first|third|fourth|fifth|last)( one)? about|"
    rf"how long (is|does|will|would)|how many pages|{_PREREQUISITE_WORDS})\b"
)
# "When was X published?", "is X outdated?": asking how old one resource is.
_WHEN = re.compile(
    r"\b(?:when (?:was|did)|what year|how old|outdated|out of date|dated|still (?:relevant|"
    r"current|up to date)|(?:published|written|released) (?:in|when)|come out)\b"
)
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Citation:
    """A numbered pointer to the source passage an answer relies on."""

    number: int
    chunk_id: str
    source_title: str
    origin: str
    heading: str
    snippet: str
    url: str | None = None  # the source page, where the source has one


@dataclass(frozen=True)
class Recommendation:
    """One resource in an answer, with why it fits and the citation that backs it."""

    resource: Resource
    score: float
    reason: str
    citation: int | None
    snippet: str
    group: str = ""  # its purpose in a study order: "Start here", "Go deeper", ...


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
    concepts: list[Concept] = field(default_factory=list)  # what an explain/compare defines
    # Named in the text as where the subject is, in formats not asked for (not list items).
    elsewhere: list[Resource] = field(default_factory=list)
    # Named after a single pick as "Also worth a look" ("the single best book on X").
    also: list[Resource] = field(default_factory=list)
    # The next closest glossary entry, when the question fits it nearly as well as the one
    # defined ("if that is not what you meant: ...").
    maybe: list[Concept] = field(default_factory=list)


def _and(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)


def _topic_phrase(topics: tuple[str, ...]) -> str:
    """'orchestration and data engineering'; 'a, b and c'."""
    return _and([topic_label(t) for t in topics])


# A quoted passage says something when, without the names of what it cites and its links, it
# keeps this many words. On the citations of the dev questions' answers, title and author lines
# ("Data Science from Scratch by Joel Grus.") keep at most 4 and statements ("The foundational
# paper on ML system complexity.") 7 or more.
MIN_SAYING_WORDS = 5
_LINK_TARGET = re.compile(r"\]\([^)]*\)|https?://\S+")
# Asking which of some resources takes least (or most) time to get through.
_LENGTH = re.compile(
    r"\b(?:shortest|longest|quickest|shorter|longer|quicker|thinnest|thickest|how long|"
    r"(?:least|less|most|more) time|(?:fewest|fewer|most|more) pages|"
    r"(?:fastest|quickest|easiest) to (?:read|finish|complete|(?:get|go|work) through))\b"
)
_COST_ORDER = {"free": 0, "freemium": 1, "paid": 2}
# "Why does it matter?", "why should I care about it?"
_WHY = re.compile(r"^(?:so |and |but |ok,? )?why\b")
# Below the floor the glossary may still have an entry the words only faintly reach ("making
# sure the numbers a model sees live match what it saw in training" before retrieval agreed):
# say that none fits closely enough, not that none exists.
_NO_ENTRY = "No glossary entry fits that closely enough to define it"
# "Which is safer?", "which one is more expensive?" after two concepts side by side: a question
# about the two, not about the resources listed under them.
WHICH_OF_TWO = re.compile(
    r"^(?:so |and |but |ok,? )?which(?: one| of (?:them|the two|these|those|both))?"
    r"(?:'s| is| would be) (?:the )?(?P<quality>(?:more |less )?[a-z-]+(?: to [a-z]+)?)\b"
)
_HARD_TO = re.compile(r"\b(?:harder|easier|simpler|more difficult|less difficult) to [a-z]+")
# "How do I prevent it?", "how can we detect that?": asking how to act on the concept the last
# answer defined, which the glossary does not spell out and the resources teach.
_HOW_TO = re.compile(
    r"^(?:so |and |but |ok,? )?how (?:do|can|should|would|could) (?:i|we|you|one|teams?) "
    r"(?P<verb>(?!use\b|get\b)[a-z]+(?: (?:with|against|for|about|up))?) "
    r"(?P<object>it|this|that|them|one)\b"
)
# Study stages in order: learn, then try hands-on, then join.
_STAGE = {START: 0, DEEPER: 0, HANDS_ON: 1, JOIN: 2}
# "Which one should I start with?", "where do I begin among those?"
_START_WITH = re.compile(r"\b(?:start|begin|first)\b")
_LONGEST = re.compile(r"\b(?:longest|longer|thickest|most time|more time|most pages|more pages)\b")

_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+")


def says_something(snippet: str, names: Sequence[str] = (), about: Sequence[str] = ()) -> bool:
    """Whether a passage states something beyond naming resources: not a title line, an author
    list or a table row; and, given the question's words (`about`), says it with one of them
    outside those names ("gradient descent" is not what "The Gradient bridges ..." is about)."""
    if snippet.count("|") >= 2:
        return False
    rest = _LINK_TARGET.sub(" ", snippet).lower()
    for name in sorted(names, key=len, reverse=True):  # whole words: not "The Gradient|s"
        rest = re.sub(rf"(?<!\w){re.escape(name.lower())}(?!\w)", " ", rest)
    words = re.findall(r"[a-z]{2,}", rest)
    if about and not _stems(about) & _stems(words):
        return False
    return len(words) >= MIN_SAYING_WORDS


def _stems(words: Sequence[str]) -> set[str]:
    return set(english_stemmer().stemWords([w.lower() for w in words]))


def plural(kind: str, n: int = 2) -> str:
    """'book' -> 'books', 'community' -> 'communities' (singular for one)."""
    if n == 1:
        return kind
    return f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"


def count(n: int, kind: str) -> str:
    """'1 book', '2 communities', 'one paper' style counts for answer text."""
    return f"{n} {plural(kind, n)}"


def first_sentence(text: str) -> str:
    """The first sentence of a summary (or all of it, if it has one)."""
    match = re.search(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])", text.strip())
    return text.strip()[: match.start()] if match else text.strip()


def purpose(resource: Resource) -> str:
    """Where a resource belongs in a study order."""
    if resource.kind in ("community", "conference"):
        return JOIN
    if resource.kind in ("tool", "repo"):
        return HANDS_ON
    if resource.kind == "paper" or resource.level == "advanced":
        return DEEPER
    return START


def caveats(resource: Resource, sources: Mapping[str, Source]) -> list[str]:
    """What a reader should know before trusting a resource: provenance, vendor, cost."""
    found: list[str] = []
    if getattr(resource, "verified", True) is False:
        found.append("no public record confirms it; treat it as unverified")
    if getattr(resource, "vendor", False):
        found.append("it is a product of the source that recommends it")
    trusted = [sources[s] for s in resource.mentioned_in if s in sources]
    if trusted and all(s.trust == "low" for s in trusted):
        found.append(f"named only on {trusted[0].title}, a low-trust page")
    if resource.cost == "paid":
        found.append("it is paid")
    return found


def reason_for(
    resource: Resource, parsed: ParsedQuery, sources: Mapping[str, Source] | None = None
) -> str:
    """Why this resource fits: what it is (its own summary) and who it is best for."""
    parts = [first_sentence(resource.summary).rstrip(".") + "."]
    matched_authors = [a for a in resource.authors if a in parsed.authors]
    if matched_authors:
        parts.append(f"By {', '.join(matched_authors)}.")
    if parsed.role and parsed.role in resource.audience:
        parts.append(f"Suits {ROLE_LABELS.get(parsed.role, parsed.role)}.")
    # Kept as written: a label may start with a name or an acronym ("SREs", "PyTorch", "Python").
    parts.append(f"Best for: {resource.best_for.rstrip('.')}.")
    caveat = [c for c in caveats(resource, sources or {}) if c != "it is paid"]
    if caveat:
        parts.append(f"Note: {'; '.join(caveat)}.")
    return " ".join(parts)


class Composer:
    """Writes answers from hits by rule; never names anything outside the catalog."""

    def __init__(
        self,
        titles: Mapping[str, str] | None = None,
        concepts: ConceptIndex | None = None,
        sources: Mapping[str, Source] | None = None,
        source_urls: Mapping[str, str] | None = None,
    ) -> None:
        self.titles = dict(titles or {})  # resource id -> title, for "like *X*" headers
        self.concepts = concepts or ConceptIndex({})
        self.sources = dict(sources or {})
        self.source_urls = dict(source_urls or {})  # source title -> its public page

    def compose(
        self,
        parsed: ParsedQuery,
        hits: list[Hit],
        topic_text: str,
        personal: Personalized | None = None,
        limit: int | None = None,
        elsewhere: Sequence[Resource] = (),
    ) -> Answer:
        """The answer for this intent, citing the passage behind each resource.

        `hits` may hold more candidates than `limit`: the relevance floor and the study order
        choose among them. `elsewhere` is what the catalog has on the topics in other kinds
        than those asked for: named when nothing of the asked kind is on the topic.
        """
        if parsed.intent == "out_of_scope":
            return self.not_covered(parsed)
        if parsed.intent == "smalltalk":
            return self.smalltalk(parsed)
        concepts: list[Concept] = []  # "what's MLflow?": MLflow itself, not the nearest concept
        # "Is DDIA better than DMLS?" sets resources side by side, not glossary entries.
        of_resources = self._describes_resource(parsed) or (
            parsed.intent == "compare" and bool(parsed.mentioned)
        )
        if not of_resources or self.concepts.named_in(parsed.original):
            concepts = asked_concepts(self.concepts, parsed)
        if not hits and not concepts:
            return self.nothing_fits(parsed, topic_text, elsewhere)
        profile = personal.profile if personal is not None else None
        subject = subject_concepts(self.concepts, parsed)
        also = _named_in_topic_request(self.concepts, parsed)
        related = _related(parsed, hits, (*concepts, *subject, *also), profile)
        related |= _beside_the_concept(parsed, hits, concepts)
        hits = self._select(parsed, hits, concepts, limit, profile, subject, related, also)
        if not hits and not concepts:  # only off-subject filler was found
            return self.nothing_fits(parsed, topic_text, elsewhere)
        teaching_all = self._teaching_all(parsed.both_of)
        if teaching_all:  # what the glossary says teaches every concept asked about, first
            hits = sorted(hits, key=lambda h: h.resource.id not in teaching_all)
        named_hits = [h for h in hits if h.resource.id in parsed.mentioned]
        if parsed.intent == "compare" and not concepts and len(named_hits) >= 2:
            # "Compare MLflow and W&B": those two first, then only alternatives of their kind
            # and main subject (Prefect beside Airflow and Dagster), not whatever retrieval
            # found beside them (vLLM beside two experiment trackers).
            # (A user's document has no topics: it is never such an alternative.)
            alike = {(h.resource.kind, h.resource.topics[:1]) for h in named_hits}
            hits = named_hits + [
                h for h in hits
                if h not in named_hits and (h.resource.kind, h.resource.topics[:1]) in alike
            ]  # fmt: skip
        runners: list[Hit] = []
        if parsed.one and parsed.intent == "recommend" and not self._is_detail(parsed, concepts):
            # "The single best book on X": the best on the subject, the next two named after it.
            on = [h for h in hits if h.resource.id not in related]
            if on:
                level = parsed.level if parsed.level in LEVELS else None

                def fit(hit: Hit) -> tuple[int, int, bool, float]:
                    """The newest if asked, the level asked, free before free-to-start, then
                    relevance."""
                    year = (hit.resource.year or 0) if parsed.recent else 0
                    gap = level_gap(hit.resource.level, level) if level else 0
                    tier = parsed.free_only and hit.resource.cost != "free"
                    return year, -gap, not tier, hit.score

                # "Which should I start with?": the way in. Something to learn from before
                # something to try or join, then the order they were given in: a list of several
                # kinds was given in study order. One of a single kind was ranked by relevance,
                # so its way in is the lowest level, then the cheapest to try.
                order = {rid: n for n, rid in enumerate(parsed.restrict_to)}
                ranked_list = bool(parsed.kinds)

                def entry(hit: Hit) -> tuple[int, int, int, int]:
                    r = hit.resource
                    stage = _STAGE[purpose(r)] if r.kind != DOCUMENT else 0
                    if not ranked_list:
                        return stage, 0, 0, order.get(r.id, len(order))
                    step = LEVELS.index(r.level) if r.level in LEVELS else len(LEVELS)
                    return stage, step, _COST_ORDER.get(r.cost, 3), order.get(r.id, len(order))

                starting = bool(_START_WITH.search(parsed.text))
                pick = min(on, key=entry) if starting else max(on, key=fit)
                runners = sorted((h for h in hits if h is not pick), key=lambda h: -h.score)[:2]
                hits = [pick]
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
                            url=self.source_urls.get(hit.evidence.source_title),
                        )
                    )
                number = by_evidence[key]
            reason = reason_for(hit.resource, parsed, self.sources)
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
                    group=RELATED if hit.resource.id in related else purpose(hit.resource),
                )
            )
        # Where the subject is, in other formats, is said when nothing of the asked kind is on it.
        pointed = bool(parsed.kinds) and bool(items) and all(i.group == RELATED for i in items)
        shown_elsewhere = list(elsewhere) if pointed else []
        next_best = [h.resource for h in runners]
        maybe = (
            self.concepts.runner_up(parsed.original, concepts[0])
            if len(concepts) == 1 and parsed.intent in ("explain", "compare")
            else None
        )
        text = self._text(
            parsed, items, citations, topic_text, personal, concepts, limit, shown_elsewhere,
            subject, next_best, maybe,
        )  # fmt: skip
        used = parsed.to_dict() | {"topic_text": topic_text}
        intent = parsed.intent
        if concepts:
            used["concepts"] = [c.id for c in concepts]
            # "Should we score customers nightly versus on each request?", read as a request,
            # is answered with two definitions side by side: the answer says what it did.
            if intent == "recommend":
                intent = "compare" if len(concepts) == 2 else "explain"
                used["intent"] = intent
        if personal is not None and personal.profile is not None:
            used["profile"] = personal.profile.model_dump(mode="json", exclude_defaults=True)
        return Answer(text=text, intent=intent, items=items, citations=citations,
                      query_used=used, concepts=concepts, elsewhere=shown_elsewhere,
                      also=next_best, maybe=[maybe] if maybe else [])  # fmt: skip

    # -- choosing what to show --------------------------------------------------------------

    def _select(
        self,
        parsed: ParsedQuery,
        hits: list[Hit],
        concepts: list[Concept],
        limit: int | None,
        profile: Profile | None = None,
        subject: Sequence[Concept] = (),
        related: Collection[str] = (),
        also: Sequence[Concept] = (),
    ) -> list[Hit]:
        """The hits worth showing, in study order: a relevance floor (higher for what is off
        the question's topics and the learner's), reading first for "read" questions, a
        concept's own resources first, never a vendor's product first."""
        if parsed.intent == "learning_path":
            if not parsed.kinds:  # one place to join people is a step; more are a detour
                joins = [h for h in hits if purpose(h.resource) == JOIN]
                hits = [h for h in hits if h not in joins[1:]]
            # A study plan nobody asked a product for is no place for a vendor's own.
            hits = [h for h in hits if not h.resource.vendor or h.resource.id in parsed.mentioned]
            # The path's candidates come in study order (level first): its steps are the
            # strongest of them, kept in that order, not the easiest few.
            strongest = {h.resource.id for h in sorted(hits, key=lambda h: -h.score)[:limit]}
            steps = _path_order([h for h in hits if h.resource.id in strongest])
            if parsed.recent:  # "recent papers on ML systems": what records a year, newest first
                steps.sort(key=lambda h: -(h.resource.year or 0))
            return steps
        if self._is_detail(parsed, concepts):
            named = [h for h in hits if h.resource.id in (*parsed.restrict_to, *parsed.mentioned)]
            return (named or hits)[:1]
        # What the glossary says teaches the concept asked about comes first.
        taught = [rid for c in (concepts or subject) for rid in c.resources]
        # A request on a catalog topic that also names a concept ("what should I read for
        # feature stores?") orders by what teaches it too, without the stricter floor (dev:
        # padding 0.062 -> 0.052, conversations nDCG@10 0.748 -> 0.759, nothing else moved);
        # a learner's profile has ordered their list already (preferred formats first).
        personal_order = profile is not None and not profile.is_empty
        leading = taught or ([] if personal_order else [rid for c in also for rid in c.resources])
        asked = _asked_for(parsed, hits)
        if parsed.authors and any(h.resource.id in asked for h in hits) and not parsed.kinds:
            # "what did D. Sculley write?": their works, not what else matched "production".
            hits = [h for h in hits if h.resource.id in asked]
        keep_all = parsed.restrict_to  # the person picked among the last answer's resources
        top = max((h.score for h in hits), default=0.0)
        # "What is model parallelism?" names no catalog topic: what the glossary says teaches the
        # concept is the subject, as for "papers about model compression".
        subject = subject or ([] if parsed.topics else concepts)
        if subject and not (keep_all or parsed.mentioned):
            # "papers about model compression": what teaches the concept sets the bar; a paper on
            # something else is filler however well it matched the word "papers".
            # The glossary says what teaches it; retrieval's other finds matched the words
            # around it (ISL for "what is a vector database?"), and the ranker scores the
            # teaching ones lowest as often as not, so no share of their score is a bar.
            about = {rid for c in subject for rid in c.resources}
            hits = [h for h in hits if h.resource.id in about or h.resource.kind == DOCUMENT]
        elif not keep_all:  # (all scores may be 0: no evidence for any, so no floor but this)
            if concepts and any(h.resource.id in taught for h in hits):
                # What to read next after a definition: what teaches the concept, then what is
                # on the question's topics; the rest matched words around it ("data" for "data
                # mesh": an introduction to data science).
                hits = [
                    h
                    for h in hits
                    if h.resource.id in taught
                    or h.resource.id in asked
                    or _on_topic(h.resource, parsed, profile, whole=True)
                ]
            # What is on the subject (the question's or the learner's) needs a share of the best
            # on it: an off-topic top ("Attention Is All You Need" for "papers on model
            # monitoring") sets no bar for it. What is off it needs more of the best overall.
            on = {h.resource.id for h in hits if _on_topic(h.resource, parsed, profile)}
            best_on = max((h.score for h in hits if h.resource.id in on), default=top)

            def bar(hit: Hit) -> float:
                if hit.resource.id in on:
                    return RELEVANCE_FLOOR * best_on
                # Among one kind, the best may be on something else entirely ("Attention Is
                # All You Need" for "papers on model monitoring"): what says nothing of the
                # subject is not even related. Dev: padding 0.045 -> 0.041, nothing else moved;
                # for every question, it was 0.028 but nDCG@5 0.763 -> 0.756 (a conference for
                # "events where people present research", Spotify's blog for music apps).
                if parsed.kinds and not hit.speaks:
                    return math.inf
                return OFF_TOPIC_FLOOR * top

            hits = [
                h
                for h in hits
                if h.score >= bar(h) or h.resource.id in taught or h.resource.id in asked
            ]
        wanted = set(parsed.kinds)
        # "What should I read", and "what is X?" (its list is what to read next): reading
        # material, with one tool at most.
        reading = (bool(_READ.search(parsed.text)) or bool(concepts)) and not wanted
        order: dict[str, int] = {}
        for n, rid in enumerate(leading):
            order.setdefault(rid, n)  # a resource teaching both sides keeps its first place
        level = parsed.level if parsed.level in LEVELS else None
        rank = {h.resource.id: n for n, h in enumerate(hits)}

        def gap(hit: Hit) -> int:
            return level_gap(hit.resource.level, level) if level is not None else 0

        def doubtful(hit: Hit) -> bool:  # unverified or only on a low-trust page, unless named
            r = hit.resource
            return r.id not in parsed.mentioned and any(
                c.startswith(("no public record", "named only on"))
                for c in caveats(r, self.sources)
            )

        def general(hit: Hit) -> bool:  # the user's own document answers about their system
            return hit.resource.kind != DOCUMENT

        # Which to show: the user's own documents, the level asked for, a concept's own
        # resources, then relevance.
        def unasked(hit: Hit) -> int:
            """ "Airflow vs Dagster": the named lead, in the order named, then works by a named
            author ("DMLS vs the Alex Xu interview book"), then the rest."""
            if parsed.intent != "compare":
                return 0
            if hit.resource.id in parsed.mentioned:
                return parsed.mentioned.index(hit.resource.id)
            return len(parsed.mentioned) + (hit.resource.id not in asked)

        chosen = sorted(
            hits,
            key=lambda h: (
                general(h),
                unasked(h),
                gap(h),
                doubtful(h),
                order.get(h.resource.id, len(leading)),
                rank[h.resource.id],
            ),
        )
        if reading:  # "what should I read": reading material, and one tool to try hands-on
            # A tool keeps its place only if it ranked among the first `limit` anyway.
            tools = [h for h in chosen[:limit] if h.resource.kind == "tool"][:1]
            # Reading material (the person's own documents are theirs to read) before
            # repositories and communities, each kept in its order, unless the learner's
            # profile has ordered the list by the formats they prefer.
            others = sorted(
                (h for h in chosen if h.resource.kind != "tool"),
                key=lambda h: (
                    h.resource.kind not in (*READING_KINDS, DOCUMENT) and not personal_order
                ),
            )
            room = (limit or len(chosen)) - len(tools)
            chosen = others[:room] + tools
        chosen = chosen[:limit]
        # In what order: study order by purpose, unless one kind was asked for.
        by_purpose = not wanted or len(wanted) > 1
        chosen.sort(
            key=lambda h: (
                general(h),
                unasked(h),
                # What is on the question's topics comes first, then the level asked: an
                # advanced tool for serving LLMs before a beginner one for serving in general.
                h.resource.id in related,
                # "The newest book on MLOps": what records a year, newest first.
                -(h.resource.year or 0) if parsed.recent else 0,
                gap(h),
                GROUPS.index(purpose(h.resource)) if by_purpose else 0,
            )
        )
        return _no_vendor_first(chosen)

    def _teaching_all(self, concept_ids: Sequence[str]) -> set[str]:
        """The resources the glossary says teach every one of the concepts (none: empty)."""
        known = [self.concepts.concepts[c] for c in concept_ids if c in self.concepts.concepts]
        if len(known) < 2:
            return set()
        return set.intersection(*(set(c.resources) for c in known))

    def _both(self, concept_ids: Sequence[str], items: Sequence[Recommendation]) -> str:
        """ "Of those, *DMLS* teaches both data drift and concept drift (the glossary says)." """
        names = " and ".join(self.concepts.concepts[c].name for c in concept_ids
                             if c in self.concepts.concepts)  # fmt: skip
        teaching = self._teaching_all(concept_ids)
        both = [i.resource for i in items if i.resource.id in teaching]
        if not both:
            return f"None of those is one the glossary lists as teaching both {names}."
        who = _titles(both)
        verb = "teaches" if len(both) == 1 else "teach"
        return f"Of those, {who} {verb} both {names} (the glossary says)."

    @staticmethod
    def _is_detail(parsed: ParsedQuery, concepts: Sequence[Concept] = ()) -> bool:
        """ "Tell me more about X", "is X good for beginners?", or "what is X?" for one named
        resource and no concept."""
        # "Is the FSDL course free?" names a course: its kind word asks for no list of courses.
        # "When was the Hidden Technical Debt paper published?" asks of that one paper.
        dated = bool(_WHEN.search(parsed.text))
        one = len(parsed.restrict_to) == 1 or (
            len(parsed.mentioned) == 1 and (not parsed.kinds or parsed.judged or dated)
        )
        explained = Composer._describes_resource(parsed) and not concepts
        judged = (len(parsed.mentioned) == 1 or len(parsed.restrict_to) == 1) and bool(
            _JUDGED.search(parsed.text)
        )
        # "How do I get started with it?" after an answer about one resource: that one.
        referred = len(parsed.restrict_to) == 1 and parsed.refers
        asked = bool(_DETAIL.search(parsed.text)) or dated
        return one and (asked or explained or judged or referred)

    @staticmethod
    def _describes_resource(parsed: ParsedQuery) -> bool:
        """An explain question about exactly one catalog resource ("what is Feast used for?"),
        or a comparison with nothing to set it beside ("when is Feast the right choice?" was
        once compared with Feast's Slack community)."""
        alone = parsed.intent == "compare" and not (parsed.topics or parsed.similar)
        asks = parsed.intent == "explain" or (alone and not parsed.restrict_to)
        return asks and len(parsed.mentioned) == 1 and not parsed.kinds

    # -- fixed answers ----------------------------------------------------------------------

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
        """A short reply to a greeting, thanks or goodbye, or to a follow-up with nothing before
        it to follow (no resources, no citations)."""
        replies = {
            "greeting": "Hi! I recommend books, courses, papers, tools and communities for "
            "learning ML system design, each with why it fits and where it was found.",
            "thanks": 'Glad it helps. Ask a follow-up ("any of those free?", "show me more", '
            '"something like the second one?") or a new question any time.',
            "goodbye": "Good luck with your learning. Your conversation is saved if you come back.",
            "no-context": "There is no earlier answer in this conversation for that to point at. "
            'Ask about a subject first ("what should I read for feature stores?"), then narrow '
            'it down ("any of those free?", "tell me more about the second one").',
        }
        text = replies.get(parsed.smalltalk, replies["greeting"])
        if parsed.smalltalk == "greeting":
            text += (
                ' Try "what should I read for feature stores?", "I\'m an SRE, where do I start?" '
                'or "a free course on MLOps".'
            )
        return Answer(text=text, intent="smalltalk", items=[], citations=[],
                      query_used=parsed.to_dict())  # fmt: skip

    def nothing_fits(
        self, parsed: ParsedQuery, topic_text: str, elsewhere: Sequence[Resource] = ()
    ) -> Answer:
        """The answer when the topic is covered but nothing meets every stated constraint."""
        asked = [f"{' or '.join(parsed.kinds)}" if parsed.kinds else ""]
        asked += ["free" if parsed.free_only else ""]
        asked += ["open source" if open_source_applies(parsed) else ""]
        asked += _none_on(parsed)
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
        pointed = list(elsewhere) if parsed.kinds and parsed.follow_up != "more" else []
        if pointed:  # says as much, and where the subject is instead
            subject = subject_concepts(self.concepts, parsed)  # its glossary name, if no topic
            named = " and ".join(_plural_name(c) for c in subject) or topic_text
            text = _elsewhere(parsed, pointed, named)
        return Answer(text=text, intent=parsed.intent, items=[], citations=[],
                      query_used=parsed.to_dict() | {"topic_text": topic_text},
                      elsewhere=pointed)  # fmt: skip

    # -- text -------------------------------------------------------------------------------

    @staticmethod
    def _line(n: int, item: Recommendation) -> str:
        resource = item.resource
        title = _linked(resource)
        byline = f" by {', '.join(resource.authors[:3])}" if resource.authors else ""
        extra = f", {resource.length}" if resource.length else ""
        # The chat bubble keeps this parenthesis and drops the reason: the mark goes in it.
        extra += "" if getattr(resource, "verified", True) else ", unverified"
        cite = f" [{item.citation}]" if item.citation else ""
        return f"{n}. **{title}**{byline} ({resource.kind}{extra}). {item.reason}{cite}"

    def _grouped(self, items: list[Recommendation]) -> list[str]:
        """Numbered lines under purpose headers: none when all share one purpose, or when the
        list is in relevance order (one kind asked for), where "Go deeper" could come before
        "Start here" and a header could repeat."""
        groups = [g for g in GROUPS if any(i.group == g for i in items)]
        order = [GROUPS.index(i.group) for i in items if i.group in GROUPS]
        if len(groups) <= 1 or order != sorted(order):
            return [self._line(n, item) for n, item in enumerate(items, start=1)]
        lines: list[str] = []
        for n, item in enumerate(items, start=1):
            if n == 1 or items[n - 2].group != item.group:
                # A blank line after the header: Markdown lets only a list starting at 1
                # interrupt a paragraph, so "2." right under "**Join**" rendered as text.
                lines += ["", f"**{item.group}**", ""] if lines else [f"**{item.group}**", ""]
            lines.append(self._line(n, item))
        return lines

    def _detail(self, item: Recommendation, citations: list[Citation]) -> list[str]:
        r = item.resource
        byline = f" by {', '.join(r.authors)}" if r.authors else ""
        published = f", {r.published}" if r.published else ""
        lines = [f"**{r.title}**{byline} ({r.level} {r.kind}{published})", "",
                 r.summary.strip(), ""]  # fmt: skip
        lines.append(f"Best for: {r.best_for.strip()}")
        if r.length:
            lines.append(f"Length: {r.length}")
        if r.prerequisites:
            first = ", ".join(f"*{self.titles.get(p, p)}*" for p in r.prerequisites)
            lines.append(f"Read first: {first}")
        found = caveats(r, self.sources)
        if found:
            lines.append(f"Caveats: {'; '.join(found)}.")
        if citations:
            lines += ["", "What the sources say:"]
            lines += [
                f"- {c.source_title}: \u201c{c.snippet}\u201d [{c.number}]" for c in citations
            ]
        lines += ["", f"Link: {r.url}" if r.url else "Link: the catalog has no public link for it."]
        return lines

    def _define(self, concept: Concept) -> list[str]:
        return [f"{_bold_name(concept)}: {concept.definition.strip()}"]

    def _text(
        self,
        parsed: ParsedQuery,
        items: list[Recommendation],
        citations: list[Citation],
        topic_text: str,
        personal: Personalized | None = None,
        concepts: Sequence[Concept] = (),
        limit: int | None = None,
        elsewhere: Sequence[Resource] = (),
        subject: Sequence[Concept] = (),
        next_best: Sequence[Resource] = (),
        maybe: Concept | None = None,
    ) -> str:
        """`elsewhere` is said in the header when given; `subject` names a glossary subject;
        `next_best` follows a single pick ("Also worth a look: ..."); `maybe` follows a
        definition the question fits about as well as it."""
        kinds = " or ".join(plural(k) for k in parsed.kinds) or "resources"
        about = _topic_phrase(parsed.topics) or topic_text or parsed.text
        lines: list[str]
        if self._is_detail(parsed, concepts) and items:
            lines = self._detail(items[0], citations)
            verdict = _verdict(parsed, items[0].resource, self.titles)
            return "\n".join([verdict, "", *lines] if verdict else lines)
        quality = _which_of_two(self.concepts, parsed) if len(concepts) >= 2 else None
        if quality:
            # "Which is safer?" after two definitions: what each entry says closest to it; the
            # glossary ranks neither, so the choice is left with the reader.
            a, b = concepts[0], concepts[1]
            lines = [f"Which is {quality}, **{a.name}** or **{b.name}**? The glossary ranks "
                     "neither; what each entry says closest to that:", ""]  # fmt: skip
            for concept in (a, b):
                sentence = self.concepts.closest_sentence(concept, parsed.text)
                lines.append(f"- {_bold_name(concept)}: {sentence}")
            lines += ["", "What to read on both:", ""] if items else []
            lines += self._grouped(items)
        elif len(concepts) >= 2:
            a, b = concepts[0], concepts[1]
            lines = [f"{_bold_name(a)} and **{b.name}**, side by side:", ""]
            for concept in (a, b):
                lines += [f"- {self._define(concept)[0]} Why it matters: {concept.why.strip()}"]
            lines += ["", "What to read next:", ""] if items else []
            lines += self._grouped(items)
        elif concepts:
            concept = concepts[0]
            lines = [*self._define(concept), "", f"Why it matters: {concept.why.strip()}"]
            if parsed.pronoun and parsed.about and _WHY.match(parsed.text):
                # "Why does it matter?" after the definition: the reason first, then the rest.
                lines = [f"Why {_bold_name(concept)} matters: {concept.why.strip()}", "",
                         f"What it is: {concept.definition.strip()}"]  # fmt: skip
            how = _HOW_TO.match(parsed.text) if parsed.pronoun and parsed.about else None
            if how and items:
                # The glossary says what it is and why it matters, not how to act on it: the
                # question is answered by what teaches it, said as such, not by the same text.
                lines = [*self._define(concept), "",
                         f"How to {how['verb']} {'one' if how['object'] == 'one' else 'it'} "
                         "is what the resources below teach; the "
                         f"glossary says why it matters: {concept.why.strip()}"]  # fmt: skip
            side = self.concepts.other_side(parsed.original, concept)
            if side is not None:
                # One side of a comparison has no entry: say so, rather than let the definition
                # pass for a comparison.
                words, same = side
                lines[1:1] = ["", (
                    f"\u201c{words.capitalize()}\u201d has no entry of its own: the glossary "
                    f"counts it as part of {concept.name}." if same else
                    f"The glossary has no entry for \u201c{words}\u201d to set beside "
                    f"{concept.name}; the definition above and what to read next are on "
                    f"{concept.name} alone.")]  # fmt: skip
            related = [self.concepts.concepts[r].name for r in concept.related[:4]
                       if r in self.concepts.concepts]  # fmt: skip
            if related:
                lines += ["", f"Related: {', '.join(related)}."]
            if maybe is not None:
                lines += ["", f"If that is not what you meant, the next closest entry is "
                              f"**{maybe.name}**: {maybe.definition.strip()}"]  # fmt: skip
            ahead = f"What teaches how to {how['verb']} it:" if how else "What to read next:"
            lines += ["", ahead, ""] if items else []
            lines += self._grouped(items)
        elif (
            parsed.intent == "compare"
            and len(items) >= 2
            and (parsed.mentioned or parsed.restrict_to)
        ):  # resources the person named, or the last answer's: compared side by side
            lines = ["Here is how they compare, from the catalog and the sources:", ""]
            named = [i for i in items if i.resource.id in parsed.mentioned]
            asked = named if len(named) >= 2 else items
            if _LENGTH.search(parsed.original.lower()):
                # Every one asked about, also past the four set out below.
                lines[0] = _lengths([i.resource for i in asked], parsed.original.lower())
            for n, item in enumerate(asked[:4], start=1):
                r = item.resource
                cite = f" [{item.citation}]" if item.citation else ""
                facts = ", ".join([r.level, r.kind, *([r.length] if r.length else [])])
                lines.append(f"{n}. **{_linked(r)}** ({facts}): {r.summary.strip()}{cite}")
                lines.append(f"   Choose it if: {r.best_for.strip()}")
            others = [i.resource for i in items if i not in asked]
            if named and others:
                lines += ["", f"Also on the same subject: {_titles(others)}."]
        elif parsed.intent == "learning_path":
            who = describe(personal.profile) if personal and personal.profile else ""
            lead = f"A learning path for you ({who})" if who else "A learning path"
            if parsed.kinds and items:
                # A path of the kinds asked for says how many it has: a rare kind's is short
                # ("Three conferences"), and the kinds are said, not "preferred".
                what = " or ".join(plural(kind, len(items)) for kind in parsed.kinds)
                rest = [part for part in who.split(" · ") if part and "prefers" not in part]
                lead = f"{_number(len(items)).capitalize()} {what}"
                lead += f" ({' · '.join(rest)})" if rest else ""
            order = "in study order (foundations first)"
            if _dated(parsed, items):  # ordered so by the selection
                order = "newest first"
            # One step has no order to speak of: "One newsletter:".
            lines = [f"{lead}, {order}:" if len(items) > 1 else f"{lead}:", ""]
            lines += [self._line(n, item) for n, item in enumerate(items, start=1)]
        elif parsed.intent == "explain" or (
            parsed.intent == "compare" and not (parsed.mentioned or parsed.restrict_to)
        ):
            # No glossary entry fits (a comparison: not both sides, and no resources named to
            # set side by side): say so, rather than echo the question's words as a topic, and
            # quote only passages that say something (not a bare title or a table row).
            names = [name for i in items for name in (*i.resource.names, *i.resource.authors)]
            said = [c for c in citations
                    if says_something(c.snippet, names, parsed.topic_words)][:3]  # fmt: skip
            if said:
                lead = f"{_NO_ENTRY}; here is what the sources say:"
                if parsed.topics:
                    lead = f"What the sources say about {about}:"
                # A list item's own marker ("1. ", "- ") would read as a second bullet.
                lines = [lead, "", *(f"- {_LIST_MARKER.sub('', c.snippet)} [{c.number}]"
                                     for c in said)]  # fmt: skip
                lines += ["", "To go deeper:"]
            else:
                what = "Here are the closest resources in the catalog"
                what = f"Here is what the catalog has on {about}" if parsed.topics else what
                lines = [f"{_NO_ENTRY}. {what}:", ""]
            lines += self._grouped(items)
        else:
            lines = [
                self._lead(parsed, items, kinds, about, limit, personal, elsewhere, subject),
                "",
                *self._grouped(items),
            ]
        if personal is not None and personal.skipped_read:
            titles = " and ".join(f"*{title}*" for title in personal.skipped_titles)
            them = "them" if len(personal.skipped_titles) > 1 else "it"
            lines[0] = f"Since you've read {titles}, I left {them} out. {lines[0]}"
        if parsed.unlisted_kinds:
            lines[0] = f"{_unlisted(parsed.unlisted_kinds)} {lines[0]}"
        if parsed.both_of:
            lines[0] = f"{self._both(parsed.both_of, items)} {lines[0]}"
        if next_best:
            lines += ["", f"Also worth a look: {_titles(next_best)}."]
        lines += ["", "Sources:"]
        for c in citations:
            where = f"{c.source_title}, \u201c{c.heading}\u201d" if c.heading else c.source_title
            lines.append(f"[{c.number}] {where}: {c.snippet}")
        return "\n".join(lines)

    def _lead(
        self,
        parsed: ParsedQuery,
        items: list[Recommendation],
        kinds: str,
        about: str,
        limit: int | None,
        personal: Personalized | None = None,
        elsewhere: Sequence[Resource] = (),
        subject: Sequence[Concept] = (),
    ) -> str:
        """The header of a list; it claims only constraints every listed item meets."""
        on, for_ = f"on {about}", f"for {about}"
        if subject:  # "books that teach feature engineering": the glossary's name for it
            on = for_ = f"on {' and '.join(_plural_name(c) for c in subject)}"
        elif parsed.authors and all(set(parsed.authors) & set(i.resource.authors) for i in items):
            on = for_ = f"by {' and '.join(parsed.authors)}"
        elif not parsed.topics:  # the question's leftover words would read as broken English
            on = for_ = "for that"
        constraints = _constraint_words(parsed, items) + _none_on(parsed)
        dated = _dated(parsed, items)
        if dated:  # the order the list is in, which "in study order" would contradict
            constraints.append("newest first")
        elif parsed.recent:  # blogs, tools and communities are ongoing: no year to order by
            constraints.append("the catalog records no year for these")
        at_level = [i for i in items if i.resource.level == parsed.level]
        if parsed.level and len(at_level) == len(items):
            constraints.append(parsed.level)
        qualifier = f" ({', '.join(constraints)})" if constraints else ""
        # Only what is on the topic is counted as on it; the rest is named as related.
        related = sum(1 for i in items if i.group == RELATED)
        shown = len(items) - related
        tail = f", and {_number(related)} related" if related and shown else ""
        what = count(shown, parsed.kinds[0]) if len(parsed.kinds) == 1 else None
        one_of = " or ".join(parsed.kinds) or "resource"  # "1 blog or paper", not "blogs or paper"
        what = what or f"{shown} {kinds if shown != 1 else one_of}"
        level_note = ""
        if parsed.level and not at_level:
            level_note = f" (none is marked {parsed.level}; these are the closest)"
        elif parsed.level and len(at_level) < len(items):
            places = [n for n, i in enumerate(items, start=1) if i in at_level]
            if places == list(range(1, len(places) + 1)):
                first = "the first is" if len(places) == 1 else f"the first {len(places)} are"
            else:  # what is on the topic comes first, whatever its level
                numbers = " and ".join([", ".join(map(str, places[:-1])), str(places[-1])]
                                       if len(places) > 1 else [str(places[0])])  # fmt: skip
                first = f"number {numbers} is" if len(places) == 1 else f"{numbers} are"
            level_note = f" ({first} {parsed.level})"
        if parsed.one and len(items) == 1 and not related and parsed.restrict_to:
            # "Which should I start with?", "which would you pick?" among the last answer's.
            if dated and items[0].resource.year:  # "which is the most recent?"
                return f"Of those, the most recent is from {items[0].resource.year}:"
            if _START_WITH.search(parsed.text):
                return f"Of those, start with this one{qualifier}:"
            return f"Of those, this is the one to pick{qualifier}:"
        if parsed.one and len(items) == 1 and not related:
            one = " or ".join(parsed.kinds) or "resource"
            verb = {"course": "take", "tool": "try", "community": "join"}.get(one, "read")
            return f"If you {verb} one {one}{qualifier} {on}, make it this one{level_note}:"
        if parsed.restrict_to:
            fit = "this one fits" if len(items) == 1 else "these fit"
            return f"Of those, {fit}{qualifier}{level_note}:"
        if parsed.anaphoric and parsed.follow_up == "same-topic":  # none of those fit: widened
            these = f"these {kinds}" if parsed.kinds else "these"
            return f"None of those fit; on the same topic, {these} do{qualifier}{level_note}:"
        if parsed.similar_to:
            like = self.titles.get(parsed.similar_to, parsed.similar_to)
            if AFTER_READING.search(parsed.original.lower()):
                return f"To go on from *{like}*, {what}{qualifier}{level_note}:"
            return f"{what}{qualifier} like *{like}*{level_note}:"
        if related and not shown and elsewhere:
            # "A course on recommender systems": say where the subject is, then the closest.
            closest = f"The closest {kinds}, on other subjects{qualifier}{level_note}:"
            where = _elsewhere(parsed, elsewhere, on.removeprefix("on "))
            return f"{where}\n\n{closest}"
        if related and not shown:
            # "LLM serving": what covers one of the two alone is not on the subject.
            none = f"covers {about} together" if parsed.compound_topics else f"is on {about} itself"
            return f"Nothing in the catalog {none}; these are related{qualifier}{level_note}:"
        if parsed.follow_up == "more":
            return f"{shown} more {kinds}{qualifier} {for_}{level_note}{tail}:"
        if limit is not None and len(items) < limit:
            # Honest about a short list: the floor left only these.
            n = _number(shown)
            # "one paper", "two blogs or papers", "three resources"
            noun = (
                " or ".join(plural(k, shown) for k in parsed.kinds)
                if parsed.kinds
                else ("resource" if shown == 1 else "resources")
            )
            if personal is not None and personal.profile is not None:
                return f"{n.capitalize()} {noun}{qualifier} {on} fit your profile{tail}:"
            return f"The catalog has {n} {noun}{qualifier} {on}{level_note}{tail}:"
        are = "is" if shown == 1 else "are"
        order = "" if dated else ", in study order"
        return f"Here {are} {what}{qualifier} {for_}{order}{level_note}{tail}:"


def _dated(parsed: ParsedQuery, items: Sequence[Recommendation]) -> bool:
    """Whether a list asked for what is recent is ordered newest first: something in it
    records a year (books and papers do; blogs and tools are kept up over time)."""
    return parsed.recent and any(i.resource.year for i in items)


def _bold_name(concept: Concept) -> str:
    """A glossary name opening a sentence: "**Feature store**", "**KV cache**" (only the first
    letter is raised: the rest may be an acronym)."""
    return f"**{concept.name[0].upper()}{concept.name[1:]}**"


def _elsewhere(parsed: ParsedQuery, resources: Sequence[Resource], topic_text: str = "") -> str:
    """ "The catalog has no course on X. On X, it has *A* (book), *B* (blog) and *C* (repo).":
    where the subject is, when it is not in the format asked for."""
    adjectives = [word.replace(" ", "-") for word in _constraint_words(parsed)]  # "open-source"
    level = [parsed.level] if parsed.level in LEVELS else []  # "no beginner course on X"
    kinds = " ".join([*adjectives, *level, " or ".join(parsed.kinds)])
    about = _topic_phrase(parsed.topics) or topic_text  # a glossary concept has no topic
    avoided = parsed.avoided_topics
    leaving = f" that leaves out {_topic_phrase(avoided)}" if avoided else ""
    return (
        f"The catalog has no {kinds} on {about}{leaving}. On {about}, it has {_titles(resources)}."
    )


def _lengths(resources: Sequence[Resource], question: str) -> str:
    """The answer to "which of those is the shortest?" from the lengths the catalog records:
    books by page count; a course's stated time beside them (weeks and pages do not compare);
    and which have no recorded length."""
    longest = bool(_LONGEST.search(question))
    books = sorted((r for r in resources if r.pages), key=lambda r: r.pages or 0, reverse=longest)
    timed = [r for r in resources if r.effort]
    unknown = [r for r in resources if not r.length]
    said: list[str] = []
    if len(books) >= 2:
        first, rest = books[0], books[1:]
        word = "longest" if longest else "shortest"
        then = ", then ".join(f"*{r.title}* ({r.pages})" for r in rest)
        said.append(f"By page count, **{first.title}** is the {word} ({first.pages} pages), "
                    f"then {then}.")  # fmt: skip
    elif books:
        said.append(f"*{books[0].title}* has {books[0].pages} pages.")
    said += [f"*{r.title}* takes {r.effort}." for r in timed]
    if unknown and said:
        said.append(f"The catalog records no length for {_titles(unknown)}.")
    elif unknown:
        said.append("The catalog records no length for any of these, so it cannot say which "
                    "takes less time.")  # fmt: skip
    return " ".join(said) + " How they compare otherwise:"


def _unlisted(formats: Sequence[str]) -> str:
    """The sentence saying the catalog lists none of the asked formats, before what it has."""
    return f"The catalog lists no {' or '.join(f'{f}s' for f in formats)}."


def _verdict(parsed: ParsedQuery, resource: Resource, titles: Mapping[str, str]) -> str | None:
    """The direct answer to a yes-or-no question on one resource's catalog facts ("is vLLM
    open source?", "is DDIA free?", "is it good for beginners?"), to "how long is it?" or to
    "what should I read before it?" (`titles`: resource id -> title), or None for others."""
    question = parsed.original.strip().lower()
    name = f"*{resource.title}*"
    if _PREREQUISITE.search(question):
        if not resource.prerequisites:
            return (f"The catalog records no prerequisites for {name}; it is marked "
                    f"{resource.level}.")  # fmt: skip
        first = " and ".join(f"*{titles.get(p, p)}*" for p in resource.prerequisites)
        return f"Before {name}, read {first}."
    if _LENGTH.search(question) or "how many pages" in question:
        if resource.pages:
            return f"{name} has {resource.pages} pages."
        if resource.effort:
            return f"{name} takes {resource.effort}."
        return f"The catalog records no length for {name}."
    if _WHEN.search(question):
        if resource.year:
            return f"{name} was published in {resource.year}."
        if resource.kind in ("book", "paper"):
            return f"The catalog records no publication year for {name}."
        kept = f"{name} is a {resource.kind}, kept up over time"
        return f"{kept}; the catalog records no year for it."
    if not _JUDGED.search(question):
        return None
    if parsed.open_source:
        if resource.open_source is None and resource.kind not in ("tool", "repo"):
            return f"{name} is a {resource.kind}, not software; it is {resource.cost}."
        if resource.open_source is None:
            return f"The catalog does not say whether {name} is open source."
        return (
            f"Yes, {name} is open source."
            if resource.open_source
            else f"No, {name} is not open source."
        )
    if parsed.free_only:
        return {
            "free": f"Yes, {name} is free.",
            "freemium": f"Partly: {name} is free to start, with paid tiers.",
            "paid": f"No, {name} is paid.",
        }[resource.cost]
    if parsed.level:
        if resource.level == parsed.level:
            return f"Yes, {name} is marked {resource.level}."
        return f"Not quite: {name} is marked {resource.level}, not {parsed.level}."
    if parsed.role:  # "is DDIA worth reading for ML engineers?": whom the catalog says it is for
        whom = _and([ROLE_LABELS.get(a, a) for a in resource.audience])
        if parsed.role in resource.audience:
            return f"Yes: {name} is for {whom}."
        asked = ROLE_LABELS.get(parsed.role, parsed.role)
        return f"It is not aimed at {asked}: {name} is for {whom}."
    return None


def _titles(resources: Sequence[Resource]) -> str:
    """ "*[A](url)* (book), *B* (paper, unverified) and *[C](url)* (repo)": linked where they
    have a home; one no public record confirms says so, as its card does."""
    named = [
        f"*{_linked(r)}* ({r.kind}{'' if getattr(r, 'verified', True) else ', unverified'})"
        for r in resources
    ]
    return ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]


def _constraint_words(parsed: ParsedQuery, items: Sequence[Recommendation] = ()) -> list[str]:
    """The constraints besides kind and level a list must meet, as words: 'free', 'open source'.
    Given the items, "free" claims no more than they hold: a freemium one is free to start."""
    costs = {i.resource.cost for i in items}
    free = {"freemium": "free to start", "free": "free"}
    said = " or ".join(free[c] for c in ("free", "freemium") if c in costs) or "free"
    words = [said] if parsed.free_only else []
    return words + (["open source"] if open_source_applies(parsed) else [])


def _plural_name(concept: Concept) -> str:
    """A glossary name as the subject of a list: 'vector databases', not 'vector database';
    a name with no plural alias ('data drift', 'MLOps') as it is."""
    plurals = (f"{concept.name}s", f"{concept.name}es")
    return next((a for a in concept.aliases if a in plurals), concept.name)


def _none_on(parsed: ParsedQuery) -> list[str]:
    """The subjects ruled out ("not too mathematical"), as words: ['none on ML theory']."""
    return [f"none on {_topic_phrase(parsed.avoided_topics)}"] if parsed.avoided_topics else []


def _number(n: int) -> str:
    """A count as a sentence writes it: 'one', 'three', '12'."""
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


def _no_vendor_first(items: list[Hit]) -> list[Hit]:
    """A source's own product never opens a list (13a marks them `vendor: true`)."""
    if items and getattr(items[0].resource, "vendor", False):
        own = [getattr(h.resource, "vendor", False) for h in items]
        other = own.index(False) if False in own else 0
        if other:
            items = [items[other], *items[:other], *items[other + 1 :]]
    return items


def _linked(resource: Resource) -> str:
    """A resource's title as a Markdown link to its own page, or plain where it has none."""
    return f"[{resource.title}]({resource.url})" if resource.url else resource.title


def asked_concepts(index: ConceptIndex, parsed: ParsedQuery) -> list[Concept]:
    """The glossary concepts an explain or compare question is about: those it names or means,
    or, for a follow-up that refers back ("why does it matter?", "how does it work?" after
    "what is shadow deployment?"), those the conversation is on."""
    if parsed.about and parsed.intent in ("explain", "compare") and parsed.pronoun:
        carried = [index.concepts[c] for c in parsed.about if c in index.concepts]
        if parsed.intent == "compare" and len(carried) == 1:
            # "How does it compare to a data warehouse?": it, beside what the message names.
            named = index.for_question(parsed.original, "explain")
            return [*carried, *(c for c in named if c.id != carried[0].id)][:2]
        return carried
    if _which_of_two(index, parsed):
        return [index.concepts[c] for c in parsed.about]
    if parsed.intent == "compare" and len(parsed.mentioned) >= 2:
        return []  # "Airflow vs Dagster": the named resources are what is compared
    # "What is data drfit?": as corrected, or "drfit" is matched by meaning to something else.
    texts = (parsed.text, parsed.original) if parsed.corrections else (parsed.original,)
    for text in texts:
        found = index.for_question(text, parsed.intent, retrieved=parsed.retrieved)
        if found:
            return found
    return []


def _which_of_two(index: ConceptIndex, parsed: ParsedQuery) -> str | None:
    """The quality a follow-up asks which of the two concepts just set side by side has
    ("which is safer?": "safer"); None for a question about the resources ("which is free?",
    "which one is shorter?" set a constraint on what was listed) or anything else."""
    asked = WHICH_OF_TWO.match(parsed.text)
    pair = len(parsed.about) == 2 and all(c in index.concepts for c in parsed.about)
    # "Harder to detect" is a quality of the concept; "harder" alone asks for a harder read.
    level = parsed.level and not _HARD_TO.search(parsed.text)
    of_resources = bool(parsed.free_only or parsed.kinds or level or parsed.mentioned)
    of_resources = of_resources or parsed.recent or bool(BY_LENGTH.search(parsed.text))
    if asked is None or not pair or not parsed.follow_up or of_resources:
        return None
    return asked["quality"]


def subject_concepts(index: ConceptIndex, parsed: ParsedQuery) -> list[Concept]:
    """The glossary concepts a new recommend question is about when it names no catalog topic
    ("papers about model compression", "books on feature engineering"): their resources are what
    is on the subject. A follow-up keeps the concepts the conversation is on ("any papers on
    it?" after "what is quantization?"); questions naming a resource keep their own subject."""
    if parsed.intent != "recommend" or parsed.topics:
        return []
    if parsed.follow_up:
        carried = parsed.follow_up in ("same-topic", "more")
        return [index.concepts[c] for c in parsed.about if carried and c in index.concepts]
    if parsed.mentioned or parsed.restrict_to or parsed.authors:
        return []
    # "What tools do people use to version datasets?": a subject described, not named, is the
    # concept its meaning reaches, with retrieval's agreement, as for an explain question.
    return (
        index.named_in(parsed.original)
        or index.for_question(parsed.original, "explain", retrieved=parsed.retrieved)[:1]
    )


def _named_in_topic_request(index: ConceptIndex, parsed: ParsedQuery) -> list[Concept]:
    """Concepts a new recommend question on a catalog topic names unambiguously (two words or
    more: "feature stores", not "caching")."""
    if parsed.intent != "recommend" or not parsed.topics or parsed.follow_up or parsed.mentioned:
        return []
    return index.named_in(parsed.original, min_words=2)


def _related(
    parsed: ParsedQuery, hits: Sequence[Hit], asked: Sequence[Concept], profile: Profile | None
) -> set[str]:
    """The hits off every topic the question asks about: not named, not by a named author,
    not the user's own, not fitting the learner, not what the glossary says teaches a concept
    asked about (`asked`). They may be shown, as related, never counted as on the topic."""
    if not parsed.topics or parsed.intent == "learning_path" or parsed.restrict_to:
        return set()
    if parsed.similar_to:  # "books like DDIA": likeness to it is the subject, not its topics
        return set()
    teaching = {rid for c in asked for rid in c.resources}
    return {
        h.resource.id
        for h in hits
        if not _on_topic(h.resource, parsed, profile, whole=True) and h.resource.id not in teaching
    }


def _beside_the_concept(
    parsed: ParsedQuery, hits: Sequence[Hit], concepts: Sequence[Concept]
) -> set[str]:
    """In an answer defining concepts, what does not teach them while something else does: on
    the wider topic, perhaps ("The Gradient" for PagedAttention), but not what to read on it."""
    teaching = {rid for c in concepts for rid in c.resources}
    if not any(h.resource.id in teaching for h in hits):
        return set()
    asked = _asked_for(parsed, hits)
    return {
        h.resource.id
        for h in hits
        if h.resource.id not in teaching
        and h.resource.id not in asked
        and h.resource.kind != DOCUMENT
    }


def _asked_for(parsed: ParsedQuery, hits: Sequence[Hit]) -> set[str]:
    """The hits the person asked for by name, or by naming their author."""
    authors = set(parsed.authors)
    return {
        h.resource.id
        for h in hits
        if h.resource.id in parsed.mentioned or authors & set(h.resource.authors)
    }


def _on_topic(
    resource: Resource, parsed: ParsedQuery, profile: Profile | None = None, whole: bool = False
) -> bool:
    """Whether a resource is on what was asked: a topic of the question (any resource, when
    it names none), the learner's role or goals, named, by a named author, or their own.

    With `whole`, topics named as one subject count together: for "LLM serving" a resource
    must cover both LLMs and serving; one on serving alone is related, not on the subject."""
    asked = set(parsed.topics)
    covered = asked & set(resource.topics)
    if whole and parsed.compound_topics:
        together = {t for group in parsed.compound_topics for t in group}
        covered = (covered - together) | {
            t for g in parsed.compound_topics if set(g) <= covered for t in g
        }
    return bool(
        not asked
        or covered
        or (profile is not None and profile.fits(resource))
        or resource.id in parsed.mentioned
        or set(parsed.authors) & set(resource.authors)
        or resource.kind == DOCUMENT
    )


def _path_order(hits: list[Hit]) -> list[Hit]:
    """A learning path: reading and courses, then hands-on, then a community; each step after
    its prerequisites (where the catalog states them); no vendor product first."""
    # Learn first, then try, then join; within a stage, the order given (level, relevance).
    position = {h.resource.id: (_STAGE[purpose(h.resource)], n) for n, h in enumerate(hits)}
    placed: list[Hit] = []
    done: set[str] = set()
    pending = list(hits)
    while pending:
        ready = [
            h
            for h in pending
            if all(p in done or p not in position for p in getattr(h.resource, "prerequisites", ()))
        ]
        step = min(ready or pending, key=lambda h: position[h.resource.id])  # a cycle: as given
        placed.append(step)
        done.add(step.resource.id)
        pending.remove(step)
    return _no_vendor_first(placed)


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
