"""Assistant stage: fit a ranked list to one learner (filters, boosts, exclusions, diversity)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.profiles import Profile
from ingest.catalog import Catalog, Resource
from ingest.vocabulary import GOAL_TOPICS, LEVELS, ROLE_LABELS

# Words that ask for guidance without naming a subject: "what should I study?" is a request
# for a learning path, not a search.
GENERIC_WORDS = frozenset(
    """what which where when how should could would can do does i im i'm me my we to for a an
    the of on in and or next now first start begin study learn read recommend suggest give
    show anything something stuff things material materials resources path plan please any
    good best new ideas get going as",""".replace(",", " ").split()
)
# The field itself, which every resource is about: "what should I read about ML systems?" names
# no subject within it, as "what should I read?" does not.
FIELD_WORDS = frozenset("ml machine ai systems".split())
_WORD = re.compile(r"[a-z']+")
FOUNDATION_TOPICS = frozenset({"fundamentals", "system-design"})


@dataclass(frozen=True)
class ProfileWeights:
    """How far each profile signal moves a resource (relevance is scaled to 0..1 first)."""

    level_match: float = 0.12
    level_far: float = 0.6  # two levels away: a beginner does not want the advanced paper first
    role: float = 0.12
    role_topics: float = 0.15
    goals: float = 0.2
    goal_kinds: float = 0.12
    disliked: float = 1.0
    liked: float = 0.1
    liked_similar: float = 0.15
    fit: float = 0.3  # relevance at or above which a resource "fits" the question
    mmr_lambda: float = 0.85  # relevance vs novelty when picking a topical list
    path_lambda: float = 0.6  # a learning path spreads wider over kinds and topics


@dataclass(frozen=True)
class Personalized:
    """A ranking fitted to a learner, with the profile-facing reason for each resource."""

    ranked: list[tuple[str, float]]
    notes: dict[str, str] = field(default_factory=dict)
    skipped_read: tuple[str, ...] = ()  # already read, would otherwise have been recommended
    filled_in: frozenset[str] = frozenset()  # outside the preferred formats, filling the list
    profile: Profile | None = None
    titles: Mapping[str, str] = field(default_factory=dict)  # of the skipped ones

    @property
    def skipped_titles(self) -> tuple[str, ...]:
        """Titles of the already-read resources that were left out."""
        return tuple(self.titles.get(rid, rid) for rid in self.skipped_read)


def is_generic(text: str) -> bool:
    """Whether a request names no subject at all ("what should I study next?", "what should I
    read about machine learning?")."""
    words = _WORD.findall(text.lower())
    return not words or all(w in GENERIC_WORDS or w in FIELD_WORDS for w in words)


