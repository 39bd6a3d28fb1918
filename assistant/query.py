"""Assistant stage: understand a question without an LLM (constraints, typos, topics, intent)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.catalog import Catalog
from ingest.linking import ResourceLinker, normalize

KIND_PATTERNS: dict[str, str] = {
    "book": r"books?|textbooks?|ebooks?",
    "course": r"courses?|class(es)?|lectures?|moocs?|bootcamps?|specializations?|tutorials?",
    "paper": r"papers?|publications?|academic (work|articles?)",
    "repo": r"repos?|repositor(y|ies)|github|curated lists?|awesome[- ]lists?",
    "blog": r"blogs?|blog posts?|articles?|write-?ups?",
    "newsletter": r"newsletters?",
    "tool": r"tools?|tooling|frameworks?|librar(y|ies)|software",
    "community": r"communit(y|ies)|slack|discord|forums?|meetups?|subreddits?|reddit",
    "conference": r"conferences?|workshops?|summits?",
    "platform": r"(learning|interview|online|practice) platforms?|mock interviews?",
}
_KINDS = {kind: re.compile(rf"\b({pattern})\b") for kind, pattern in KIND_PATTERNS.items()}
_FREE = re.compile(r"\b(free|no[- ]cost|without paying|gratis|zero budget|no budget)\b")
_OPEN = re.compile(
    r"\b(open[- ]?source[ds]?|oss|foss|self[- ]?host(ed|ing|able)?|on[- ]?prem\w*)\b"
)
_LEVELS = {
    "beginner": re.compile(
        r"\b(beginners?|newbies?|novices?|intro(ductory|duction)?|new to|getting started|"
        r"start(ing)? out|basics|first steps|entry[- ]level|gentle|from scratch|zero to|"
        r"easier|simpler|less (advanced|technical)|more accessible)\b"
    ),
    "advanced": re.compile(
        r"\b(advanced|experts?|deep[- ]dives?|in[- ]depth|rigorous|research[- ]level|hardcore|"
        r"harder|more technical)\b"
    ),
    "intermediate": re.compile(r"\bintermediate\b"),
}
ROLE_PATTERNS: dict[str, str] = {
    "sre": r"sres?|site reliability( engineers?)?|devops( engineers?)?|on-?call engineers?",
    "data-scientist": r"data scientists?|analysts?",
    "software-engineer": r"software engineers?|swes?|backend engineers?|developers?|programmers?",
    "ml-engineer": r"ml engineers?|machine learning engineers?|mles?",
    "data-engineer": r"data engineers?",
    "platform-engineer": r"platform engineers?|infra(structure)? engineers?",
    "manager": r"(engineering )?managers?|tech leads?|team leads?|leaders?",
    "researcher": r"researchers?|phd students?|academics?",
    "student": r"students?|undergrads?|graduates?",
}
_ROLES = {role: re.compile(rf"\b({pattern})\b") for role, pattern in ROLE_PATTERNS.items()}
_SELF = re.compile(r"\b(i'?m|i am|as an?|for an?|we are|we're)\b")

# Topic thesaurus: words people use -> the catalog's topic tags. Bridges vocabulary gaps
# ("drift" is a monitoring question) for ranking boosts and keyword expansion.
TOPIC_TERMS: dict[str, tuple[str, ...]] = {
    "feature-stores": ("feature store", "feature stores", "feature platform", "online features",
                       "offline store", "online store", "point-in-time", "feature serving",
                       "feature reuse", "feature sharing", "features for training and serving"),
    "serving": ("serving", "serve", "inference", "model server", "latency", "throughput",
                "endpoint", "real-time prediction", "batch prediction", "predictions",
                "tensorrt", "gpu serving"),
    "monitoring": ("monitoring", "monitor", "drift", "distribution shift", "data shift",
                   "concept drift", "observability", "alerting", "silent failure", "degrade",
                   "degradation", "decay", "look different", "dashboards", "metrics in production"),
    "experiment-tracking": ("experiment tracking", "track experiments", "tracking experiments",
                            "log metrics", "hyperparameter", "compare runs", "model registry",
                            "experiments", "runs"),
    "orchestration": ("orchestration", "orchestrate", "orchestrator", "workflow", "workflows",
                      "dag", "dags", "scheduler", "schedule", "scheduling", "retries", "pipelines"),
    "interviews": ("interview", "interviews", "interviewing", "hiring loop", "onsite", "faang",
                   "mock", "job hunt", "prep", "preparation", "prepare"),
    "technical-debt": ("technical debt", "tech debt", "hidden debt", "entanglement",
                       "maintainability", "maintenance cost", "glue code", "feedback loops"),
    "distributed-systems": ("distributed systems", "distributed system", "replication",
                            "partitioning", "consistency", "consensus", "data-intensive",
                            "databases", "scalability", "scaling"),
    "data-engineering": ("data engineering", "data pipeline", "data pipelines", "etl", "elt",
                         "warehouse", "lakehouse", "streaming", "batch processing", "ingestion",
                         "data platform", "data mesh", "data architecture"),
    "llms": ("llm", "llms", "large language model", "large language models", "gpt", "rag",
             "retrieval augmented", "fine-tuning", "fine tuning", "chatbot", "genai",
             "generative", "pagedattention", "language models"),
    "recommender-systems": ("recommendation", "recommendations", "recommender", "recsys",
                            "personalization", "ranking", "feeds", "search ranking"),
    "reliability": ("reliability", "reliable", "sre", "site reliability", "on-call", "oncall",
                    "incident", "incidents", "outage", "outages", "uptime", "pager", "3am",
                    "postmortem", "slo", "slos", "production health", "keep running"),
    "distributed-training": ("distributed training", "multi-gpu", "multiple gpus", "gpus",
                             "multi-node", "large model training", "memory optimization",
                             "training at scale", "train large"),
    "training": ("training", "train", "fine-tune"),
    "deep-learning": ("deep learning", "neural network", "neural networks", "transformer",
                      "transformers", "attention"),
    "ml-theory": ("theory", "theoretical", "statistical learning", "math", "mathematics",
                  "mathematical", "learning theory", "statistics", "probability", "proofs",
                  "algorithms"),
    "fundamentals": ("fundamentals", "basics", "foundations", "foundational", "introduction",
                     "intro", "getting started", "where do i start", "new to", "first book"),
    "mlops": ("mlops", "ml ops", "ci/cd", "cicd", "productionize", "productionizing",
              "lifecycle", "operationalize", "automation"),
    "case-studies": ("case study", "case studies", "real world", "real-world", "how companies",
                     "in industry", "netflix", "uber", "spotify", "airbnb", "war stories",
                     "at scale in practice"),
    "data-quality": ("data quality", "data validation", "data-centric", "labeling", "labels",
                     "bad data", "dirty data", "expectations"),
    "system-design": ("system design", "architecture", "architectures", "design ml systems",
                      "designing", "end-to-end", "end to end"),
    "career": ("career", "job", "transition", "switch", "moving into", "move into",
               "become an ml engineer"),
    "responsible-ai": ("fairness", "responsible ai", "ethics", "bias", "privacy"),
    "software-engineering": ("clean code", "craftsmanship", "code quality",
                             "software engineering", "project management", "refactoring"),
    "devops": ("devops", "docker", "kubernetes", "k8s", "infrastructure as code",
               "containers", "collaboration"),
    "testing": ("testing", "test", "unit test", "test my"),
    "deployment": ("deployment", "deploy", "deploying", "ship", "shipping", "rollout",
                   "a/b test", "a/b testing", "canary", "production"),
    "infrastructure": ("infrastructure", "infra", "ml platform", "cluster", "compute"),
    "product": ("product", "business", "scoping", "idea to product", "product-focused"),
}  # fmt: skip


def _inflected(term: str) -> str:
    """A term's pattern that also takes its words' regular inflections ("look different" finds
    "looking different", "hyperparameter" finds "hyperparameters", "test" finds "tested")."""
    return r"\s+".join(
        re.escape(word) + (r"(?:s|es|ed|d|ing)?" if word[-1].isalpha() else "")
        for word in term.split()
    )


_TOPIC_PATTERNS = {
    topic: re.compile(r"\b(" + "|".join(_inflected(t) for t in terms) + r")\b")
    for topic, terms in TOPIC_TERMS.items()
}
# Words that place a question in machine learning. A topic word alone does not: "switch",
# "unit test" or "pipelines" mean other things elsewhere; out-of-scope detection asks for one
# of these (or a named resource or author) before trusting a question with a weak match.
_DOMAIN = re.compile(
    r"\b(ml|ai|mlops|llms?|genai|machine[- ]learning|deep[- ]learning|data[- ]scien\w*|"
    r"models?|modell?ing|neural|predictive|predictions?|inference|hyperparameters?|embeddings?|"
    r"datasets?|training data|features? (stores?|engineering|pipelines?)|drift|"
    r"recommend(er|ation) (systems?|engines?)|recsys|transformers?|gpus?|fine[- ]tun\w*|"
    r"rag|classifiers?|regression|overfitting|data (pipelines?|quality|engineering))\b"
)

_COMPARE = re.compile(
    r"\b(vs\.?|versus|compare|comparing|comparison|difference between|differences between|"
    r"which is better|better than)\b"
)
_EXPLAIN = re.compile(
    r"^(what is|what's|what are|whats|explain|define|how does|how do|why do|why)\b"
)
_RECOMMEND_CUES = re.compile(
    r"\b(read|resources?|recommend\w*|learn|study|start|suggest\w*|should i|good|best|"
    r"books?|courses?|papers?|tools?|list|where)\b"
)
ANAPHORA = re.compile(
    r"\b(those|these|them|of the above|that list|the ones|which ones|any of th\w+|ones you)\b"
)
SAME_TOPIC = re.compile(
    r"\b(same (topic|subject|area|thing|theme)|on that|about that|on this|about this|on it|"
    r"that topic|this topic|for that|for this|with that|with this|with it|similar)\b"
)
TOPIC_SWAP = re.compile(r"^(and|what about|how about|and for|and what about|ok,? and|now|also)\b")
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
)
# "something like Feast", "similar to the second one": more like one resource.
SIMILAR = re.compile(
    r"\b(similar|something like|anything like|more like|alternatives?|comparable|"
    r"in the same vein|like (that|this|it) one)\b"
)
_SMALLTALK = {
    "greeting": re.compile(
        r"^(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))( there| all| everyone)?$"
    ),
    "thanks": re.compile(r"^(thanks?( you)?( so much| a lot)?|thx|ty|cheers|great,? thanks?)$"),
    "goodbye": re.compile(r"^(bye|goodbye|see you|see ya|that's all|that is all)$"),
}

# Words that carry no topic: question scaffolding, politeness, constraint words.
_FILLER = set(
    """a an the and or of for to in on at by with about from into any some anything something
    what which who whom whose where when why how is are was were be been do does did can could
    should would will shall may might must i me my we our you your it its this that these those
    them they there here please thanks thank good best great top recommend recommendation
    recommendations suggest suggestions read reading learn learning study resources resource
    i'm i've i'd stuff things thing material materials want need looking look find give show
    tell list more
    also only just really very same topic subject area one ones else other get like kind sort
    ok okay now then so well hey hi hello start where begin new go goes friendly
    similar alternative alternatives comparable vein others next sounds""".split()
)


@dataclass(frozen=True)
class ParsedQuery:
    """What was understood from one message; shown to the user as `query_used`."""

    original: str
    text: str  # corrected text used for retrieval
    corrections: dict[str, str] = field(default_factory=dict)
    intent: str = "recommend"  # recommend | explain | compare | out_of_scope
    kinds: tuple[str, ...] = ()
    free_only: bool = False
    open_source: bool = False
    level: str | None = None
    role: str | None = None
    authors: tuple[str, ...] = ()
    mentioned: tuple[str, ...] = ()  # resource ids the message names
    topics: tuple[str, ...] = ()
    topic_words: tuple[str, ...] = ()  # content words left after removing constraints
    anaphoric: bool = False  # refers to the previous answer's resources
    same_topic: bool = False  # keeps the previous topic
    topic_swap: bool = False  # "and for X?": keeps intent and constraints, new topic
    restrict_to: tuple[str, ...] = ()  # set by the conversation for "any of those ..."
    follow_up: str = ""  # set by the conversation: "narrow", "same-topic" or "topic-swap"
    domain: bool = False  # uses machine-learning vocabulary (evidence the question is in scope)
    smalltalk: str = ""  # "greeting", "thanks" or "goodbye": a message with no request in it
    more: bool = False  # "show me more": the last request again, without what was shown
    ordinal: int | None = None  # "the second one": 1-based place in the last answer, -1 = last
    similar: bool = False  # "something like ...": more like one resource
    similar_to: str = ""  # set by the conversation: the resource to find more like
    exclude: tuple[str, ...] = ()  # set by the conversation: already shown, not again

    def to_dict(self) -> dict[str, object]:
        """The understood query as plain data (the `query_used` of an answer)."""
        data: dict[str, object] = {"text": self.text, "intent": self.intent}
        optional: dict[str, object] = {
            "corrections": self.corrections,
            "kinds": list(self.kinds),
            "free_only": self.free_only,
            "open_source": self.open_source,
            "level": self.level,
            "role": self.role,
            "authors": list(self.authors),
            "mentioned": list(self.mentioned),
            "topics": list(self.topics),
            "restrict_to": list(self.restrict_to),
            "follow_up": self.follow_up,
            "similar_to": self.similar_to,
            "exclude": list(self.exclude),
        }
        data.update({k: v for k, v in optional.items() if v})
        return data


def _ordinal(text: str) -> int | None:
    found = ORDINAL.search(text)
    if found is None:
        return None
    return _ORDINALS[found.group(1)] if found.group(1) else int(found.group(2))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9+#/.'-]*[a-z0-9+#]|[a-z0-9]", text)


class QueryParser:
    """Parses messages against the catalog and the corpus vocabulary."""

    def __init__(self, catalog: Catalog, corpus_texts: Iterable[str]) -> None:
        from rapidfuzz import fuzz, process

        self._fuzz, self._process = fuzz, process
        self._catalog = catalog
        self._linker = ResourceLinker(catalog.resources.values())
        vocabulary: set[str] = set()
        for text in corpus_texts:
            vocabulary.update(w for w in _words(normalize(text)) if len(w) >= 3)
        for terms in TOPIC_TERMS.values():
            for term in terms:
                vocabulary.update(_words(term))
        for pattern in (*KIND_PATTERNS.values(), *ROLE_PATTERNS.values()):
            vocabulary.update(re.findall(r"[a-z]{3,}", pattern))
        self._vocabulary = vocabulary
        self._by_initial: dict[str, list[str]] = {}
        for word in sorted(vocabulary):
            self._by_initial.setdefault(word[0], []).append(word)
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

    def correct(self, text: str) -> tuple[str, dict[str, str]]:
        """Fix likely typos against the corpus vocabulary ("feture stor" -> "feature store")."""
        corrections: dict[str, str] = {}

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if len(word) < 4 or word in self._vocabulary or not word.isalpha():
                return word
            # Same first letter: typos rarely change it, and it keeps unrelated words apart.
            candidates = self._by_initial.get(word[0], [])
            best = self._process.extractOne(
                word, candidates, scorer=self._fuzz.ratio, score_cutoff=80
            )
            if best is None:
                return word
            corrections[word] = best[0]
            return str(best[0])

        return re.sub(r"[a-z]+", fix, text), corrections

    def parse(self, message: str) -> ParsedQuery:
        """Understand one message on its own (the conversation adds context afterwards)."""
        original = message.strip()
        lowered = normalize(original)
        bare = lowered.strip(" !.,:;)(?")
        for kind, pattern in _SMALLTALK.items():
            if pattern.match(bare):
                return ParsedQuery(original, lowered, intent="smalltalk", smalltalk=kind)
        text, corrections = self.correct(lowered)
        mentioned = self._linker.find(text)
        kinds = tuple(kind for kind, pattern in _KINDS.items() if pattern.search(text))
        level = next((lvl for lvl, pattern in _LEVELS.items() if pattern.search(text)), None)
        role = None
        if _SELF.search(text) or re.search(r"\b(where|how) (do|should) i start\b", text):
            role = next((r for r, pattern in _ROLES.items() if pattern.search(text)), None)
        authors = tuple(
            dict.fromkeys(full for pattern, full in self._authors if pattern.search(text))
        )
        topics = tuple(t for t, pattern in _TOPIC_PATTERNS.items() if pattern.search(text))
        if _COMPARE.search(text) or (len(mentioned) >= 2 and re.search(r"\bor\b", text)):
            intent = "compare"
        elif _EXPLAIN.search(text) and not _RECOMMEND_CUES.search(text):
            intent = "explain"
        else:
            intent = "recommend"
        stripped = text
        for pattern in (*_KINDS.values(), _FREE, _OPEN, *_LEVELS.values(), ANAPHORA, SAME_TOPIC,
                        MORE, ORDINAL, SIMILAR):  # fmt: skip
            stripped = pattern.sub(" ", stripped)
        if role:
            stripped = _ROLES[role].sub(" ", stripped)
        topic_words = tuple(w for w in _words(stripped) if w not in _FILLER and len(w) > 1)
        return ParsedQuery(
            original=original,
            text=text,
            corrections=corrections,
            intent=intent,
            kinds=kinds,
            free_only=bool(_FREE.search(text)),
            open_source=bool(_OPEN.search(text)),
            level=level,
            role=role,
            authors=authors,
            mentioned=mentioned,
            topics=topics,
            topic_words=topic_words,
            anaphoric=bool(ANAPHORA.search(text)),
            same_topic=bool(SAME_TOPIC.search(text)),
            topic_swap=bool(TOPIC_SWAP.search(text)),
            domain=bool(_DOMAIN.search(text)),
            more=bool(MORE.search(text)),
            ordinal=_ordinal(text),
            similar=bool(SIMILAR.search(text)),
        )
