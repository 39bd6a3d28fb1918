"""Assistant stage: understand a question without an LLM (constraints, typos, topics, intent)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal, cast

from assistant.concepts import COMPARES_IT, ConceptIndex
from assistant.constraints import find_cues, read_constraints, ruled_out
from assistant.intent import INTENTS, Intent, IntentClassifier, IntentScores
from assistant.keyword import english_stemmer
from assistant.profiles import ROLE_TOPICS
from assistant.spelling import SpellCorrector
from ingest.catalog import Catalog
from ingest.embedding import Embedder
from ingest.linking import ResourceLinker, normalize
from ingest.vocabulary import (
    FRAMING_PHRASES,
    KIND_WORDS,
    NOT_A_TOPIC_AFTER,
    PROFILE_ONLY_ROLE_ALIASES,
    ROLES,
    TOPIC_PHRASES,
)

# Intents that ask what something is rather than what to read.
EXPLAINING = ("explain", "compare")

FollowUp = Literal["", "narrow", "same-topic", "topic-swap", "more", "similar"]

# Role names a message may use after "I'm a ...": every alias but the profile-only ones.
_ROLE_PHRASES = sorted(
    (
        (phrase, role)
        for role, aliases in ROLES.items()
        for phrase in (role.replace("-", " "), *aliases)
        if phrase not in PROFILE_ONLY_ROLE_ALIASES
    ),
    key=lambda pair: -len(pair[0]),
)
_ROLE = re.compile(r"\b(" + "|".join(re.escape(p) + "s?" for p, _ in _ROLE_PHRASES) + r")\b")
_ROLE_OF = {phrase: role for phrase, role in _ROLE_PHRASES}
# "I'm an analyst", "as a data engineer", "for an SRE": a role said of the asker.
# "For ML engineers" names whom the material is for, as "for an SRE" does.
_SELF = re.compile(r"\b(i'?m|i am|as an?|for(?: an?)?|we are|we're|i work as an?)\b")
_START = re.compile(r"\b(where|how) (do|should|can) i (start|begin)\b")
# "I lead a team of data scientists", "how do I run an ML team?": who leads a team manages it,
# whatever the team's members are. The team is the verb's object: "I run experiments for my
# team" does not lead one.
_LEADS = re.compile(
    r"\b(?:i|we)(?:'m| am|'re| are)? (?:\w+ )?(?:manage|managing|lead|leading|run|running|"
    r"head|heading|oversee|overseeing|build|building|set up|setting up|grow|growing) "
    r"(?:a|an|the|my|our|this)"
    r"(?P<what>(?: (?!for\b|with\b|on\b|in\b|at\b|of\b|to\b)[\w-]+){0,3}) "
    r"(?:team|group|org|department)s?\b"
)
# "how do I get into ML engineering?", "to become a data engineer": the role the asker aims at,
# which a study plan is for rather than the role they hold.
_AIM = re.compile(
    r"\b(?:(?:get|getting|break|breaking|move|moving|transition|transitioning|switch|switching)"
    r" (?:into|to)|becom(?:e|ing)|"
    # "we're onboarding three new ML engineers": the path is for the people being brought in.
    r"onboard(?:ing)?|ramp(?:ing)? up|bring(?:ing)? up to speed)\b"
)


_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
# Asking for advice, not the recommender-systems topic: "what do you recommend?", "can you
# recommend a book on ...?", "any recommendations?" ("recommend" stems like "recommendation").
_ASKING = re.compile(
    r"\b(?:you(?:'d| would| could| can| do| might)? (?:recommend|suggest)"
    r"|recommend(?:s|ed)? (?:me|us|a|an|some|any|something|anything|one|to)"
    r"|(?:any|your) recommendations?)\b"
)


def _stem(word: str) -> str:
    return str(english_stemmer().stemWord(word))


class TopicMatcher:
    """Finds the vocabulary's topic phrases in a message, word by word on Snowball stems, so
    any inflection matches ("looking different", "hyperparameters", "feed" for "feeds")."""

    def __init__(self) -> None:
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self._framing: set[tuple[str, ...]] = set()
        for topic, phrases in TOPIC_PHRASES.items():
            for phrase in phrases:
                words = tuple(_TOKEN.findall(phrase))
                self._phrases.setdefault(_stem(words[0]), []).append((words, topic))
                if phrase in FRAMING_PHRASES:
                    self._framing.add(words)
        # A word the vocabulary itself uses means what it says: "production" is a deployment
        # word, though Snowball stems it like "product".
        self._literal = {w for ps in TOPIC_PHRASES.values() for p in ps for w in _TOKEN.findall(p)}

    def _same(self, token: str, word: str) -> bool:
        if token == word:
            return True
        return token not in self._literal and _stem(token) == _stem(word)

    def find(
        self, text: str, names: Sequence[tuple[int, int, Collection[str]]] = ()
    ) -> tuple[tuple[str, ...], list[tuple[int, int, str]], tuple[tuple[str, ...], ...]]:
        """The topics named in a lower-cased text (in vocabulary order), where each is named
        (start, end, topic), and the topics named together as one subject.

        `names` are the spans of resource (or glossary) names in the text, each with the topics
        its resource (or what teaches the concept) covers: a name's words name a topic only if
        it is covered ("Introducing MLOps" is about MLOps; "Weights & Biases" is not about bias,
        "vector database" not about distributed systems)."""
        asking = [m.span() for m in _ASKING.finditer(text)]
        tokens = [
            t for t in _TOKEN.finditer(text) if not any(s <= t.start() < e for s, e in asking)
        ]
        words = [t.group(0) for t in tokens]
        matches: list[tuple[int, int, str]] = []  # word start, word end, topic
        framing: set[tuple[int, int]] = set()
        for i, word in enumerate(words):
            if i and words[i - 1] in NOT_A_TOPIC_AFTER.get(_stem(word), ()):
                continue  # "a nightly job": the scheduler's, not a career
            for phrase, topic in self._phrases.get(_stem(word), ()):
                end = i + len(phrase)
                if end <= len(words) and all(
                    self._same(t, w) for t, w in zip(words[i:end], phrase, strict=True)
                ):
                    matches.append((i, end, topic))
                    if phrase in self._framing:
                        framing.add((i, end))
        # The longest phrase claims its words: "distributed training" is that topic, not also
        # "training"; "data pipelines" not also "pipelines" (orchestration).
        taken: list[tuple[int, int]] = []  # a phrase dropped for a name still claims its words
        kept: list[tuple[int, int, str]] = []
        for start, end, topic in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            where = (tokens[start].start(), tokens[end - 1].end())
            if not any(s <= where[0] and where[1] <= e and topic not in t for s, e, t in names):
                kept.append((start, end, topic))
        if names or any((start, end) not in framing for start, end, _ in kept):
            # Where the asker stands ("new to", "move into") frames the subject they name: a
            # topic, a resource or a concept ("switch from Airflow to Dagster" is no career move).
            kept = [m for m in kept if (m[0], m[1]) not in framing]
        kept.sort()
        found = {topic for _, _, topic in kept}
        spans = [(tokens[start].start(), tokens[end - 1].end(), t) for start, end, t in kept]
        # Phrases with no word between them name one subject: "LLM serving" is serving of LLMs,
        # "feature store monitoring" monitoring of feature stores; "LLMs and serving" is two.
        runs: list[list[tuple[int, int, str]]] = []

        def adjacent(end: int, start: int) -> bool:  # no word, nor a comma, between them
            return end == start and not text[tokens[end - 1].end() : tokens[start].start()].strip()

        for match in kept:
            if runs and adjacent(runs[-1][-1][1], match[0]):
                runs[-1].append(match)
            else:
                runs.append([match])
        compounds = tuple(
            group
            for run in runs
            if len(group := tuple(t for t in TOPIC_PHRASES if t in {m[2] for m in run})) > 1
        )
        return tuple(t for t in TOPIC_PHRASES if t in found), spans, compounds


ANAPHORA = re.compile(
    r"\b(those|these|them|of the above|that list|the ones|which ones?|any of th\w+|ones you)\b"
    # A bare "which is shorter?", "which is the best?": among what was just listed.
    r"|^(?:so |and |ok |okay )?which (?:is|are)(?= (?:the )?[a-z]+(?:er|est)\W*$)"
    # "which book covers both?": the two things the last answer was about.
    r"|\bboth(?=\W*$)"
)
# "Which is the most beginner friendly?", "which one should I start with?", "which would you
# pick?": a choice among what was just listed, when the message names nothing else to choose.
SELECTION = re.compile(
    r"^(?:so |and |ok |okay |then |hmm,? )?(?:which"
    r"(?: (?:one|of them|of those|of these)\b| (?:is|are|should|would|do|does|will|could|can)\b)"
    # "what's the newest of them?", "what is the best one?"
    r"|what(?:'s| is) the (?:[a-z-]+ ){1,2}(?:of (?:them|those|these)|one)\b)"
)
# Within a choice: one pick is asked for ("the most beginner friendly", "which should I start
# with?", "which would you pick?"); "which one is free?" asks which have a property instead, and
# "which is shortest?" is answered from the recorded lengths.
_PICK = re.compile(
    r"\b(?:most|least|best|top|easiest|simplest|gentlest|cheapest|hardest|first|better|newest|"
    r"latest|easier|simpler|cheaper|more (?:affordable|accessible|beginner)|less expensive|"
    r"should i (?:start|begin|read|take|try|pick|choose|go|use)|"
    r"would you (?:pick|choose|recommend|go|start|read|take|use)|(?:do|would) you recommend)\b"
)
# Superlatives that choose by level or cost, read only within a choice: "the simplest model
# every later one must beat" and "one of the cheapest ways to cut latency" ask for neither.
_EASIEST = re.compile(
    r"\b(?:easiest|simplest|gentlest|most accessible|easier|simpler|gentler|more accessible)\b"
)
_CHEAPEST = re.compile(
    r"\b(?:cheapest|least expensive|most affordable|cheaper|less expensive|more affordable)\b"
)
BY_LENGTH = re.compile(r"\b(?:shortest|longest|quickest|shorter|longer|quicker|how long)\b")
SAME_TOPIC = re.compile(
    r"\b(same (topic|subject|area|thing|theme)|on that|about that|on this|about this|on it|"
    r"that topic|this topic|for that|for this|with that|with this|with it|similar)\b"
)
# "which tools implement it?", "is there a course that covers this?": a pronoun standing for
# what the last answer was about. One that closes the message or follows a verb or preposition
# counts; "this book" opens a noun phrase, and after "X and" or a comma it points back to X in
# the same message ("what is RAG and when do I need it?"), so neither does. "What is it called
# when ..." and "what does it mean to ..." use a dummy "it". A long question carries its own
# antecedent ("... teaching a smaller copy of it?"): see `MAX_REFERRING_WORDS`.
REFERENCE = re.compile(
    r"^(?:(?!\band\b|,|;).)*?\b(?:it|this|that)\b(?=\s*[?.!]*\s*$)"
    r"|^(?:how|why|when|where) (?:does|do|did|is|was|would|could|can|should|will) it\b"
    r"|^(?:who|what) (?:is|are) (?:it|this|that) (?:for|about)\b"
    r"|^(?:(?!\band\b|,|;).)*?\b(?:about|for|on|with|in|into|of|from|behind|implements?|"
    r"implementing|use[sd]?|using|try|practi[cs]e|cover(?:s|ing)?|teach(?:es|ing)?|"
    r"explain(?:s|ing)?|build(?:s|ing)?|deploy(?:s|ing)?|learn(?:ing)?|study(?:ing)?|master|"
    r"understand(?:ing)?|support(?:s|ing)?|run(?:s|ning)?|handle[sd]?|set up|started with|"
    # What one does with the thing just defined: "how do I set it for a model?", "how do I
    # measure it?", "how do teams prevent it?".
    r"set|need|make|create|choose|pick|get|add|measure|monitor|detect|prevent|avoid|fix|test|"
    r"evaluate|design|scale|tune|compute|store|serve|train|track|apply|adopt|introduce|debug)"
    r"\s+it\b"
    # "Do I need one?", "how do I build one?": one of the thing just defined.
    r"|^(?:(?!\band\b|,|;).)*?\b(?:need|build|get|set up|set|choose|pick|use|make|create|run|"
    r"deploy|buy|have|want|start|implement|add|design)\s+one"
    # "one" closing the message or its clause; "need one good book" is a number.
    r"(?=\s*[?.!]*\s*$|\s+(?:for|in|on|at|with|from|now|first|up|myself|ourselves|or)\b)"
)
# "In a month", "two hours a week", "over the next few weekends": when and how long, which says
# nothing of the subject ("in a month" is no reason to list *The Mythical Man-Month*).
TIMEFRAME = re.compile(
    r"\b(?:(?:in|within|for|over|during|next|this|per|every|each|the next|the coming|a|an|one|"
    r"two|three|four|five|six|few|a few|couple(?: of)?|a couple of|several|\d+)\s+)+"
    r"(?:days?|weeks?|weekends?|months?|years?|hours?|minutes?|evenings?|nights?)\b"
    r"(?:\s+(?:a|an|per|each|every)\s+(?:day|week|weekend|month|year))?"
)


def without_timeframes(text: str) -> str:
    """The text with its time frames blanked ("interview in a month" -> "interview")."""
    return re.sub(r"\s+", " ", TIMEFRAME.sub(" ", text)).strip()


# Words of its own a message that refers back may have: "which tools implement it?" (1), "how
# does it scale to millions of users?" (3); past that, the message says what "it" is.
MAX_REFERRING_WORDS = 3
TOPIC_SWAP = re.compile(r"^(and|what about|how about|and for|and what about|ok,? and|now|also)\b")
# "something shorter?", "anything more hands-on?", "one less theoretical": the last request
# again, changed in the respect its words say.
COMPARATIVE = re.compile(
    r"^(?:(?:is there|are there|do you have|got|have you got|any|anything|something|one|ones|"
    r"a|an|maybe|ok|okay|hmm|and)\s+)+(?:(?:a )?(?:bit|little|lot) )?"
    r"(?:(?:more|less) [a-z][a-z-]+|shorter|quicker|lighter|briefer|smaller)\b"
)
# A shorter read than a book or a course: a post or a paper.
SHORTER = re.compile(r"\b(?:shorter|quicker|lighter|briefer|smaller|less long)\b")
SHORTER_KINDS = ("blog", "paper")
# "the single best book on X", "if I could read only one", "just one course": one pick, not a list.
ONE = re.compile(
    r"\b(?:single best|a single (?:book|course|paper|resource|blog|tool|thing)|"
    r"(?:only|just|time for|room for) one (?:book|course|paper|resource|blog|tool|thing)|"
    r"(?:had|have) to (?:pick|choose) (?:just )?one|your top pick|"
    r"the one (?:book|course|paper|resource|thing) (?:to|i should|you'?d|you would)|"
    r"if i (?:can|could) (?:only )?(?:read|take|do|pick) (?:only )?one)\b"
)
# "show me more": the same request again, without what was already shown.
MORE = re.compile(
    r"\b(show me more|more (results|options|suggestions|of (those|these|them)|like (these|those))|"
    r"(any|some)(thing|one)? else|what else|other (ones|options|resources|suggestions)|others|"
    r"next (ones|few|page)|keep going)\b"
)
# "the second one", "#2": one resource of the last answer, by its place in the list.
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
             "4th": 4, "fifth": 5, "5th": 5, "last": -1}  # fmt: skip
ORDINAL = re.compile(
    r"\b(?:the )?(" + "|".join(_ORDINALS) + r") (?:one|item|resource|result|link|pick|suggestion)\b"
    r"|(?:#|\bnumber |\bno\. ?)([1-9])\b"
    # "Summarize the third", "what about the last?": "the" and a place closing the message
    # ("which should I read first?" has no "the").
    r"|\bthe (" + "|".join(_ORDINALS) + r")(?=\s*[?.!]*\s*$)"
)
# "What should I read after DMLS?", "I've finished DDIA, what next?": what goes on from one
# resource (found as more like it, without it).
_AFTER = (
    r"(?:read|learn|study|take|do|next) after|after (?:reading|finishing|taking)|"
    r"finished|done with|already read|i've read|i have read"
)
AFTER_READING = re.compile(rf"\b(?:{_AFTER})\b")
# "something like Feast", "similar to the second one": more like one resource.
SIMILAR = re.compile(
    r"\b(similar|something like|anything like|more like|alternatives?|comparable|"
    r"in the same vein|like (that|this|it) one|"
    r"(?:else|anything|something|others?|ones?) (?:is |are )?like (?:it|that|this|them|those)|"
    r"(books?|courses?|papers?|blogs?|tools?|repos?|resources?|reads?|ones|stuff) like|"
    + _AFTER
    + r")\b"
)
# Which kind of small talk: the classifier says it is small talk, these words say which.
_YES_NO = re.compile(r"^(?:is|are|does|do|would|will|can|could)\s+(?:the\s+|this\s+|that\s+)?")


def _judged(text: str, name_starts: Sequence[int]) -> bool:
    """Whether a message asks yes or no of one resource: named right after the verb ("is vLLM
    open source?") or referred to ("is it free?"); "is there a free book like DDIA?" is not."""
    verb = _YES_NO.match(text)
    if not verb:
        return False
    if len(set(name_starts)) == 1:
        return name_starts[0] == verb.end()
    referred = re.match(r"(?:it|this one|that one)\b", text[verb.end() :])
    # "is the first one free?", "is #2 open source?": one resource of the last answer, by place.
    placed = ORDINAL.match(text, verb.end())
    return not name_starts and bool(referred or placed)


_THANKS = re.compile(r"\b(thanks?|thx|ty|cheers|appreciate\w*|helpful|useful|great|perfect)\b")
_GOODBYE = re.compile(r"\b(bye|goodbye|see you|see ya|that'?s all|that is all|later|good night)\b")

# Words that carry no topic: question scaffolding, politeness, constraint words.
_FILLER = set(
    """a an as the and or of for to in on at by with about from into any some anything something
    what which who whom whose where when why how is are was were be been do does did can could
    should would will shall may might must i me my we our you your it its this that these those
    them they there here please thanks thank good best great top recommend recommendation
    recommendations suggest suggestions read reading learn learning study resources resource
    i'm i've i'd stuff things thing material materials want need looking look find give show
    tell list more
    also only just really very same topic subject area one ones else other get like kind sort
    ok okay now then so well hey hi hello start where begin new go goes friendly
    similar alternative alternatives comparable vein others next sounds instead cover covers
    covering pick choose cheaper cheapest easier easiest simpler simplest affordable
    option options choice choices""".split()
)


@dataclass(frozen=True)
class ParsedMessage:
    """What one message says, read on its own (the conversation resolves it into a Request)."""

    original: str
    text: str  # corrected text used for retrieval
    corrections: dict[str, str] = field(default_factory=dict)
    intent: Intent = "recommend"  # the classifier's in-scope reading
    scope: float = 1.0  # the classifier's probability that the message is about this domain
    smalltalk: str = ""  # "greeting", "thanks" or "goodbye": a message with no request in it
    kinds: tuple[str, ...] = ()
    excluded_kinds: tuple[str, ...] = ()  # "not a book", "I don't want tools"
    avoided_topics: tuple[str, ...] = ()  # "not too mathematical": ML theory left out
    unlisted_kinds: tuple[str, ...] = ()  # "any podcasts?": a format the catalog has none of
    free_only: bool = False
    open_source: bool = False
    recent: bool = False  # "the newest book on X": dated resources newest first
    level: str | None = None
    role: str | None = None
    authors: tuple[str, ...] = ()
    mentioned: tuple[str, ...] = ()  # resource ids the message names
    topics: tuple[str, ...] = ()
    # Topics named together as one subject ("LLM serving", "ML system design interviews").
    compound_topics: tuple[tuple[str, ...], ...] = ()
    topic_words: tuple[str, ...] = ()  # content words left after removing constraints
    anaphoric: bool = False  # refers to the previous answer's resources
    same_topic: bool = False  # keeps the previous topic
    refers: bool = False  # a pronoun for what the last answer was about ("tools for it?")
    pronoun: bool = False  # such a pronoun beside a subject of its own ("compare it to X")
    instead: bool = False  # "anything free instead?": others than those just shown
    topic_swap: bool = False  # "and for X?": keeps intent and constraints, new topic
    more: bool = False  # "show me more": the last request again, without what was shown
    ordinal: int | None = None  # "the second one": 1-based place in the last answer, -1 = last
    similar: bool = False  # "something like ...": more like one resource
    comparative: bool = False  # "something shorter?": the last request, changed in one respect
    one: bool = False  # "the single best book on X": one pick, not a list
    # "Is vLLM open source?", "is it free?": a yes-or-no question about the one resource it
    # names (or "it"), whose constraint words are what is asked, not a filter.
    judged: bool = False

    @property
    def domain(self) -> bool:
        """Whether the classifier reads the message as about learning ML systems."""
        return self.scope >= 0.5


@dataclass(frozen=True)
class Request:
    """What the conversation resolved a message into: the request retrieval and ranking serve.

    The constraint names (kinds, free_only, open_source, level, topics, ...) are those of the
    parsed message; the follow-up fields say how earlier turns shaped it.
    """

    original: str
    text: str
    corrections: dict[str, str] = field(default_factory=dict)
    intent: Intent = "recommend"
    scope: float = 1.0
    smalltalk: str = ""
    kinds: tuple[str, ...] = ()
    excluded_kinds: tuple[str, ...] = ()
    avoided_topics: tuple[str, ...] = ()
    unlisted_kinds: tuple[str, ...] = ()
    free_only: bool = False
    open_source: bool = False
    recent: bool = False
    level: str | None = None
    role: str | None = None
    authors: tuple[str, ...] = ()
    mentioned: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    # Topics named together as one subject ("LLM serving", "ML system design interviews").
    compound_topics: tuple[tuple[str, ...], ...] = ()
    topic_words: tuple[str, ...] = ()
    anaphoric: bool = False
    same_topic: bool = False
    refers: bool = False
    pronoun: bool = False
    instead: bool = False
    topic_swap: bool = False
    more: bool = False
    ordinal: int | None = None
    similar: bool = False
    comparative: bool = False
    one: bool = False
    judged: bool = False
    restrict_to: tuple[str, ...] = ()  # "any of those ...": only the last answer's resources
    follow_up: FollowUp = ""
    similar_to: str = ""  # the resource to find more like
    exclude: tuple[str, ...] = ()  # already shown, not again
    # "I've read DMLS, what next?": what the person said they have read or finished, left out
    # of every later answer in the conversation unless they name it again.
    finished: tuple[str, ...] = ()
    # "Which book covers both?" after two concepts side by side: those concepts' ids.
    both_of: tuple[str, ...] = ()
    # "Any papers on it?" after "what is quantization?": the glossary concepts the conversation
    # is on, whose resources are the subject when no catalog topic names it.
    about: tuple[str, ...] = ()
    # The resources retrieval ranked first for the message's own words, before the glossary
    # added any: evidence for the concept an explain question means without naming it.
    retrieved: tuple[str, ...] = ()

    @classmethod
    def of(cls, message: ParsedMessage, **resolved: object) -> Request:
        """A request that is the message as it stands, plus what the conversation resolved."""
        said = {f.name: getattr(message, f.name) for f in fields(ParsedMessage)}
        return cls(**(said | resolved))

    @property
    def domain(self) -> bool:
        """Whether the classifier reads the message as about learning ML systems."""
        return self.scope >= 0.5

    def to_dict(self) -> dict[str, object]:
        """The understood request as plain data (the `query_used` of an answer)."""
        data: dict[str, object] = {"text": self.text, "intent": self.intent}
        optional: dict[str, object] = {
            "corrections": self.corrections,
            "kinds": list(self.kinds),
            "excluded_kinds": list(self.excluded_kinds),
            "avoided_topics": list(self.avoided_topics),
            "unlisted_kinds": list(self.unlisted_kinds),
            "free_only": self.free_only,
            "open_source": self.open_source,
            "recent": self.recent,
            "level": self.level,
            "role": self.role,
            "authors": list(self.authors),
            "mentioned": list(self.mentioned),
            "topics": list(self.topics),
            "compound_topics": [list(group) for group in self.compound_topics],
            "restrict_to": list(self.restrict_to),
            "follow_up": self.follow_up,
            "similar_to": self.similar_to,
            "finished": list(self.finished),
            "exclude": list(self.exclude),
            "both_of": list(self.both_of),
            "about": list(self.about),
            "judged": self.judged,
        }
        data.update({k: v for k, v in optional.items() if v})
        return data


# The name other stages have always used for the record they rank and compose from.
ParsedQuery = Request


def _ordinal(text: str) -> int | None:
    found = ORDINAL.search(text)
    if found is None:
        return None
    if found.group(2):
        return int(found.group(2))
    return _ORDINALS[found.group(1) or found.group(3)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9+#/.'-]*[a-z0-9+#]|[a-z0-9]", text)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with each span blanked out by spaces (every other position stays where it was)."""
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _choose(scores: IntentScores, exclude: tuple[str, ...]) -> Intent:
    """The most likely intent other than those excluded (out of scope is judged later, on the
    whole question with retrieval evidence: see `ranking.out_of_scope`)."""
    if scores.best == "out_of_scope":  # its content reading: small talk is no fallback
        return cast(Intent, scores.best_of(("recommend", "explain", "compare")))
    allowed = tuple(i for i in INTENTS if i not in exclude)
    return cast(Intent, scores.best_of(allowed))


def _role_named(match: re.Match[str] | None) -> str | None:
    """The role a `_ROLE` match names: the phrase itself ("devops"), or its singular ("SREs")."""
    if match is None:
        return None
    name = match.group(1)
    return _ROLE_OF.get(name) or _ROLE_OF.get(name.removesuffix("s"))


def _role(text: str) -> str | None:
    """The role the asker gives themselves ("I'm an analyst"), unless negated ("I'm not a ...")."""
    if _LEADS.search(text):
        return "manager"
    if _START.search(text):  # "SRE here, where do I start?"
        return _role_named(_ROLE.search(text))
    for said in _SELF.finditer(text):
        # The role follows within a few words: "I'm a senior data engineer", "as an SRE".
        window = text[said.end() : said.end() + 40]
        found = _ROLE.search(window)
        # A bare "for" names a role only right after it: "for ML engineers", not "for
        # hundreds of engineers" nor "for experienced engineers".
        if found and said.group(1) == "for" and window[: found.start()].strip():
            continue
        if found and not re.search(r"\b(not|no longer|never)\b", window[: found.start()]):
            return _role_named(found)
    return None


# "Move into ML", "break into machine learning, where do I begin?": the field named alone
# after an aim is the work of an ML engineer; "get into ML system design" names a subject.
_FIELD_ALONE = re.compile(
    r"\s*(ml|machine learning|ai)(?=\s*(?:[,.?!;]|$)|\s+(?:from|as|and|but|so|where|what|"
    r"how|after|coming|now|next|soon|eventually|one day|someday)\b)"
)


def _aim(text: str) -> tuple[int, int, str] | None:
    """Where a text names the role the asker aims at ("get into ML engineering", "become a
    data engineer", "move into ML"), and that role."""
    for aim in _AIM.finditer(text):
        found = _ROLE.search(text, aim.end(), aim.end() + 30)
        role = _role_named(found)
        if found and role:
            return found.start(), found.end(), role
        alone = _FIELD_ALONE.match(text, aim.end())
        if alone:
            return alone.start(1), alone.end(1), "ml-engineer"
    return None


class QueryParser:
    """Parses messages: spelling, constraints with their negation, topics, names and intent."""

    def __init__(
        self,
        catalog: Catalog,
        corpus_texts: Iterable[str],
        embedder: Embedder,
        glossary: ConceptIndex | None = None,
    ) -> None:
        self._catalog = catalog
        self._glossary = glossary or ConceptIndex({})
        # A glossary name's words name a catalog topic only if what teaches the concept covers
        # it: "vector database" is not the distributed-systems topic, "batch jobs" not careers.
        self._concept_topics = {
            c.id: {t for rid in c.resources if rid in catalog.resources
                   for t in catalog.resources[rid].topics}
            for c in self._glossary.concepts.values()
        }  # fmt: skip
        self._linker = ResourceLinker(catalog.resources.values())
        resources = list(catalog.resources.values())
        names = [n for r in resources for n in (*r.names, *r.authors)]
        texts = [*corpus_texts, *(f"{r.summary} {r.best_for}" for r in resources)]
        # The vocabulary's own words are known words: "statistician" is a role, not a typo.
        texts += [" ".join(terms) for terms in (*TOPIC_PHRASES.values(), *ROLES.values())]
        texts += [re.sub(r"[^a-z]+", " ", pattern) for pattern in KIND_WORDS.values()]
        self._speller = SpellCorrector(texts, names)
        self._intents = IntentClassifier(embedder)
        self._topics = TopicMatcher()
        # Compiled once: parse() is on every request's path.
        self._authors = [
            (re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])"), full)
            for name, full in self._author_names(catalog).items()
        ]

    @staticmethod
    def _author_names(catalog: Catalog) -> dict[str, str]:
        """Normalized author name (full, or a surname that names one person) -> full name."""
        full: dict[str, str] = {}
        surnames: dict[str, set[str]] = {}
        for resource in catalog.resources.values():
            for author in resource.authors:
                full[normalize(author)] = author
                last = normalize(author).split()[-1]
                if len(last) >= 4 and last not in ("jr.", "al."):
                    surnames.setdefault(last, set()).add(author)
        for last, people in surnames.items():
            if len(people) == 1 and last not in full:
                full[last] = next(iter(people))
        return full

    def prepare(self) -> None:
        """Build what a first typo would otherwise wait for (a server does, at start-up)."""
        self._speller.prepare()

    @property
    def prepared(self) -> bool:
        """Whether the typo index is built."""
        return self._speller.prepared

    def correct(self, text: str) -> tuple[str, dict[str, str]]:
        """Fix likely typos ("feture stor" -> "feature store"); English and names stay."""
        return self._speller.correct(text)

    def speaks_of(
        self, topics: Collection[str], concepts: Collection[str]
    ) -> Callable[[str], bool]:
        """Whether a sentence speaks of one of these catalog topics or glossary concepts."""
        wanted, named = set(topics), set(concepts)

        def test(sentence: str) -> bool:
            text = normalize(sentence)
            if named and self._glossary.spans(text, among=named):
                return True
            return bool(wanted) and bool(wanted & set(self._topics.find(text)[0]))

        return test

    def parse(self, message: str) -> ParsedMessage:
        """Understand one message on its own (the conversation adds context afterwards)."""
        original = message.strip()
        lowered = normalize(original)
        text, corrections = self.correct(lowered)
        scores = self._intents.scores(text)
        names = self._linker.mentions(text)
        mentioned = tuple(dict.fromkeys(rid for _, _, rid in names))
        authors = tuple(
            dict.fromkeys(full for pattern, full in self._authors if pattern.search(text))
        )
        resources = self._catalog.resources
        # "I've read DMLS, what next on monitoring?": the name of what was read is not the
        # subject, so its words name no topic and are not searched ("designing ... systems").
        read = [(s, e) for s, e, _ in names] if AFTER_READING.search(text) else []
        named: list[tuple[int, int, Collection[str]]]
        named = [(s, e, () if read else resources[rid].topics) for s, e, rid in names]
        named += [(s, e, self._concept_topics[c.id]) for s, e, c in self._glossary.spans(text)]
        # The role aimed at is the subject, as a name is: "get into" frames it, and its words
        # name only what the role needs ("become a data engineer": data engineering).
        aim = _aim(text)
        if aim:
            named.append((aim[0], aim[1], ROLE_TOPICS.get(aim[2], ())))
        topics, topic_spans, compounds = self._topics.find(text, named)
        cues = find_cues(text, covered=[(start, end) for start, end, _ in topic_spans])
        constraints = read_constraints(cues)
        # A subject ruled out ("not too mathematical", "less theoretical") is not the subject:
        # what covers it is left out, and its words are neither searched nor the topic.
        # Only a request rules anything out: "why wasn't it caught without any alert?" describes
        # a problem, and its words are what to explain.
        requests = _choose(scores, exclude=("out_of_scope", "smalltalk")) not in EXPLAINING
        ruled = [
            (ruled_out(text, start, end) if requests else None, t) for start, end, t in topic_spans
        ]
        avoided_spans = [span for span, _ in ruled if span is not None]
        said = {t for span, t in ruled if span is None}
        avoided = tuple(t for t in topics if t not in said)
        topics = tuple(t for t in topics if t in said)
        compounds = tuple(group for group in compounds if not set(group) & set(avoided))
        # A study plan is for the role aimed at rather than the one held.
        role = aim[2] if aim else _role(text)
        stripped = _blank(text, [*((c.start, c.end) for c in cues), *avoided_spans, *read])
        for pattern in (TIMEFRAME, ANAPHORA, SAME_TOPIC, MORE, ORDINAL, SIMILAR):
            stripped = pattern.sub(" ", stripped)
        if role:
            # What the team does stays a subject: "a restaurant team" is no ML team.
            stripped = _ROLE.sub(" ", _LEADS.sub(r" \g<what> ", stripped))
        topic_words = tuple(w for w in _words(stripped) if w not in _FILLER and len(w) > 1)
        comparative = bool(COMPARATIVE.search(text)) and not (topics or mentioned or authors)
        pronoun = bool(REFERENCE.search(text)) and len(topic_words) <= MAX_REFERRING_WORDS
        pronoun = pronoun or bool(COMPARES_IT.search(text))
        refers = pronoun and not (topics or mentioned or authors)
        kinds = constraints.kinds
        if comparative and not kinds and SHORTER.search(text):
            kinds = SHORTER_KINDS
        chooses = bool(SELECTION.search(text)) and not (topics or kinds or mentioned or authors)
        picks_one = chooses and bool(_PICK.search(text)) and not BY_LENGTH.search(text)
        follow_up_cue = (
            chooses
            or comparative
            or any(p.search(text) for p in (ANAPHORA, MORE, ORDINAL, SIMILAR))
        )
        # The classifier reads the whole message; what it names can still overrule a reading
        # that cannot hold: a message naming a topic or a constraint is not small talk, and a
        # "where do I start" that names a subject is a search on it.
        asks = bool(topics or mentioned or authors or cues or follow_up_cue)
        intent = _choose(scores, exclude=("out_of_scope", *(("smalltalk",) if asks else ())))
        # A path towards a role ("a learning path for becoming an ML engineer") stays a path:
        # the career words are the role aimed at, not a subject to search.
        towards_role = bool(aim) and set(topics) <= {"career"}
        # "How do I break into machine learning?" asks for that path too, however the
        # classifier reads a message with no subject besides the role.
        if towards_role and intent in ("recommend", "explain") and not (mentioned or authors):
            intent = "learning_path"
        # "As a manager, where do I start?": where to start, with nothing to start on but the
        # role, asks for the role's path however the classifier reads the role's words.
        if intent == "recommend" and role and _START.search(text) and not topic_words:
            intent = "learning_path"
        if intent == "learning_path" and towards_role:
            topics = ()  # the path is shaped by the role, not by career advice
        elif intent == "learning_path" and (mentioned or authors or (topics and topic_words)):
            intent = "recommend"
        if len(mentioned) >= 2 and re.search(
            r"\b(or|vs\.?|versus|compare|comparing|differences? between|than)\b", text
        ):
            intent = "compare"  # two named resources set against each other
        elif intent in ("explain", "compare") and authors and len(authors) + len(mentioned) < 2:
            # A person is not a concept, nor one side of a comparison: "Alex Xu", "who is
            # Chip Huyen?" ask for what they wrote.
            intent = "recommend"
        if picks_one and intent != "smalltalk":
            # "Which would you pick?" asks for a recommendation among the last answer's, however
            # the classifier reads it (a comparison, a path "to start with").
            intent = "recommend"
        smalltalk = ""
        if intent == "smalltalk":
            thanks = "thanks" if _THANKS.search(text) else "greeting"
            smalltalk = "goodbye" if _GOODBYE.search(text) else thanks
        return ParsedMessage(
            original=original,
            text=" ".join(_blank(text, avoided_spans).split()),
            corrections=corrections,
            intent=intent,
            scope=round(scores.in_scope, 4),
            smalltalk=smalltalk,
            kinds=kinds,
            excluded_kinds=constraints.excluded_kinds,
            avoided_topics=avoided,
            unlisted_kinds=constraints.unlisted_kinds,
            free_only=constraints.free_only or (chooses and bool(_CHEAPEST.search(text))),
            open_source=constraints.open_source,
            recent=constraints.recent,
            level=constraints.level or ("beginner" if chooses and _EASIEST.search(text) else None),
            role=role,
            authors=authors,
            mentioned=mentioned,
            topics=topics,
            compound_topics=compounds,
            topic_words=topic_words,
            anaphoric=bool(ANAPHORA.search(text)) or chooses,
            same_topic=comparative or bool(SAME_TOPIC.search(text)) or refers,
            refers=refers,
            instead=bool(re.search(r"\binstead\b", text)),
            pronoun=pronoun,
            topic_swap=bool(TOPIC_SWAP.search(text)),
            more=bool(MORE.search(text)),
            ordinal=_ordinal(text),
            similar=bool(SIMILAR.search(text)),
            comparative=comparative,
            one=bool(ONE.search(text)) or picks_one,
            judged=_judged(text, [start for start, _, _ in names]),
        )