@lru_cache(maxsize=1024)
def _features(resource: Resource) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Topics, authors and title words: computed once per resource, not once per pair."""
    words = frozenset(_WORD.findall(resource.title.lower())) - GENERIC_WORDS
    return frozenset(resource.topics), frozenset(resource.authors), words


def similarity(a: Resource, b: Resource) -> float:
    """How close to a duplicate two resources are (0..1): same makers, same subject, same kind."""
    if a.id == b.id:
        return 1.0
    topics_a, authors_a, words_a = _features(a)
    topics_b, authors_b, words_b = _features(b)
    topical = len(topics_a & topics_b) / len(topics_a | topics_b)
    same_authors = bool(authors_a & authors_b)
    titled = len(words_a & words_b) / max(1, len(words_a | words_b))
    return min(1.0, 0.45 * topical + 0.25 * (a.kind == b.kind) + 0.3 * max(same_authors, titled))


def coverage(wanted: set[str], resource: Resource) -> float:
    """How much of what is wanted a resource covers (0..1): two shared topics count as all."""
    if not wanted:
        return 0.0
    return min(1.0, len(wanted & set(resource.topics)) / min(len(wanted), 2))


def mmr(
    scored: Sequence[tuple[str, float]],
    k: int,
    lam: float,
    sim: Callable[[str, str], float],
    picked: Sequence[tuple[str, float]] = (),
) -> list[tuple[str, float]]:
    """Maximal marginal relevance: each pick trades its score against the closest one picked.

    `picked` are earlier picks to stay different from (they lead the returned list).
    """
    pool = list(scored)
    picked = list(picked)
    while pool and len(picked) < k:

        def gain(pair: tuple[str, float]) -> float:
            redundancy = max((sim(pair[0], p) for p, _ in picked), default=0.0)
            return lam * pair[1] - (1 - lam) * redundancy

        best = max(pool, key=lambda pair: (gain(pair), pair[1], pair[0]))
        pool.remove(best)
        picked.append(best)
    return picked


def _goal_phrase(goals: Sequence[str]) -> str:
    return " and ".join(goals)


def _notes(resource: Resource, profile: Profile, liked_like: str | None) -> list[str]:
    notes: list[str] = []
    gap = profile.level_gap(resource.level)
    if gap == 0:
        notes.append(f"at your {profile.level} level")
    elif gap == 1:
        notes.append(f"{resource.level}, one step from your {profile.level} level")
    elif gap == 2:
        notes.append(f"{resource.level}, a stretch from your {profile.level} level")
    who = ROLE_LABELS.get(profile.role or "", profile.role)
    if profile.role and profile.role in resource.audience:
        # Not "like you": the role may be the one the learner aims at ("get into ML engineering").
        notes.append(f"suits {who}")
    elif set(resource.topics) & profile.role_topics():
        shared = sorted(set(resource.topics) & profile.role_topics())
        notes.append(f"covers {', '.join(shared)}, which {who} need")
    served = [g for g in profile.goals if set(resource.topics) & set(GOAL_TOPICS[g])]
    if served:
        notes.append(f"serves your {_goal_phrase(served)} goal")
    if profile.budget == "free" and resource.cost != "paid":
        notes.append(f"{resource.cost}, within your budget")
    if profile.formats and resource.kind in profile.formats:
        notes.append(f"a {resource.kind}, a format you prefer")
    if liked_like:
        notes.append(f"like {liked_like}, which you rated up")
    return notes


class Personalizer:
    """Applies one learner's profile and feedback to ranked candidates."""

    def __init__(self, catalog: Catalog, weights: ProfileWeights = ProfileWeights()) -> None:
        self.catalog = catalog
        self.weights = weights
        resources = list(catalog.resources.values())
        # 92 resources: the whole similarity table costs a few ms once and makes MMR lookups.
        self._sim = {(a.id, b.id): similarity(a, b) for a in resources for b in resources}

    def sim(self, a: str, b: str) -> float:
        """Cached `similarity` of two resources by id."""
        return self._sim[(a, b)]

    def _adjust(
        self,
        resource: Resource,
        relevance: float,
        profile: Profile,
        ratings: Mapping[str, int],
        liked: Sequence[str],
        level_from_query: bool,
    ) -> tuple[float, str | None]:
        """Relevance moved by the profile; also the liked resource this one resembles.

        `liked` are the rated-up resource ids (from `ratings`), found once per ranking.
        """
        w = self.weights
        score = relevance
        gap = None if level_from_query else profile.level_gap(resource.level)
        if gap == 0:
            score += w.level_match
        elif gap == 2:
            score -= w.level_far
        if profile.role and profile.role in resource.audience:
            score += w.role
        score += w.role_topics * coverage(profile.role_topics(), resource)
        score += w.goals * coverage(profile.wanted_topics(), resource)
        if resource.kind in profile.wanted_kinds():
            score += w.goal_kinds
        rating = ratings.get(resource.id, 0)
        if rating < 0:
            score -= w.disliked
        elif rating > 0:
            score += w.liked
        liked_like: str | None = None
        if liked and rating == 0:
            nearest = max(liked, key=lambda rid: self.sim(resource.id, rid))
            closeness = self.sim(resource.id, nearest)
            score += w.liked_similar * closeness
            if closeness >= 0.5:
                liked_like = self.catalog.resources[nearest].title
        return score, liked_like

    def personalize(
        self,
        ranked: Sequence[tuple[str, float]],
        profile: Profile,
        ratings: Mapping[str, int],
        k: int,
        level_from_query: bool = False,
    ) -> Personalized:
        """The k best of `ranked` (resource id, relevance) for this learner, diverse, with notes.

        Hard rules: already-read resources and, on a free budget, paid ones never appear. Soft
        rules move scores: level, role, goals, feedback. Preferred formats fill the list when at
        least three of them fit; otherwise other kinds fill in and are marked as such.
        """
        pool, filled, liked_like, skipped = self._fit(ranked, profile, ratings, level_from_query)
        picked = self._pick(pool, filled, k, self.weights.mmr_lambda)
        return self._result(picked, profile, liked_like, filled, skipped)

    def _pick(
        self, pool: list[tuple[str, float]], filled: set[str], k: int, lam: float
    ) -> list[tuple[str, float]]:
        """MMR over the preferred formats first, then over the kinds that fill in."""
        preferred = mmr([p for p in pool if p[0] not in filled], k, lam, self.sim)
        return mmr([p for p in pool if p[0] in filled], k, lam, self.sim, picked=preferred)

    def _result(
        self,
        picked: list[tuple[str, float]],
        profile: Profile,
        liked_like: Mapping[str, str],
        filled: set[str],
        skipped: Sequence[str] = (),
    ) -> Personalized:
        notes = {
            rid: self._note(rid, profile, liked_like.get(rid), rid in filled) for rid, _ in picked
        }
        chosen = {rid for rid, _ in picked}
        titles = {rid: self.catalog.resources[rid].title for rid in skipped}
        return Personalized(
            picked, notes, tuple(skipped), frozenset(filled & chosen), profile, titles
        )

    def _fit(
        self,
        ranked: Sequence[tuple[str, float]],
        profile: Profile,
        ratings: Mapping[str, int],
        level_from_query: bool,
    ) -> tuple[list[tuple[str, float]], set[str], dict[str, str], list[str]]:
        """Filtered, re-scored candidates; the fill-ins; liked look-alikes; skipped reads."""
        top = max((s for _, s in ranked), default=0.0) or 1.0
        read = set(profile.already_read)
        liked = [rid for rid, r in ratings.items() if r > 0 and rid in self.catalog.resources]
        adjusted: list[tuple[str, float]] = []
        liked_like: dict[str, str] = {}
        skipped: list[str] = []
        for resource_id, raw in ranked:
            resource = self.catalog.resources[resource_id]
            relevance = raw / top
            if resource_id in read:
                if relevance >= self.weights.fit:
                    skipped.append(resource_id)
                continue
            if profile.budget == "free" and resource.cost == "paid":
                continue
            score, like = self._adjust(
                resource, relevance, profile, ratings, liked, level_from_query
            )
            adjusted.append((resource_id, score))
            if like:
                liked_like[resource_id] = like
        adjusted.sort(key=lambda pair: (-pair[1], pair[0]))
        pool, filled = self._by_format(adjusted, profile)
        return pool, filled, liked_like, skipped

    def _by_format(
        self, adjusted: list[tuple[str, float]], profile: Profile
    ) -> tuple[list[tuple[str, float]], set[str]]:
        """Candidates limited to the preferred formats when three fit, else with fill-ins."""
        if not profile.formats:
            return adjusted, set()
        formats = set(profile.formats)
        preferred = [p for p in adjusted if self.catalog.resources[p[0]].kind in formats]
        fitting = [p for p in preferred if p[1] >= self.weights.fit]
        if len(fitting) >= 3:
            return preferred, set()
        others = [
            p
            for p in adjusted
            if self.catalog.resources[p[0]].kind not in formats and p[1] >= self.weights.fit
        ]
        return fitting + others, {rid for rid, _ in others}

    def _note(
        self, resource_id: str, profile: Profile, liked_like: str | None, filled: bool
    ) -> str:
        resource = self.catalog.resources[resource_id]
        notes = _notes(resource, profile, liked_like)
        if filled:
            wanted = " or ".join(profile.formats)
            notes.append(f"not a {wanted}: it fills in because fewer than three {wanted}s fit")
        return "; ".join(notes)

    def learning_path(
        self,
        profile: Profile,
        ratings: Mapping[str, int],
        k: int,
        kinds: Collection[str] = (),
    ) -> Personalized:
        """An ordered path with no topic: foundations first, mixed formats (of `kinds`, if the
        request names any), diverse topics."""
        # A vendor's own product, or a title only an affiliate page names, is advertised, not
        # agreed on: its mentions earn it nothing.
        mentions = {
            rid: len(r.mentioned_in) if r.verified and not r.vendor else 0
            for rid, r in self.catalog.resources.items()
        }
        most = max(mentions.values(), default=1)
        wanted = profile.wanted_topics()
        priors: list[tuple[str, float]] = []
        for resource_id, resource in self.catalog.resources.items():
            if kinds and resource.kind not in kinds:
                continue  # asked for in the message: a constraint, not a preference
            # Resources several sources name are the ones the field agrees on.
            prior = 0.2 + 0.3 * mentions[resource_id] / most
            if FOUNDATION_TOPICS & set(resource.topics):
                prior += 0.1
            # With no question, the goals are the subject: they weigh more than in a search.
            prior += 0.3 * coverage(wanted, resource)
            if profile.level is None and resource.level == "beginner":
                prior += 0.1
            priors.append((resource_id, prior))
        pool, filled, liked_like, _ = self._fit(priors, profile, ratings, False)
        # A title no public record confirms (only an affiliate page names it) is on nobody's
        # path while k confirmed ones fit.
        confirmed = [p for p in pool if self.catalog.resources[p[0]].verified]
        picked = self._pick(confirmed if len(confirmed) >= k else pool, filled, k,
                            self.weights.path_lambda)  # fmt: skip

        def step(pair: tuple[str, float]) -> tuple[int, int, float]:
            resource = self.catalog.resources[pair[0]]
            foundations = 0 if FOUNDATION_TOPICS & set(resource.topics) else 1
            return LEVELS.index(resource.level), foundations, -pair[1]

        picked.sort(key=step)
        return self._result(picked, profile, liked_like, filled)
