"""Personalization over the real corpus and a real SQLite store: profiles, tokens, semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.compose import DEEPER, HANDS_ON, JOIN, START, purpose
from assistant.personalize import is_generic, similarity
from assistant.profiles import Forbidden, Profile, UnknownUser
from assistant.service import Assistant, InvalidInput, UnknownSessionError, build_assistant
from assistant.settings import Settings
from assistant.storage import Storage
from ingest.catalog import LEVELS
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest

# Whole-corpus ingests or `mlsd` subprocesses: minutes, so not in the unit layer.
pytestmark = pytest.mark.integration

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
QUESTION = "what should I read to learn ML system design?"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """A real index of the real corpus with its own data dir, built once for this module."""
    root = tmp_path_factory.mktemp("personal")
    settings = Settings(data_dir=root / "data", corpus_dir=REAL_CORPUS)
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


def rec_ids(
    assistant: Assistant, topic: str | None = QUESTION, k: int = 5, **profile: object
) -> list[str]:
    return [i.resource.id for i in assistant.recommend(profile=profile, topic=topic, k=k).items]


# -- profiles and their vocabulary -----------------------------------------------------------


def test_profile_accepts_the_ways_people_write_things() -> None:
    profile = Profile.model_validate(
        {
            "level": "Beginner",
            "role": "Site reliability engineer",
            "goals": ["interview prep", "LLM"],
            "formats": ["Courses", "book"],
            "budget": "free",
        }
    )
    assert profile.level == "beginner" and profile.role == "sre"
    assert profile.goals == ("interviews", "llms")
    assert profile.formats == ("course", "book")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("role", "astronaut", "use one of: data-scientist"),
        ("goals", ["fame"], "use any of: fundamentals"),
        ("formats", ["podcast"], "use any of: book"),
        ("level", "expert", "'beginner', 'intermediate' or 'advanced'"),
        ("budget", "cheap", "'free' or 'any'"),
        ("colour", "blue", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_profile_field_says_what_is_allowed(
    assistant: Assistant, field: str, value: object, says: str
) -> None:
    with pytest.raises(InvalidInput, match="invalid profile") as error:
        assistant.create_user({field: value})
    assert field in str(error.value) and says in str(error.value)


def test_already_read_must_name_catalog_resources(assistant: Assistant) -> None:
    with pytest.raises(InvalidInput, match=r"unknown resource id\(s\) \['no-such-book'\]"):
        assistant.create_user({"already_read": ["feast", "no-such-book"]})


# -- users, tokens and isolation ---------------------------------------------------------------


def test_a_profile_needs_its_own_users_token(assistant: Assistant) -> None:
    alice = assistant.create_user({"level": "beginner"})
    bob = assistant.create_user({"level": "advanced"})
    assert assistant.get_profile(alice.user_id, alice.token).level == "beginner"
    for token in (None, "", bob.token, alice.token + "x"):
        with pytest.raises(Forbidden):
            assistant.get_profile(alice.user_id, token)
        with pytest.raises(Forbidden):
            assistant.set_profile(alice.user_id, token, {"level": "advanced"})
        with pytest.raises(Forbidden):
            assistant.recommend(user_id=alice.user_id, token=token)
    assert assistant.get_profile(alice.user_id, alice.token).level == "beginner"
    with pytest.raises(UnknownUser, match="unknown user 'nobody'"):
        assistant.get_profile("nobody", alice.token)


def test_only_a_hash_of_the_token_is_stored(assistant: Assistant) -> None:
    user = assistant.create_user()
    raw = assistant.storage.path.read_bytes()
    assert user.user_id.encode() in raw and user.token.encode() not in raw


def test_one_users_session_and_feedback_are_closed_to_another(assistant: Assistant) -> None:
    alice = assistant.create_user()
    bob = assistant.create_user()
    answer = assistant.ask("feature stores", user_id=alice.user_id, token=alice.token)
    assert answer.session_id
    with pytest.raises(Forbidden):
        assistant.ask("any of those open source?", session_id=answer.session_id,
                      user_id=bob.user_id, token=bob.token)  # fmt: skip
    with pytest.raises(Forbidden):  # anonymously, too
        assistant.ask("any of those open source?", session_id=answer.session_id)
    with pytest.raises(Forbidden):
        assistant.record_feedback(answer.session_id, -1, "feast", bob.user_id, bob.token)
    assert assistant.storage.feedback_rows(answer.session_id) == []
    follow = assistant.ask("any of those open source?", session_id=answer.session_id,
                           user_id=alice.user_id, token=alice.token)  # fmt: skip
    assert follow.session_id == answer.session_id


def test_an_invalid_update_keeps_the_old_profile(assistant: Assistant) -> None:
    user = assistant.create_user({"level": "beginner", "budget": "free"})
    with pytest.raises(InvalidInput):
        assistant.set_profile(user.user_id, user.token, {"level": "beginner", "formats": ["vlog"]})
    assert assistant.get_profile(user.user_id, user.token) == Profile(
        level="beginner", budget="free"
    )


def test_users_and_feedback_survive_a_restart(assistant: Assistant) -> None:
    user = assistant.create_user({"role": "sre"})
    answer = assistant.ask("model monitoring", user_id=user.user_id, token=user.token)
    assistant.record_feedback(answer.session_id or "", 1, answer.items[0].resource.id,
                              user.user_id, user.token)  # fmt: skip
    reopened = Storage(assistant.storage.url)
    reopened.authorize(user.user_id, user.token)
    assert reopened.load_profile(user.user_id).role == "sre"
    assert reopened.resource_ratings(user.user_id) == {answer.items[0].resource.id: 1}


def test_feedback_input_is_checked(assistant: Assistant) -> None:
    answer = assistant.ask("feature stores")
    session = answer.session_id or ""
    with pytest.raises(InvalidInput, match="rating must be 1"):
        assistant.record_feedback(session, 5)
    with pytest.raises(InvalidInput, match="unknown resource 'nope'"):
        assistant.record_feedback(session, 1, "nope")
    with pytest.raises(UnknownSessionError, match="unknown session 'missing'"):
        assistant.record_feedback("missing", 1)
    assert assistant.storage.feedback_rows(session) == []
    assistant.record_feedback(session, -1)
    assert [r["rating"] for r in assistant.storage.feedback_rows(session)] == [-1]


# -- semantics ----------------------------------------------------------------------------------


def test_formats_fill_the_list_when_three_fit(assistant: Assistant) -> None:
    answer = assistant.recommend(profile={"formats": ["tool"]}, topic="model monitoring", k=5)
    assert len(answer.items) >= 3
    assert all(item.resource.kind == "tool" for item in answer.items)


def test_other_kinds_fill_in_and_are_labeled_when_few_formats_fit(assistant: Assistant) -> None:
    answer = assistant.recommend(profile={"formats": ["community"]}, topic="feature stores", k=5)
    kinds = [item.resource.kind for item in answer.items]
    assert "community" in kinds and len(set(kinds)) > 1
    first_other = next(i for i, kind in enumerate(kinds) if kind != "community")
    assert all(kind == "community" for kind in kinds[:first_other])  # preferred ones lead
    for item in answer.items:
        filled = "fills in because fewer than three communitys fit" in item.reason
        assert filled == (item.resource.kind != "community"), item.reason


def test_a_free_budget_leaves_out_paid_resources(assistant: Assistant) -> None:
    costs = {r.id: r.cost for r in assistant.catalog.resources.values()}
    anyone = rec_ids(assistant, "feature stores", k=10)
    assert any(costs[i] == "paid" for i in anyone)  # so the filter has something to remove
    free = rec_ids(assistant, "feature stores", k=10, budget="free")
    assert free and not [i for i in free if costs[i] == "paid"]


def test_level_moves_matching_resources_up_and_far_ones_down(assistant: Assistant) -> None:
    level = {r.id: LEVELS.index(r.level) for r in assistant.catalog.resources.values()}
    neutral = rec_ids(assistant, k=10)
    for wanted in (0, 2):
        mine = rec_ids(assistant, k=10, level=LEVELS[wanted])
        assert not [i for i in mine[:5] if abs(level[i] - wanted) == 2], mine  # far: not top 5
        for i in set(mine) & set(neutral):
            gap = abs(level[i] - wanted)
            if gap == 0:
                assert mine.index(i) <= neutral.index(i), (i, mine, neutral)
        far_before = [i for i in neutral[:5] if abs(level[i] - wanted) == 2]
        assert all(i not in mine[:5] for i in far_before)
    beginner, advanced = (
        rec_ids(assistant, k=10, level="beginner"),
        rec_ids(assistant, k=10, level="advanced"),
    )
    assert sum(level[i] for i in beginner) < sum(level[i] for i in advanced)


def test_an_interview_goal_brings_interview_resources_forward(assistant: Assistant) -> None:
    topics = {r.id: set(r.topics) for r in assistant.catalog.resources.values()}
    neutral = rec_ids(assistant, "what should I study?", k=5)
    interviews = rec_ids(assistant, "what should I study?", k=5, goals=["interviews"])
    assert sum("interviews" in topics[i] for i in interviews[:3]) >= 2, interviews
    assert sum("interviews" in topics[i] for i in interviews) > sum(
        "interviews" in topics[i] for i in neutral
    )


def test_a_role_expands_towards_what_that_role_needs(assistant: Assistant) -> None:
    audience = {r.id: set(r.audience) for r in assistant.catalog.resources.values()}
    sre = rec_ids(assistant, "running ML models in production", k=5, role="sre")
    scientist = rec_ids(assistant, "running ML models in production", k=5, role="data-scientist")
    assert sre != scientist
    assert sum("sre" in audience[i] for i in sre) > sum("sre" in audience[i] for i in scientist)


def test_already_read_is_never_recommended_but_is_mentioned(assistant: Assistant) -> None:
    first = rec_ids(assistant, "feature stores", k=5)[0]
    title = assistant.catalog.resources[first].title
    answer = assistant.recommend(profile={"already_read": [first]}, topic="feature stores", k=10)
    assert first not in [item.resource.id for item in answer.items]
    assert f"Since you've read *{title}*" in answer.text
    path = rec_ids(assistant, None, k=10, already_read=[first])
    assert first not in path


def test_thumbs_down_demotes_a_resource_for_that_user_only(assistant: Assistant) -> None:
    alice = assistant.create_user()
    bob = assistant.create_user()
    answer = assistant.ask("feature stores", user_id=alice.user_id, token=alice.token)
    disliked = answer.items[0].resource.id
    assistant.record_feedback(answer.session_id or "", -1, disliked, alice.user_id, alice.token)
    again = assistant.ask("feature stores", user_id=alice.user_id, token=alice.token)
    assert disliked not in [item.resource.id for item in again.items]
    other = assistant.ask("feature stores", user_id=bob.user_id, token=bob.token)
    assert other.items[0].resource.id == disliked


def test_thumbs_up_boosts_similar_resources(assistant: Assistant) -> None:
    user = assistant.create_user()
    before = assistant.recommend(topic="model monitoring", k=10, user_id=user.user_id,
                                 token=user.token)  # fmt: skip
    ids = [item.resource.id for item in before.items]
    # Answers are grouped in study order (start here, go deeper, hands-on, join), so a lift
    # shows within a group: like the last item of the largest group.
    groups = [item.group for item in before.items]
    largest = max(set(groups), key=groups.count)
    liked = [i for i, g in zip(ids, groups, strict=True) if g == largest][-1]
    resources = assistant.catalog.resources
    nearest = max(
        (i for i in ids if i != liked), key=lambda i: similarity(resources[liked], resources[i])
    )
    answer = assistant.ask("monitoring", user_id=user.user_id, token=user.token)
    assistant.record_feedback(answer.session_id or "", 1, liked, user.user_id, user.token)
    after = assistant.recommend(topic="model monitoring", k=10, user_id=user.user_id,
                                token=user.token)  # fmt: skip
    after_ids = [item.resource.id for item in after.items]
    # The answer lists by study order (purpose groups), so the lift shows in the scores the
    # personalizer gives, and the liked resource and its nearest neighbour stay in the list.
    assert liked in after_ids and nearest in after_ids
    scores_before = {i.resource.id: i.score for i in before.items}
    scores_after = {i.resource.id: i.score for i in after.items}
    assert scores_after[liked] > scores_before[liked]
    assert scores_after[nearest] > scores_before[nearest]


def test_lists_do_not_fill_up_with_near_duplicates(assistant: Assistant) -> None:
    resources = assistant.catalog.resources
    for profile in ({}, {"level": "beginner"}, {"goals": ["production"], "role": "sre"}):
        for topic in (None, "feature stores", "ML system design interviews"):
            picked = [resources[i] for i in rec_ids(assistant, topic, k=5, **profile)]
            pairs = [(a.id, b.id) for n, a in enumerate(picked) for b in picked[n + 1 :]
                     if similarity(a, b) >= 0.95]  # fmt: skip
            assert not pairs, (profile, topic, pairs)


# -- recommendations and learning paths -------------------------------------------------------


def test_no_topic_gives_an_ordered_learning_path(assistant: Assistant) -> None:
    answer = assistant.recommend(profile={"level": "beginner", "role": "student"}, k=6)
    assert answer.intent == "learning_path"
    # Foundations first within each stage of the study order: learn, try hands-on, join (a
    # beginner community is still the last step).
    stage = {START: 0, DEEPER: 0, HANDS_ON: 1, JOIN: 2}
    steps = [(stage[purpose(i.resource)], LEVELS.index(i.resource.level)) for i in answer.items]
    assert steps == sorted(steps)
    assert len({item.resource.kind for item in answer.items}) >= 3  # mixed formats
    topics = [set(item.resource.topics) for item in answer.items]
    assert len(set().union(*topics)) >= 6  # diverse topics
    assert all("For you:" in item.reason for item in answer.items)
    assert "A learning path for you (beginner · for students)" in answer.text


def test_a_stored_users_profile_drives_chat(assistant: Assistant) -> None:
    user = assistant.create_user({"budget": "free", "level": "beginner"})
    answer = assistant.ask("feature stores", user_id=user.user_id, token=user.token)
    assert answer.query_used["profile"] == {"level": "beginner", "budget": "free"}
    assert all(item.resource.cost != "paid" for item in answer.items)
    assert any("within your budget" in item.reason for item in answer.items)


def test_recommend_rejects_ambiguous_or_out_of_range_requests(assistant: Assistant) -> None:
    user = assistant.create_user()
    with pytest.raises(InvalidInput, match="not both"):
        assistant.recommend(profile={}, user_id=user.user_id, token=user.token)
    with pytest.raises(InvalidInput, match="k must be between 1 and 50"):
        assistant.recommend(k=0)
    with pytest.raises(InvalidInput, match="limit is"):
        assistant.recommend(topic="x" * 5000)


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("what should I study?", True),
        ("where do I start?", True),
        ("", True),
        ("feature stores", False),
        ("I'm an SRE, where do I start?", False),
    ],
)
def test_generic_requests_are_told_apart_from_topics(text: str, generic: bool) -> None:
    assert is_generic(text) is generic


# -- learning-path facts from the catalog (issue 13): prerequisites and stated effort -----------


def test_a_path_puts_a_stated_prerequisite_before_the_resource_that_needs_it(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("I'm an SRE, where do I start?")
    assert answer.intent == "learning_path"
    ids = [item.resource.id for item in answer.items]
    catalog = assistant.catalog.resources
    # The workbook's entry names the SRE book as its prerequisite; both are on an SRE's path.
    assert catalog["site-reliability-workbook"].prerequisites == ("site-reliability-engineering",)
    assert ids.index("site-reliability-engineering") < ids.index("site-reliability-workbook")
    for n, rid in enumerate(ids):
        assert not set(catalog[rid].prerequisites) & set(ids[n + 1 :]), rid


def test_a_path_shows_each_steps_stated_effort(assistant: Assistant) -> None:
    answer = assistant.recommend(profile={"formats": ["course"], "level": "intermediate"}, k=5)
    assert answer.intent == "learning_path"
    with_effort = [item.resource for item in answer.items if item.resource.effort]
    assert len(with_effort) >= 2  # the course pages state the length of CS329S and FSDL
    lines = answer.text.splitlines()
    for resource in with_effort:
        line = next(line for line in lines if resource.title in line)
        assert resource.effort in line, line
