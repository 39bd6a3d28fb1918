"""Ingest stage (shared by every later stage): the one vocabulary of kinds, levels, costs, roles,
goals and topics, with the words people use for each.

The catalog validator, the query parser, profiles, personalization and the UI all take their
lists from here, so a role the chat understands is a role a profile accepts.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Kind = Literal[
    "book", "course", "paper", "repo", "blog", "newsletter",
    "tool", "community", "conference", "platform",
]  # fmt: skip
Level = Literal["beginner", "intermediate", "advanced"]
Cost = Literal["free", "paid", "freemium"]

KINDS: tuple[str, ...] = get_args(Kind)
LEVELS: tuple[str, ...] = get_args(Level)  # ordered, easiest first
COSTS: tuple[str, ...] = get_args(Cost)


def level_gap(level: str, other: str) -> int:
    """How many levels apart two levels are (0, 1 or 2)."""
    return abs(LEVELS.index(level) - LEVELS.index(other))


# The words (regular expressions over lower-cased text) that name each kind of resource.
KIND_WORDS: dict[str, str] = {
    "book": r"books?|textbooks?|e-?books?",
    # Videos as a format, not as a subject ("video streaming", "recommending videos"): asked
    # for, wanted, watched or ruled out ("I don't want videos", "no videos").
    "course": r"courses?|class(es)?|lectures?|moocs?|bootcamps?|specializations?|tutorials?|"
    r"(any|some|good|free) videos|video (lectures?|courses?|tutorials?|series)|"
    r"(lecture|tutorial|youtube) videos|youtube channels?|"
    r"((?<=\bno )|(?<=\bnot )|(?<=\bwant )|(?<=\bwithout )|(?<=\blike )|(?<=\bprefer )|"
    r"(?<=\bwatch )|(?<=\bwatching )|(?<=\bwith )|(?<=\bmore ))videos",
    "paper": r"papers?|publications?|academic (work|articles?)",
    "repo": r"repos?|repositor(y|ies)|github|curated lists?|awesome[- ]lists?",
    "blog": r"blogs?|blog posts?|articles?|write-?ups?",
    "newsletter": r"newsletters?",
    "tool": r"tools?|tooling|frameworks?|librar(y|ies)",
    "community": r"communit(y|ies)|slack|discord|forums?|meetups?|subreddits?|reddit",
    "conference": r"conferences?|workshops?|summits?",
    "platform": r"(learning|interview|online|practice) platforms?|mock interviews?",
}

# Formats people ask for that the catalog has no kind for: the answer says so rather than
# quietly listing books ("any podcasts on MLOps?").
UNLISTED_KINDS: dict[str, str] = {
    "podcast": r"podcasts?",
    "cheat sheet": r"cheat[- ]?sheets?",
}

# Words that ask for a level: the label, then how people say it.
LEVEL_WORDS: dict[str, str] = {
    "beginner": r"beginners?|newbies?|novices?|intro(ductory|duction)?|new to|getting started|"
    r"start(ing)? out|basics|first steps|entry[- ]level|gentle|from scratch|zero to|"
    r"easier|simpler|easy|less (advanced|technical)|more accessible|accessible|"
    r"(know|knowing) (nothing|little) about|nothing about (ml|machine learning|ai|data science)|"
    r"(complete|total|absolute) (beginner|newbie)s?|"
    r"no (prior )?(ml )?(experience|background)|never (studied|learned|done|used)",
    "advanced": r"advanced|experts?|deep[- ]dives?|in[- ]depth|rigorous|research[- ]level|"
    r"hardcore|harder|more technical|senior",
    # "I know the basics", "past the basics": beyond a beginner's material.
    "intermediate": r"intermediate|(?:know|knowing|learned|covered|past|beyond|done with|got) "
    r"(?:the |all the )?basics",
}

# Roles: the catalog's audience ids, a plural label for answers, and every way people name them.
# The aliases are the slugs a profile accepts; the phrases are what a message says ("I'm an
# analyst"). Both come from the same list, so chat and profiles agree.
ROLES: dict[str, tuple[str, ...]] = {
    "data-scientist": ("data scientist", "ds", "analyst", "data analyst", "business analyst",
                       "statistician", "quant", "data science"),
    "ml-engineer": ("ml engineer", "mle", "machine learning engineer", "ai engineer",
                    "mlops engineer", "applied scientist", "ml engineering",
                    "machine learning engineering"),
    "software-engineer": ("software engineer", "swe", "backend engineer", "developer",
                          "programmer", "software developer", "web developer",
                          "full stack developer", "frontend engineer", "engineer",
                          "backend dev", "frontend dev", "web dev", "full stack dev",
                          "software dev"),
    "sre": ("site reliability engineer", "devops", "devops engineer", "on-call engineer",
            "sysadmin", "operations engineer"),
    "platform-engineer": ("platform engineer", "platform", "infra engineer",
                          "infrastructure engineer", "cloud engineer"),
    "data-engineer": ("data engineer", "de", "analytics engineer", "etl developer"),
    "manager": ("engineering manager", "em", "manager", "tech lead", "team lead", "leader",
                "product manager", "director", "cto"),
    "researcher": ("researcher", "research scientist", "scientist", "phd student", "academic",
                   "postdoc"),
    "student": ("student", "undergrad", "undergraduate", "graduate student", "grad student",
                "bootcamp student"),
}  # fmt: skip
ROLE_LABELS: dict[str, str] = {
    "sre": "SREs", "data-scientist": "data scientists", "software-engineer": "software engineers",
    "ml-engineer": "ML engineers", "data-engineer": "data engineers",
    "platform-engineer": "platform engineers", "manager": "managers",
    "researcher": "researchers", "student": "students",
}  # fmt: skip
AUDIENCES: tuple[str, ...] = tuple(ROLES)
# Short or bare aliases a profile accepts as a slug ("role: platform") but that a sentence uses
# otherwise ("a learning platform", "de" in a name): the parser does not read them as roles.
PROFILE_ONLY_ROLE_ALIASES = frozenset({"platform", "de", "em", "ds"})

# Goals a learner can set: the catalog topics each asks for, and other names for it.
GOAL_TOPICS: dict[str, tuple[str, ...]] = {
    "fundamentals": ("fundamentals", "system-design", "ml-theory"),
    "interviews": ("interviews", "system-design"),
    "production": ("mlops", "deployment", "serving", "monitoring", "reliability"),
    "llms": ("llms",),
    "research": ("ml-theory", "deep-learning", "technical-debt", "distributed-training"),
    "career": ("career", "product"),
    "data": ("data-engineering", "data-quality", "feature-stores"),
    "infrastructure": ("infrastructure", "orchestration", "distributed-systems", "devops"),
}
GOAL_KINDS: dict[str, tuple[str, ...]] = {"research": ("paper", "conference")}
GOALS: tuple[str, ...] = tuple(GOAL_TOPICS)
GOAL_ALIASES: dict[str, str] = {
    "interview": "interviews", "interview-prep": "interviews",
    "interview-preparation": "interviews",
    "llm": "llms", "genai": "llms", "generative-ai": "llms", "basics": "fundamentals",
    "foundations": "fundamentals", "mlops": "production", "deployment": "production",
    "papers": "research", "data-engineering": "data", "leadership": "career",
    "infra": "infrastructure", "platform": "infrastructure",
}  # fmt: skip

# Topic thesaurus: the catalog's topic tags and the phrases that name them. Bridges vocabulary
# gaps ("drift" is a monitoring question) for ranking boosts and keyword expansion.
TOPIC_PHRASES: dict[str, tuple[str, ...]] = {
    "feature-stores": ("feature store", "feature stores", "feature platform", "online features",
                       "offline store", "online store", "point-in-time", "feature serving",
                       "feature reuse", "feature sharing", "features for training and serving"),
    "serving": ("serving", "serve", "inference", "model server", "latency", "throughput",
                "endpoint", "real-time prediction", "batch prediction", "predictions",
                "tensorrt", "gpu serving", "slow in production", "slow predictions",
                "slow inference", "speed up inference", "faster inference", "response time",
                "response times"),
    "monitoring": ("monitoring", "monitor", "drift", "distribution shift", "data shift",
                   "concept drift", "observability", "alerting", "silent failure", "degrade",
                   "degradation", "decay", "look different", "dashboards", "metrics in production",
                   "accuracy drop", "performance drop"),
    "experiment-tracking": ("experiment tracking", "track experiments", "tracking experiments",
                            "log metrics", "hyperparameter", "compare runs", "model registry",
                            "experiments", "training runs", "experiment runs"),
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
                             "training at scale", "train large", "data parallelism",
                             "model parallelism", "parallelism", "several machines",
                             "many machines", "multiple machines"),
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
                     "bad data", "dirty data", "expectations", "class imbalance",
                     "imbalanced data", "imbalanced classes"),
    "system-design": ("system design", "architecture", "architectures", "design ml systems",
                      "designing", "end-to-end", "end to end"),
    "career": ("career", "job", "transition", "switch", "moving into", "move into",
               "get into", "getting into", "break into", "breaking into",
               "become an ml engineer"),
    "responsible-ai": ("fairness", "responsible ai", "ethics", "bias", "privacy"),
    "software-engineering": ("clean code", "craftsmanship", "code quality",
                             "software engineering", "project management", "refactoring",
                             "best practices"),
    "devops": ("devops", "docker", "kubernetes", "k8s", "infrastructure as code",
               "containers", "collaboration"),
    "testing": ("testing", "test", "unit test", "test my"),
    "deployment": ("deployment", "deploy", "deploying", "ship", "shipping", "rollout",
                   "a/b test", "a/b testing", "canary", "production"),
    "infrastructure": ("infrastructure", "infra", "ml platform", "cluster", "compute"),
    "product": ("product", "business", "scoping", "idea to product", "product-focused"),
}  # fmt: skip
TOPICS: tuple[str, ...] = tuple(TOPIC_PHRASES)
# Topic words that mean something else after certain words: a job a scheduler runs ("a nightly
# job", "training jobs") is no career move. After one of these, the word names no topic.
NOT_A_TOPIC_AFTER: dict[str, frozenset[str]] = {
    "job": frozenset({
        "nightly", "batch", "training", "retraining", "spark", "cron", "scheduled", "etl",
        "daily", "hourly", "weekly", "backfill", "streaming", "inference", "scoring",
        "pipeline", "airflow", "failed", "long-running", "gpu", "compute",
    }),
}  # fmt: skip
# Phrases that say where the asker stands rather than what they ask about: with another topic
# named, "new to feature stores" asks for feature stores (at an introductory level, which the
# level cues read), and "move into MLOps" asks for MLOps; alone ("where do I start?", "how do I
# switch careers?") they are the subject.
FRAMING_PHRASES: frozenset[str] = frozenset({
    "basics", "introduction", "intro", "getting started", "where do i start", "new to",
    "first book", "transition", "switch", "moving into", "move into", "get into", "getting into",
    "break into", "breaking into",
})  # fmt: skip
# How a topic reads in a sentence where its slug with spaces would not ("llms" -> "LLMs").
_TOPIC_LABELS = {"mlops": "MLOps", "llms": "LLMs", "ml-theory": "ML theory", "devops": "DevOps",
                 "responsible-ai": "responsible AI"}  # fmt: skip


def topic_label(topic: str) -> str:
    """A topic as a sentence writes it: 'feature stores', 'MLOps', 'LLMs'."""
    return _TOPIC_LABELS.get(topic, topic.replace("-", " "))


def slug(value: str) -> str:
    """A value as the vocabulary writes it: lower case, words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", value.strip().lower()).strip("-")


def role_for(value: str) -> str | None:
    """The role id a name stands for ("Analyst", "site reliability engineer", "sre"), or None."""
    wanted = slug(value)
    for role, aliases in ROLES.items():
        if wanted == role or wanted in {slug(a) for a in aliases}:
            return role
    return None


def goal_for(value: str) -> str | None:
    """The goal id a name stands for ("interview prep", "LLM"), or None."""
    wanted = slug(value)
    goal = GOAL_ALIASES.get(wanted, wanted)
    return goal if goal in GOAL_TOPICS else None


def kind_for(value: str) -> str | None:
    """The kind a word names ("Books", "course", "repositories"), or None."""
    wanted = value.strip().lower()
    for kind, pattern in KIND_WORDS.items():
        if re.fullmatch(pattern, wanted) or wanted.removesuffix("s") == kind:
            return kind
    return None
