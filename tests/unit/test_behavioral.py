"""Behavioural suite for query understanding, in the CheckList style (Ribeiro et al. 2020; after
Made-With-ML's tests/model/test_behavioral.py): minimum functionality (MFT), invariance (INV) and
directional (DIR) cases, written from ordinary English rather than the eval questions.

Everything here runs the real parser: the real catalog and corpus text, the bundled embedding
model, the trained intent classifier, symspellpy with wordfreq. The cases the issue lists as
misreadings are marked "issue 11".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.concepts import ConceptIndex
from assistant.profiles import Profile
from assistant.query import ParsedMessage, QueryParser
from ingest.catalog import load_catalog
from ingest.concepts import load_concepts
from ingest.embedding import Embedder
from ingest.loading import load_source
from ingest.vocabulary import PROFILE_ONLY_ROLE_ALIASES, ROLES

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def parser(embedder: Embedder) -> QueryParser:
    """The real parser over the real catalog and corpus text."""
    catalog = load_catalog(CORPUS)
    texts = [load_source(s, CORPUS / "sources").text for s in catalog.sources.values()]
    glossary = ConceptIndex(load_concepts(CORPUS, catalog))
    return QueryParser(catalog, texts, embedder, glossary)


def parse(parser: QueryParser, message: str) -> ParsedMessage:
    return parser.parse(message)


# -- MFT: each constraint, stated plainly ----------------------------------------------------

KIND_CASES = [
    ("a good book on feature stores", ("book",)),
    ("any courses about MLOps?", ("course",)),
    ("papers on distributed training", ("paper",)),
    ("github repos for model serving", ("repo",)),
    ("blog posts about data drift", ("blog",)),
    ("a newsletter on machine learning engineering", ("newsletter",)),
    ("tools for experiment tracking", ("tool",)),
    ("an online community for MLOps people", ("community",)),
    ("conferences about applied ML", ("conference",)),
    ("a practice platform for mock interviews", ("platform",)),
    ("books or courses on system design", ("book", "course")),
    ("video lectures on deep learning", ("course",)),
    ("which libraries help with data validation", ("tool",)),
    ("a textbook on statistical learning", ("book",)),
    ("something with videos instead?", ("course",)),
    ("could you show me more videos?", ("course",)),
]


@pytest.mark.parametrize(("message", "kinds"), KIND_CASES)
def test_mft_kind_words_ask_for_that_kind(parser: QueryParser, message: str, kinds) -> None:
    assert parse(parser, message).kinds == kinds


# A kind word inside another term is not a request for that kind (issue 11).
NOT_A_KIND = [
    "how do I handle class imbalance in fraud detection models?",  # issue 11: not "courses"
    "software engineering best practices for data scientists",  # issue 11: not "tools"
    "my classifier suffers from class imbalance, what helps?",
    "how do people deal with imbalanced classes in churn prediction?",
    "what should I read in my free time about MLOps?",
    "no-code options for model monitoring",
]


@pytest.mark.parametrize("message", NOT_A_KIND)
def test_mft_a_kind_word_inside_a_term_is_no_kind(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).kinds == ()


FREE_CASES = [
    "a free course on MLOps",
    "budget: free, something on feature stores",
    "no paid resources on monitoring",
    "I can't spend money, nothing paid please",
    "free books about model serving",
    "something I can read without paying",
    "zero budget, what should I read on data engineering",
    "are there free tools for drift detection?",
    "resources on MLOps at no cost",
]


@pytest.mark.parametrize("message", FREE_CASES)
def test_mft_free_is_understood(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).free_only


NOT_FREE_CASES = [
    "what should I read in my free time about MLOps?",  # issue 11
    "a course on MLOps, it does not have to be free",  # issue 11
    "a course on MLOps, it doesn't need to be free",
    "paid is fine, a book on system design",
    "I don't mind paying for a good course on serving",
    "feel free to suggest anything on monitoring",
    "lock-free data structures for inference servers",
    "it needn't be free, just good: books on feature stores",
    "books on recommender systems, free or paid",
]


@pytest.mark.parametrize("message", NOT_FREE_CASES)
def test_mft_free_is_not_read_into_other_phrases(parser: QueryParser, message: str) -> None:
    assert not parse(parser, message).free_only


OPEN_CASES = [
    ("open source tools for feature stores", True),
    ("self-hosted experiment tracking", True),
    ("an OSS model server", True),
    ("it doesn't have to be open source, tools for monitoring", False),
    ("tools for monitoring, not necessarily open-source", False),
    ("a book on open source culture", True),
]


@pytest.mark.parametrize(("message", "expected"), OPEN_CASES)
def test_mft_open_source(parser: QueryParser, message: str, expected: bool) -> None:
    assert parse(parser, message).open_source is expected


LEVEL_CASES = [
    ("a beginner book on MLOps", "beginner"),
    ("I'm new to machine learning, something on serving", "beginner"),
    ("an advanced paper on distributed training", "advanced"),
    ("an intermediate course on system design", "intermediate"),
    ("a gentle introduction to feature stores", "beginner"),
    ("an in-depth treatment of model monitoring", "advanced"),
    ("I'm not a beginner, what should I read on model serving?", "advanced"),  # issue 11
    ("nothing too advanced please, something on model serving", "beginner"),  # issue 11
    ("not too technical, a book on monitoring", "beginner"),
    ("skip the basics, I want something on feature stores", "advanced"),
    ("I am no beginner: papers on recommender systems", "advanced"),
    ("nothing too basic, a book on data engineering", "advanced"),
    ("something not too hard on MLOps", "beginner"),
    ("I'm not an expert, a book on training at scale", "beginner"),
    # Knowing the basics is past a beginner's material.
    ("I know the basics of ML, what should I read next on serving?", "intermediate"),
    ("I'm past the basics, anything on feature stores?", "intermediate"),
    ("the basics of feature stores", "beginner"),
]


@pytest.mark.parametrize(("message", "level"), LEVEL_CASES)
def test_mft_level_and_its_negation(parser: QueryParser, message: str, level: str) -> None:
    assert parse(parser, message).level == level


NO_LEVEL = [
    "what should I read on model serving?",
    "how do I handle class imbalance in fraud detection models?",
    "papers on recommender systems",
    "not sure where to look, something on MLOps",
]


@pytest.mark.parametrize("message", NO_LEVEL)
def test_mft_no_level_unless_one_is_stated(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).level is None


EXCLUDED_KINDS = [
    ("I don't want tools, something about model deployment", ("tool",), ()),
    ("not a book please, a course on ML pipelines", ("book",), ("course",)),
    ("it isn't a book I want, something on drift", ("book",), ()),
    ("no papers, I want a blog about serving", ("paper",), ("blog",)),
    ("a course instead of a book on MLOps", ("book",), ("course",)),
    ("anything but courses on feature stores", ("course",), ()),
    ("I'd rather not read papers, something on monitoring", ("paper",), ()),
]


@pytest.mark.parametrize(("message", "excluded", "kinds"), EXCLUDED_KINDS)
def test_mft_negated_kinds_are_excluded(parser: QueryParser, message: str, excluded, kinds) -> None:
    parsed = parse(parser, message)
    assert parsed.excluded_kinds == excluded
    assert parsed.kinds == kinds


ROLE_CASES = [
    ("I'm an analyst, what should I read on MLOps?", "data-scientist"),  # issue 11
    ("I'm an analyst", "data-scientist"),
    ("I am a data scientist learning deployment", "data-scientist"),
    ("as an SRE, what should I know about ML?", "sre"),
    ("I'm a backend dev, teach me how models get deployed", "software-engineer"),
    ("I work as a data engineer, anything on feature stores?", "data-engineer"),
    ("I'm an engineering manager, what should my team read?", "manager"),
    ("I'm a PhD student, papers on training", "researcher"),
    ("I'm a machine learning engineer", "ml-engineer"),
    ("I'm a platform engineer building an ML platform", "platform-engineer"),
    ("I'm a devops engineer, where do I start?", "sre"),
    ("DevOps here, where do I start?", "sre"),  # "devops" is no plural of "devop"
    ("I'm an undergrad interested in ML systems", "student"),
    # Who leads a team manages it, whoever is on the team.
    ("I lead a team of data scientists, where do I start?", "manager"),
    ("how do I run an ML team?", "manager"),
    ("we're setting up a small ML group at work, what should we read?", "manager"),
    # Whom the material is for, right after "for".
    ("a podcast for data scientists", "data-scientist"),
    ("is this book worth it for ML engineers?", "ml-engineer"),
]


@pytest.mark.parametrize(
    "message",
    ["I run experiments for my team, any tools?", "I work on a data science team",
     "our team runs Kubeflow, is it any good?"],
)  # fmt: skip
def test_mft_working_on_or_for_a_team_is_no_manager(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).role != "manager"


@pytest.mark.parametrize(
    "message",
    ["an ML toolkit for hundreds of engineers", "resources for experienced engineers"],
)
def test_inv_for_with_words_between_names_no_role(parser: QueryParser, message: str) -> None:
    # Who uses a system, or a quality of the reader, is not the reader's role.
    assert parse(parser, message).role is None


@pytest.mark.parametrize(("message", "role"), ROLE_CASES)
def test_mft_role_said_of_oneself(parser: QueryParser, message: str, role: str) -> None:
    assert parse(parser, message).role == role


@pytest.mark.parametrize(
    ("message", "role"),
    [
        ("how do I get into ML engineering?", "ml-engineer"),
        ("I'm a data analyst, how do I get into ML engineering?", "ml-engineer"),
        ("I'm a web developer trying to break into data science", "data-scientist"),
        ("what should I learn to become an SRE?", "sre"),
        ("I'm a backend developer moving into ML", "ml-engineer"),
    ],
)
def test_mft_the_role_aimed_at_is_the_role(parser: QueryParser, message: str, role: str) -> None:
    # A study plan is for where the asker is going; "get into" frames that, it is no career topic.
    parsed = parse(parser, message)
    assert parsed.role == role
    assert "career" not in parsed.topics


@pytest.mark.parametrize(
    "message",
    ["I'm a backend engineer who wants to move into ML, where do I begin?",
     "we're onboarding three new ML engineers next month, what should they read?",
     "how do I break into machine learning?",
     "I'd like to transition into AI from marketing"],
)  # fmt: skip
def test_mft_the_field_alone_after_an_aim_asks_for_the_ml_engineer_path(
    parser: QueryParser, message: str
) -> None:
    # With no subject besides where the asker is going, the path there is the answer.
    parsed = parse(parser, message)
    assert (parsed.role, parsed.intent) == ("ml-engineer", "learning_path")
    assert not parsed.topics


@pytest.mark.parametrize(
    "message", ["how do I get into ML system design interviews?", "I'm getting into ML research"]
)
def test_mft_a_subject_after_the_field_is_no_role(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).role is None


@pytest.mark.parametrize(
    ("message", "kinds"),
    [("something shorter", ("blog", "paper")), ("anything more hands-on?", ()),
     ("is there something more practical?", ()), ("a lighter read maybe?", ("blog", "paper")),
     ("any videos?", ("course",))],
)  # fmt: skip
def test_mft_a_bare_change_keeps_the_subject(
    parser: QueryParser, message: str, kinds: tuple[str, ...]
) -> None:
    # With no subject of its own, a change ("shorter", "more hands-on", "videos") asks for the
    # last subject again: no small talk, and a shorter read than a book is a post or a paper.
    parsed = parse(parser, message)
    assert parsed.intent != "smalltalk" and not parsed.topics
    assert parsed.same_topic or parsed.kinds
    assert parsed.kinds == kinds


@pytest.mark.parametrize(
    "message",
    ["I know Python but nothing about ML, what should I read first?",
     "I have no ML background, where do I start?", "I've never studied machine learning",
     "complete beginner here, any books on MLOps?"],
)  # fmt: skip
def test_mft_saying_you_know_nothing_yet_asks_for_beginner_material(
    parser: QueryParser, message: str
) -> None:
    assert parse(parser, message).level == "beginner"


@pytest.mark.parametrize(
    ("message", "one"),
    [("what's the single best book on ML system design?", True),
     ("if I could read only one thing about MLOps, what should it be?", True),
     ("I only have time for one course on LLMs", True),
     ("if you had to pick one tool for experiment tracking, which?", True),
     ("what are the best books on MLOps?", False),
     ("one of the best courses on serving", False),
     ("is only one of these free?", False)],
)  # fmt: skip
def test_mft_asking_for_one_pick(parser: QueryParser, message: str, one: bool) -> None:
    assert parse(parser, message).one is one


@pytest.mark.parametrize(
    "message",
    ["how do video streaming apps build recommendations?", "how does YouTube recommend videos?"],
)
def test_inv_videos_as_a_subject_ask_for_no_kind(parser: QueryParser, message: str) -> None:
    assert "course" not in parse(parser, message).kinds


@pytest.mark.parametrize(
    "message",
    ["is there anything more on feature stores?", "what is more important, latency or cost?",
     "anything more?", "something shorter than DDIA on distributed systems"],
)  # fmt: skip
def test_mft_a_change_with_its_own_subject_is_no_bare_change(
    parser: QueryParser, message: str
) -> None:
    assert not parse(parser, message).comparative


@pytest.mark.parametrize(
    ("message", "topics", "avoided"),
    [("books on MLOps that are not too mathematical", ("mlops",), ("ml-theory",)),
     ("something less theoretical about recommender systems", ("recommender-systems",),
      ("ml-theory",)),
     ("deep learning books without much math", ("deep-learning",), ("ml-theory",)),
     ("I want to learn serving, no LLM stuff please", ("serving",), ("llms",)),
     ("courses on deployment, but not kubernetes", ("deployment",), ("devops",)),
     ("anything on model serving that isn't about LLMs?", ("serving",), ("llms",)),
     ("I don't want anything too heavy on statistics, just monitoring", ("monitoring",),
      ("ml-theory",)),
     # Said after the subject.
     ("theory is not what I want, give me practical books on MLOps", ("mlops",),
      ("ml-theory",)),
     ("LLMs aren't my thing, anything on serving?", ("serving",), ("llms",)),
     ("books on monitoring. Math isn't my strong suit", ("monitoring",), ("ml-theory",)),
     ("what should I read on MLOps? theory's not for me", ("mlops",), ("ml-theory",))],
)  # fmt: skip
def test_mft_a_subject_ruled_out_is_left_out(
    parser: QueryParser, message: str, topics: tuple[str, ...], avoided: tuple[str, ...]
) -> None:
    # What the asker rules out is not their subject, nor searched for.
    parsed = parse(parser, message)
    assert parsed.topics == topics
    assert parsed.avoided_topics == avoided


@pytest.mark.parametrize(
    "message",
    ["I know nothing about deep learning, where do I start?",
     "I have no background in statistics, what should I read?",
     "why is my model not training on the new data?",
     "I don't know much about feature stores, any books?",
     "how do I avoid training/serving skew?",
     "why did a broken table reach training without any alert?",
     "why do some users get no recommendations at all?",
     "features are not available at serving time, what should I read?",
     "the training data is not what we need it to be, which books help?",
     "our data quality is not a priority yet, what should I read on serving?",
     "monitoring is what I want"],
)  # fmt: skip
def test_inv_what_you_do_not_know_yet_is_still_the_subject(
    parser: QueryParser, message: str
) -> None:
    # A negation about the asker or their system is no ruling out of what they ask about.
    parsed = parse(parser, message)
    assert not parsed.avoided_topics
    assert parsed.topics


@pytest.mark.parametrize("base", ["books on model serving", "what should I read on LLMs?"])
def test_dir_ruling_out_math_drops_it_from_the_search(parser: QueryParser, base: str) -> None:
    plain, ruled = parse(parser, base), parse(parser, f"{base} Nothing too mathematical.")
    assert plain.topics == ruled.topics and not plain.avoided_topics
    assert ruled.avoided_topics == ("ml-theory",)
    assert "mathematical" not in ruled.text  # the embedding is not pulled towards maths


@pytest.mark.parametrize(
    ("message", "kinds", "excluded"),
    [("I don't want videos, what should I read about model serving?", (), ("course",)),
     ("no videos please, books on monitoring", ("book",), ("course",)),
     ("I prefer videos, anything on feature stores?", ("course",), ())],
)  # fmt: skip
def test_mft_videos_wanted_or_ruled_out_are_the_course_format(
    parser: QueryParser, message: str, kinds: tuple[str, ...], excluded: tuple[str, ...]
) -> None:
    parsed = parse(parser, message)
    assert (parsed.kinds, parsed.excluded_kinds) == (kinds, excluded)


@pytest.mark.parametrize(
    ("message", "judged"),
    [("is vLLM open source?", True),
     ("is Designing Data-Intensive Applications free?", True),
     ("is it free?", True),
     ("is the first one free?", True),
     ("is #2 open source?", True),
     ("is there a free book like Designing Data-Intensive Applications?", False),
     ("are there open source feature stores?", False),
     ("what is vLLM?", False)],
)  # fmt: skip
def test_mft_a_yes_or_no_question_about_one_resource_is_judged(
    parser: QueryParser, message: str, judged: bool
) -> None:
    assert parse(parser, message).judged is judged


@pytest.mark.parametrize(
    ("message", "refers"),
    [("which tools implement it?", True),
     ("is there a course that covers that?", True),
     ("any papers on it?", True),
     ("how do I get started with it?", True),
     ("how does it work?", True),
     ("who is it for?", True),
     # What one does with the thing just defined, or "one" of it.
     ("how do I set it for a model?", True),
     ("how do teams measure it?", True),
     ("do I need one?", True),
     ("how do I build one?", True),
     ("should we set one up for our team?", True),
     ("I need one good book", False),
     ("which one should I read first?", False),
     # A pronoun whose noun is in the same message, or that opens a noun phrase, is no
     # reference to the last answer; nor is one in a yes/no question about a fact.
     ("what is RAG and when should I use it?", False),
     ("what is a vector database, and why would I need it?", False),
     ("a book that explains this well", False),
     ("is this book free?", False),
     ("is it free?", False),
     ("tools that implement a feature store", False),
     # A dummy "it", and a long question that says what "it" is.
     ("what is it called when a model is copied onto live traffic?", False),
     ("what does it mean to retrain a model continuously?", False),
     ("why would teams shrink a model by teaching a smaller copy of it?", False)],
)  # fmt: skip
def test_mft_a_pronoun_for_what_the_last_answer_was_about(
    parser: QueryParser, message: str, refers: bool
) -> None:
    parsed = parse(parser, message)
    assert parsed.refers is refers
    if refers:  # so the conversation keeps the last answer's subject
        assert parsed.same_topic


@pytest.mark.parametrize(
    ("message", "one"),
    [("which is the most beginner friendly?", True),
     ("which one should I start with?", True),
     ("which would you pick?", True),
     ("so which one is the best?", True),
     ("which one is cheaper?", True),
     ("which is better for a small team?", True),
     ("which one covers it best?", True),
     ("what's the newest of them?", True),
     ("what is the best one?", True),
     # Which have a property, or which is shortest: not one pick.
     ("which one is free?", False),
     ("which are open source?", False),
     ("which is shortest?", False)],
)  # fmt: skip
def test_mft_a_choice_among_the_last_answer(parser: QueryParser, message: str, one: bool) -> None:
    parsed = parse(parser, message)
    assert parsed.anaphoric  # among what was just listed
    assert parsed.one is one
    if one:
        assert parsed.intent == "recommend"


def test_inv_a_choice_naming_its_own_subject_is_a_new_question(parser: QueryParser) -> None:
    parsed = parse(parser, "which is the best book on feature stores?")
    assert not parsed.anaphoric and parsed.topics == ("feature-stores",)


@pytest.mark.parametrize(
    ("message", "level", "free"),
    [("which one is the easiest?", "beginner", False),
     ("which is the simplest?", "beginner", False),
     ("which one is cheapest?", None, True),
     ("which is the least expensive?", None, True),
     ("which is easier?", "beginner", False),
     ("which one is cheaper?", None, True),
     # Outside a choice they describe something: no level, no cost asked.
     ("what is the simplest model every later model must beat?", None, False),
     ("why is caching one of the cheapest ways to cut latency?", None, False)],
)  # fmt: skip
def test_mft_superlatives_in_a_choice_ask_for_a_level_or_cost(
    parser: QueryParser, message: str, level: str | None, free: bool
) -> None:
    parsed = parse(parser, message)
    assert (parsed.level, parsed.free_only) == (level, free)


@pytest.mark.parametrize("message", ["what else is like it?", "anything else like that?"])
def test_mft_like_it_asks_for_more_like_the_last_one(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).similar


@pytest.mark.parametrize("message", ["which one is cheaper?", "which is the easiest?"])
def test_mft_a_choosing_criterion_is_no_subject(parser: QueryParser, message: str) -> None:
    # "Searched for: cheaper" would rank the last answer's resources by the word itself.
    assert parse(parser, message).topic_words == ()


def test_mft_instead_is_no_subject(parser: QueryParser) -> None:
    parsed = parse(parser, "anything free instead?")
    assert parsed.instead and parsed.free_only and not parsed.topic_words


def test_inv_a_pronoun_beside_a_new_subject_starts_afresh(parser: QueryParser) -> None:
    # "Which tools implement it?" refers back; naming a subject in its place does not.
    assert not parse(parser, "which tools implement feature stores?").refers
    assert not parse(parser, "which tools implement it for feature stores?").refers


@pytest.mark.parametrize(
    ("message", "unlisted"),
    [("any podcasts on MLOps?", ("podcast",)),
     ("I like listening to podcasts, anything about feature stores?", ("podcast",)),
     ("is there a cheat sheet for ML system design interviews?", ("cheat sheet",)),
     ("no podcasts please, books on monitoring", ()),
     ("books on monitoring", ())],
)  # fmt: skip
def test_mft_a_format_the_catalog_lacks_is_noted(
    parser: QueryParser, message: str, unlisted: tuple[str, ...]
) -> None:
    assert parse(parser, message).unlisted_kinds == unlisted


@pytest.mark.parametrize(
    ("message", "career"),
    [("should we process events as they arrive or in a nightly job?", False),
     ("our spark jobs keep failing at 3am, what should I read?", False),
     ("how do I speed up my training jobs?", False),
     ("how do I get a job in ML?", True),
     ("looking for a new job in MLOps", True)],
)  # fmt: skip
def test_mft_a_job_a_scheduler_runs_is_no_career(
    parser: QueryParser, message: str, career: bool
) -> None:
    assert ("career" in parse(parser, message).topics) is career


def test_dir_getting_into_a_subject_is_no_career_move(parser: QueryParser) -> None:
    # "get into" frames a subject as "new to" does, and what gets into production is no role.
    assert parse(parser, "I want to get into feature stores").topics == ("feature-stores",)
    moved = parse(parser, "how do bad features get into production models?")
    assert moved.role is None and "career" not in moved.topics


@pytest.mark.parametrize(
    "message",
    [
        "I'm not a data scientist, what should I read on serving?",
        "books data scientists like about statistics",
        "what do managers read about ML?",
    ],
)
def test_mft_no_role_unless_said_of_oneself(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).role is None


@pytest.mark.parametrize(
    "phrase",
    sorted(
        {p for aliases in ROLES.values() for p in aliases if p not in PROFILE_ONLY_ROLE_ALIASES}
    ),
)
def test_mft_a_role_chat_understands_is_a_role_a_profile_accepts(
    parser: QueryParser, phrase: str
) -> None:
    said = parse(parser, f"I'm a {phrase}, what should I read?").role
    assert said is not None
    assert Profile(role=phrase).role == said


TOPIC_CASES = [
    ("how do I handle class imbalance in fraud detection models?", "data-quality"),
    ("software engineering best practices for data scientists", "software-engineering"),
    ("my model's accuracy drops after a few weeks in production", "monitoring"),
    ("where do I learn about model serving latency", "serving"),
    ("preparing for the ML design round of an interview", "interviews"),
    ("scheduling retraining workflows", "orchestration"),
]


@pytest.mark.parametrize(("message", "topic"), TOPIC_CASES)
def test_mft_topics_from_everyday_words(parser: QueryParser, message: str, topic: str) -> None:
    assert topic in parse(parser, message).topics


@pytest.mark.parametrize(
    "message",
    ["I'm getting into model monitoring, what do you recommend?",
     "can you recommend a good book on data pipelines?",
     "any recommendations for learning about model serving?",
     "what would you suggest for someone new to MLOps?"],
)  # fmt: skip
def test_mft_asking_for_advice_is_not_the_recommender_topic(
    parser: QueryParser, message: str
) -> None:
    parsed = parse(parser, message)
    assert parsed.topics and "recommender-systems" not in parsed.topics


@pytest.mark.parametrize(
    "message",
    ["can you recommend a book on recommender systems?",
     "how do shops build product recommendations?",
     "what do you recommend for learning how recommendation engines work?"],
)  # fmt: skip
def test_mft_recommendations_as_a_subject_stay_a_topic(parser: QueryParser, message: str) -> None:
    assert "recommender-systems" in parse(parser, message).topics


@pytest.mark.parametrize(
    ("message", "topic", "not_also"),
    [("distributed training on a cluster of gpus", "distributed-training", "training"),
     ("what should I read about data pipelines?", "data-engineering", "orchestration"),
     ("how do I split model parallelism across several machines?", "distributed-training",
      "training")],
)  # fmt: skip
def test_mft_a_longer_topic_phrase_claims_its_words(
    parser: QueryParser, message: str, topic: str, not_also: str
) -> None:
    # "distributed training" names one topic; its word "training" is not a second one.
    topics = parse(parser, message).topics
    assert topic in topics and not_also not in topics


@pytest.mark.parametrize(
    ("message", "topic", "named"),
    [("should a small team pick MLflow or Weights & Biases?", "responsible-ai", False),
     ("what's the difference between MLflow and Weights and Biases?", "responsible-ai", False),
     ("how do I check my model for bias?", "responsible-ai", True),
     ("is Introducing MLOps good for a beginner?", "mlops", True),
     ("what should I read about vector databases?", "distributed-systems", False),
     ("books on database replication", "distributed-systems", True),
     ("how do I make batch jobs safe to rerun?", "career", False),
     ("looking for a new job in MLOps", "career", True),
     ("how does A/B testing of models work?", "testing", False),
     ("how should I be testing my ML code?", "testing", True),
     ("what should I read about model monitoring?", "monitoring", True)],
)  # fmt: skip
def test_mft_a_names_words_name_a_topic_only_if_what_it_names_covers_it(
    parser: QueryParser, message: str, topic: str, named: bool
) -> None:
    # A resource's name or a glossary concept's: "Weights & Biases" is an experiment tracker,
    # not a question about bias; a vector database is not the distributed-systems topic because
    # it says "database"; model monitoring is the monitoring topic, since what teaches it is.
    assert (topic in parse(parser, message).topics) is named


@pytest.mark.parametrize(
    ("message", "together"),
    [("any papers on LLM serving?", {"llms", "serving"}),
     ("good books on feature store monitoring", {"feature-stores", "monitoring"}),
     ("I need LLMs and also model serving", None),
     ("monitoring, and separately feature stores", None)],
)  # fmt: skip
def test_mft_topics_named_as_one_subject_are_asked_together(
    parser: QueryParser, message: str, together: set[str] | None
) -> None:
    compounds = [set(group) for group in parse(parser, message).compound_topics]
    assert compounds == ([together] if together else [])


# -- spelling: correct typos, never English words or names -----------------------------------

NEVER_CORRECTED = [
    "bread",
    "difference",
    "there",
    "thank",
    "cross",
    "paris",
    "week",
    "last",
    "breadth",
    "their",
    "weekly",
    "latest",
    "imbalance",
    "fraud",
    "toyota",
    "gaming",
    "huyen",
    "kleppmann",
    "tecton",
    "feast",
    "dagster",
    "kubeflow",
    "mlops",
    "netflix",
    "uber",
    "recipe",
    "nursing",
    # Rare English words a learner uses (Zipf 1.5 to 3): kept unless a correction is far likelier.
    "parallelism",
    "multimodal",
    "regularization",
    "microservices",
    "retraining",
]


@pytest.mark.parametrize("word", NEVER_CORRECTED)
def test_mft_english_words_and_names_are_never_rewritten(parser: QueryParser, word: str) -> None:
    parsed = parse(parser, f"what about {word} for a change")
    assert parsed.corrections == {}
    assert word in parsed.text


def test_mft_the_issue_sentence_keeps_every_word(parser: QueryParser) -> None:
    # issue 11: bread->breadth, difference->different, there->their, thank->than, cross->costs,
    # Paris->parisa, week->weeks, last->latest
    message = "bread difference there thank cross Paris week last"
    assert parse(parser, message).corrections == {}


TYPOS = [
    ("feture stor", {"feture": "feature", "stor": "store"}),
    ("recomend a book on monitering", {"recomend": "recommend", "monitering": "monitoring"}),
    ("kubernets for model serving", {"kubernets": "kubernetes"}),
    ("distribted trainig", {"distribted": "distributed", "trainig": "training"}),
    ("experimnt tracking tools", {"experimnt": "experiment"}),
    ("reccommender systems", {"reccommender": "recommender"}),
    ("orchestraton with airflow", {"orchestraton": "orchestration"}),
    ("somthing on deploymnt", {"somthing": "something", "deploymnt": "deployment"}),
]


@pytest.mark.parametrize(("message", "corrections"), TYPOS)
def test_mft_typos_are_corrected_and_shown(parser: QueryParser, message: str, corrections) -> None:
    assert parse(parser, message).corrections == corrections


# -- INV: casing, punctuation, typos and paraphrase do not change what is understood ---------

INVARIANT_GROUPS = [
    [
        "a free course on MLOps",
        "A FREE COURSE ON MLOPS",
        "a free course on MLOps!!!",
        "a free cours on MLOps",
        "free course, MLOps",
    ],
    [
        "open source tools for monitoring",
        "Open-source tools for monitoring?",
        "open source toolz for monitoring",
    ],
    [
        "I'm not a beginner, books on model serving",
        "i'm not a beginner... books on model serving",
        "Im not a beginner, books on model serving",
    ],
    [
        "a course on MLOps, it does not have to be free",
        "a course on MLOps. It doesn't have to be free.",
        "A course on MLOps - it does not need to be free",
    ],
]


def _constraints(parsed: ParsedMessage) -> tuple[object, ...]:
    return (parsed.kinds, parsed.free_only, parsed.open_source, parsed.level)


@pytest.mark.parametrize(
    ("first", "other"),
    [(group[0], variant) for group in INVARIANT_GROUPS for variant in group[1:]],
)
def test_inv_same_constraints_across_surface_changes(
    parser: QueryParser, first: str, other: str
) -> None:
    assert _constraints(parse(parser, other)) == _constraints(parse(parser, first))


@pytest.mark.parametrize(
    ("message", "variant"),
    [
        ("what should I read on feature stores?", "What should I read on Feature Stores"),
        ("thanks!", "Thanks."),
        ("which GPU should I buy for gaming?", "Which gpu should i buy for GAMING"),
        ("Feast or Tecton?", "feast vs tecton"),
        ("where do I start?", "Where should I begin?"),
    ],
)
def test_inv_intent_across_casing_and_paraphrase(
    parser: QueryParser, message: str, variant: str
) -> None:
    first, second = parse(parser, message), parse(parser, variant)
    assert (first.intent, first.domain) == (second.intent, second.domain)


# -- DIR: adding a word moves the reading the right way ---------------------------------------

DIR_BASES = [
    "a course on MLOps",
    "books on feature stores",
    "something on model monitoring",
    "tools for experiment tracking",
    "what should I read on model serving?",
]


@pytest.mark.parametrize("base", DIR_BASES)
def test_dir_adding_free_sets_free(parser: QueryParser, base: str) -> None:
    assert not parse(parser, base).free_only
    assert parse(parser, f"{base}, free please").free_only


@pytest.mark.parametrize("base", DIR_BASES)
def test_dir_adding_not_free_lifts_it(parser: QueryParser, base: str) -> None:
    assert not parse(parser, f"{base}, it does not have to be free").free_only


@pytest.mark.parametrize("base", DIR_BASES)
def test_dir_not_a_beginner_flips_beginner(parser: QueryParser, base: str) -> None:
    assert parse(parser, f"I'm a beginner, {base}").level == "beginner"
    assert parse(parser, f"I'm not a beginner, {base}").level == "advanced"


@pytest.mark.parametrize("base", DIR_BASES)
def test_dir_not_open_source_drops_it(parser: QueryParser, base: str) -> None:
    assert parse(parser, f"{base}, open source").open_source
    assert not parse(parser, f"{base}, doesn't have to be open source").open_source


# -- intent and scope ----------------------------------------------------------------------

OUT_OF_SCOPE = [
    "which GPU should I buy for gaming?",  # issue 11
    "what model of Toyota is the most reliable?",  # issue 11
    "how do I train my dog to stop barking?",
    "best model kits for a twelve year old",
    "what's a good recipe for banana bread?",
    "which running shoes are best for a marathon?",
    "who was the first person on the moon?",
    "how do I unclog a kitchen sink?",
    "recommend a romantic comedy for tonight",
    "what is the best tablet for reading comics?",
]


@pytest.mark.parametrize("message", OUT_OF_SCOPE)
def test_mft_off_topic_questions_are_read_as_out_of_scope(
    parser: QueryParser, message: str
) -> None:
    assert not parse(parser, message).domain


NEAR_MISSES = [
    "how do I handle class imbalance in fraud detection models?",
    "which GPUs do I need to serve a large language model?",
    "how do I train a model on data that changes every week?",
    "what model registry should a small team use?",
    "how do teams keep a recommendation model fresh?",
    "software engineering best practices for data scientists",
    "how do I test a machine learning pipeline?",
    "what should I read in my free time about MLOps?",
]


@pytest.mark.parametrize("message", NEAR_MISSES)
def test_mft_near_misses_stay_in_scope(parser: QueryParser, message: str) -> None:
    assert parse(parser, message).domain


INTENT_CASES = [
    ("thank you, that is helpful", "smalltalk"),  # issue 11
    ("hello!", "smalltalk"),
    ("thanks, bye", "smalltalk"),
    ("what is a feature store?", "explain"),
    ("explain training-serving skew", "explain"),
    ("Feast or Tecton?", "compare"),
    ("MLflow versus Kubeflow for a small team", "compare"),
    ("where do I start?", "learning_path"),
    ("I'm a student, what should I learn first?", "learning_path"),
    ("a free course on MLOps", "recommend"),
    ("thanks! any of those free?", "recommend"),
    # Asking what to read asks for resources, however much of the field it names.
    ("what should I read about machine learning systems?", "recommend"),
    ("as an engineering manager, what should I read about ML?", "recommend"),
    ("what to read about model serving as a data engineer?", "recommend"),
    ("as a manager, where do I start?", "learning_path"),
]


@pytest.mark.parametrize(("message", "intent"), INTENT_CASES)
def test_mft_intent(parser: QueryParser, message: str, intent: str) -> None:
    assert parse(parser, message).intent == intent


def test_mft_thanks_is_thanks_and_bye_is_goodbye(parser: QueryParser) -> None:
    assert parse(parser, "thank you, that is helpful").smalltalk == "thanks"
    assert parse(parser, "ok, bye for now").smalltalk == "goodbye"
    assert parse(parser, "hi there").smalltalk == "greeting"


@pytest.mark.parametrize(
    ("message", "topics"),
    [("I'm new to feature stores, what should I read?", ("feature-stores",)),
     ("where do I start with model monitoring?", ("monitoring",)),
     ("I want to move into MLOps from data analysis", ("mlops",)),
     ("where do I start?", ("fundamentals",)),
     ("how do I switch careers into machine learning?", ("career",)),
     ("books on ML fundamentals and system design", ("system-design", "fundamentals")),
     ("should we switch from Airflow to Dagster?", ())],
)  # fmt: skip
def test_mft_where_the_asker_stands_frames_the_subject_they_name(
    parser: QueryParser, message: str, topics: tuple[str, ...]
) -> None:
    # "new to X", "move into X": X is asked about; alone, starting out or a career move is.
    assert set(parse(parser, message).topics) == set(topics)


@pytest.mark.parametrize(
    ("message", "together"),
    [("papers on feature store monitoring", True),
     ("papers on feature stores, monitoring too", False)],
)  # fmt: skip
def test_dir_a_comma_separates_subjects(parser: QueryParser, message: str, together: bool) -> None:
    assert bool(parse(parser, message).compound_topics) is together


@pytest.mark.parametrize(
    "message",
    ["my model is slow in production, what should I read?", "how do I speed up inference?",
     "our response times went up after the new model shipped"],
)  # fmt: skip
def test_mft_a_slow_model_is_a_serving_question(parser: QueryParser, message: str) -> None:
    assert "serving" in parse(parser, message).topics


@pytest.mark.parametrize(
    "message", ["MLflow or Weights & Biases?", "MLflow or Weights and Biases?", "MLflow or W&B?"]
)
def test_inv_an_ampersand_and_its_word_name_the_same_resource(
    parser: QueryParser, message: str
) -> None:
    assert parse(parser, message).mentioned == ("mlflow", "weights-and-biases")


@pytest.mark.parametrize(
    ("message", "among_the_last"),
    [("which is shorter?", True), ("which one is the longest?", True),
     ("which is better?", True), ("so which is the cheapest?", True),
     ("which is the best book on feature stores?", False),
     ("which is shorter, a course or a book on MLOps?", False),
     ("which book covers both?", True), ("a book that covers both batch and streaming", False)],
)  # fmt: skip
def test_mft_a_bare_which_question_asks_among_the_last_answer(
    parser: QueryParser, message: str, among_the_last: bool
) -> None:
    # "which is shorter?" with nothing else in it can only mean the resources just listed.
    assert parse(parser, message).anaphoric is among_the_last


@pytest.mark.parametrize(
    "message",
    ["compare Designing Data-Intensive Applications and Designing Machine Learning Systems",
     "comparing Feast with Tecton", "the differences between MLflow and Weights & Biases",
     "is DDIA better than Designing Machine Learning Systems for a beginner?"],
)  # fmt: skip
def test_mft_two_named_resources_with_a_comparison_word_are_compared(
    parser: QueryParser, message: str
) -> None:
    parsed = parse(parser, message)
    assert len(parsed.mentioned) == 2 and parsed.intent == "compare"


@pytest.mark.parametrize(
    ("message", "after"),
    [("what should I read after Designing Machine Learning Systems?", True),
     ("I've finished DDIA, what next?", True), ("done with Made With ML, now what?", True),
     ("what should I read before The Site Reliability Workbook?", False),
     ("what should I read about feature stores?", False)],
)  # fmt: skip
def test_mft_having_read_a_resource_asks_what_goes_on_from_it(
    parser: QueryParser, message: str, after: bool
) -> None:
    parsed = parse(parser, message)
    assert parsed.similar is after
    assert len(parsed.mentioned) == 1 or not after  # the one resource it goes on from


@pytest.mark.parametrize(
    ("message", "intent"),
    [("give me a learning path for becoming an ML engineer", "learning_path"),
     ("learning path to become a data engineer", "learning_path"),
     ("learning path for feature stores", "recommend")],
)  # fmt: skip
def test_mft_a_path_towards_a_role_stays_a_path(
    parser: QueryParser, message: str, intent: str
) -> None:
    # The role aimed at shapes the path; only a subject of its own makes it a topic search.
    parsed = parse(parser, message)
    assert parsed.intent == intent
    if intent == "learning_path":
        assert parsed.role and not parsed.topics


@pytest.mark.parametrize(
    ("message", "pronoun"),
    [("how is it different from testing the new model on last month's data?", True),
     ("is it any better than retraining the whole thing by hand every week?", True),
     ("how does that differ from a nightly batch job?", True),
     ("is it better to retrain nightly or to update the model as data arrives?", False)],
)  # fmt: skip
def test_mft_a_comparison_opening_with_it_sets_the_last_subject_beside_its_words(
    parser: QueryParser, message: str, pronoun: bool
) -> None:
    # However many words of its own its other side has, "it" is what the last answer was on.
    assert parse(parser, message).pronoun is pronoun


@pytest.mark.parametrize(
    ("message", "recent"),
    [("recent papers on LLM serving", True), ("what's the newest book on MLOps?", True),
     ("anything more recent?", True), ("the latest books on feature stores", True),
     ("what's the newest of them?", True),
     ("books on MLOps", False), ("I'm not sure how to deploy my model", False),
     # About the subject, not the reading: no order by year.
     ("how do I serve the latest feature values with low latency?", False)],
)  # fmt: skip
def test_mft_asking_for_what_is_new(parser: QueryParser, message: str, recent: bool) -> None:
    parsed = parse(parser, message)
    assert parsed.recent is recent
    assert "recent" not in parsed.topic_words and "newest" not in parsed.topic_words


@pytest.mark.parametrize(
    "message",
    [
        "I have an interview in a month",
        "I only have two hours a week for feature stores",
        "over the next few weekends I want to learn MLOps",
    ],
)
def test_inv_a_time_frame_is_no_subject(parser: QueryParser, message: str) -> None:
    words = parse(parser, message).topic_words
    assert not {"month", "hours", "week", "weekends", "next", "few"} & set(words)


@pytest.mark.parametrize(
    ("message", "place"),
    [("tell me more about the second one", 2), ("is #3 free?", 3), ("summarize the third", 3),
     ("what about the last?", -1),
     # "First" as an adverb, or a place inside a longer noun phrase, points at nothing.
     ("which should I read first?", None), ("the first book I read was DDIA", None)],
)  # fmt: skip
def test_mft_a_place_in_the_last_answer(
    parser: QueryParser, message: str, place: int | None
) -> None:
    assert parse(parser, message).ordinal == place
