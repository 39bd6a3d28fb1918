"""Evals stage: load and validate the labeled datasets in `evals/datasets/` against the catalog."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from ingest.catalog import KINDS, LEVELS, read_yaml_list

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
SPLITS = ("dev", "test")
GRADES = (0, 1, 2)  # 2 = a right answer, 1 = a good supporting one, 0 = judged not relevant
PROFILE_FIELDS = ("level", "role", "goals", "formats", "budget", "already_read")
BUDGETS = ("free", "any")


class DatasetError(ValueError):
    """A dataset file is invalid; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class QueryCase:
    """One labeled single-turn query."""

    id: str
    split: str
    category: str
    query: str
    relevant: dict[str, int]


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation, judged in the context of the turns before it."""

    message: str
    relevant: dict[str, int]
    must_not: tuple[str, ...] = ()  # ids that must not appear in this turn's top 5


@dataclass(frozen=True)
class Conversation:
    """A labeled multi-turn conversation."""

    id: str
    split: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class PersonalizationCase:
    """A learner profile with an optional topic, and what may and may not be recommended."""

    id: str
    split: str
    profile: dict[str, Any]
    query: str  # "" = no topic: a learning path for the profile
    relevant: dict[str, int]
    must_not: tuple[str, ...] = ()
    must_not_kinds: tuple[str, ...] = ()
    paid_forbidden: bool = False


@dataclass(frozen=True)
class OutOfScopeCase:
    """A question the corpus does not cover."""

    id: str
    split: str
    query: str


@dataclass(frozen=True)
class Datasets:
    """All four datasets (optionally restricted to one split)."""

    queries: list[QueryCase] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    personalization: list[PersonalizationCase] = field(default_factory=list)
    out_of_scope: list[OutOfScopeCase] = field(default_factory=list)

    def split(self, name: str) -> Datasets:
        """Only the cases of split `name` ("dev" or "test"); "all" keeps everything."""
        if name == "all":
            return self
        if name not in SPLITS:
            raise DatasetError(f"unknown split '{name}'; use dev, test or all")
        return Datasets(
            queries=[c for c in self.queries if c.split == name],
            conversations=[c for c in self.conversations if c.split == name],
            personalization=[c for c in self.personalization if c.split == name],
            out_of_scope=[c for c in self.out_of_scope if c.split == name],
        )


class _Entry:
    """Reads one YAML entry, turning every problem into a `DatasetError` that names it."""

    def __init__(
        self, path: Path, index: int, raw: object, known_ids: Collection[str], keys: Sequence[str]
    ) -> None:
        self.path = path
        self.known_ids = known_ids
        entry_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
        self.where = f"{path.name}: entry #{index + 1} (id '{entry_id}')"
        if not isinstance(raw, dict):
            raise DatasetError(f"{self.where}: expected a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(keys))
        if unknown:
            self.fail("(entry)", f"unknown field(s) {unknown}; allowed: {', '.join(keys)}")
        self.raw: dict[str, Any] = raw

    def fail(self, name: str, problem: str) -> NoReturn:
        raise DatasetError(f"{self.where}: field '{name}': {problem}")

    def text(self, name: str, raw: Mapping[str, Any] | None = None, empty_ok: bool = False) -> str:
        value = (self.raw if raw is None else raw).get(name)
        if value is None and empty_ok:
            return ""
        if not isinstance(value, str) or (not value.strip() and not empty_ok):
            self.fail(name, "required, a non-empty string")
        return str(value)

    def split(self) -> str:
        value = self.text("split")
        if value not in SPLITS:
            self.fail("split", f"'{value}' is not one of {', '.join(SPLITS)}")
        return value

    def ids(self, values: object, name: str) -> tuple[str, ...]:
        if values is None:
            return ()
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.fail(name, "expected a list of resource ids")
        unknown = sorted(set(values) - set(self.known_ids))
        if unknown:
            self.fail(name, f"unknown resource id(s) {unknown}: not in corpus/resources.yaml")
        return tuple(values)

    def relevant(self, raw: Mapping[str, Any] | None = None) -> dict[str, int]:
        value = (self.raw if raw is None else raw).get("relevant")
        if not isinstance(value, dict) or not value:
            self.fail("relevant", "required, a non-empty mapping of resource id -> grade")
        labels: dict[str, int] = {}
        for resource_id, grade in value.items():
            if grade not in GRADES or isinstance(grade, bool):
                self.fail("relevant", f"grade of '{resource_id}' is {grade!r}; use 0, 1 or 2")
            labels[str(resource_id)] = int(grade)
        self.ids(list(labels), "relevant")
        if not any(g >= 1 for g in labels.values()):
            self.fail("relevant", "needs at least one id with grade 1 or 2")
        return labels

    def kinds(self, values: object, name: str) -> tuple[str, ...]:
        if values is None:
            return ()
        if not isinstance(values, list) or any(v not in KINDS for v in values):
            self.fail(name, f"expected a list of kinds from: {', '.join(KINDS)}")
        return tuple(values)

    def no_overlap(self, relevant: Mapping[str, int], must_not: Sequence[str]) -> None:
        both = sorted(r for r in must_not if relevant.get(r, 0) >= 1)
        if both:
            self.fail("must_not", f"{both} also labeled relevant")


def _entries(path: Path, key: str) -> list[object]:
    return read_yaml_list(path, key, error=DatasetError)


T = TypeVar("T", QueryCase, Conversation, PersonalizationCase, OutOfScopeCase)


def _unique(path: Path, cases: list[T]) -> list[T]:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise DatasetError(f"{path.name}: id '{case.id}' is used by more than one entry")
        seen.add(case.id)
    return cases


def load_queries(path: Path, known_ids: Collection[str]) -> list[QueryCase]:
    """Single-turn queries (`queries.yaml`)."""
    cases = []
    for i, raw in enumerate(_entries(path, "queries")):
        e = _Entry(path, i, raw, known_ids, ("id", "split", "category", "query", "relevant"))
        cases.append(
            QueryCase(e.text("id"), e.split(), e.text("category"), e.text("query"), e.relevant())
        )
    return _unique(path, cases)


def load_conversations(path: Path, known_ids: Collection[str]) -> list[Conversation]:
    """Multi-turn conversations (`conversations.yaml`)."""
    cases = []
    for i, raw in enumerate(_entries(path, "conversations")):
        e = _Entry(path, i, raw, known_ids, ("id", "split", "turns"))
        raw_turns = e.raw.get("turns")
        if not isinstance(raw_turns, list) or len(raw_turns) < 2:
            e.fail("turns", "required, a list of at least two turns")
        turns = []
        for n, turn in enumerate(raw_turns):
            if not isinstance(turn, dict) or set(turn) - {"message", "relevant", "must_not"}:
                e.fail(f"turns[{n}]", "expected a mapping with message, relevant, must_not")
            relevant = e.relevant(turn)
            must_not = e.ids(turn.get("must_not"), f"turns[{n}].must_not")
            e.no_overlap(relevant, must_not)
            turns.append(Turn(e.text("message", turn), relevant, must_not))
        cases.append(Conversation(e.text("id"), e.split(), tuple(turns)))
    return _unique(path, cases)


def _profile(e: _Entry) -> dict[str, Any]:
    profile = e.raw.get("profile")
    if not isinstance(profile, dict):
        e.fail("profile", f"required, a mapping with {', '.join(PROFILE_FIELDS)}")
    unknown = sorted(set(profile) - set(PROFILE_FIELDS))
    if unknown:
        e.fail("profile", f"unknown field(s) {unknown}; allowed: {', '.join(PROFILE_FIELDS)}")
    if profile.get("level") not in (None, *LEVELS):
        e.fail("profile.level", f"'{profile['level']}' is not one of {', '.join(LEVELS)}")
    if profile.get("budget") not in (None, *BUDGETS):
        e.fail("profile.budget", f"'{profile['budget']}' is not one of {', '.join(BUDGETS)}")
    e.kinds(profile.get("formats"), "profile.formats")
    e.ids(profile.get("already_read"), "profile.already_read")
    return dict(profile)


def load_personalization(path: Path, known_ids: Collection[str]) -> list[PersonalizationCase]:
    """Profile-based recommendation cases (`personalization.yaml`)."""
    keys = ("id", "split", "profile", "query", "relevant", "must_not", "must_not_kinds")
    cases = []
    for i, raw in enumerate(_entries(path, "cases")):
        e = _Entry(path, i, raw, known_ids, (*keys, "paid_forbidden"))
        relevant = e.relevant()
        must_not = e.ids(e.raw.get("must_not"), "must_not")
        e.no_overlap(relevant, must_not)
        paid_forbidden = e.raw.get("paid_forbidden", False)
        if not isinstance(paid_forbidden, bool):
            e.fail("paid_forbidden", "expected true or false")
        cases.append(
            PersonalizationCase(
                id=e.text("id"),
                split=e.split(),
                profile=_profile(e),
                query=e.text("query", empty_ok=True),
                relevant=relevant,
                must_not=must_not,
                must_not_kinds=e.kinds(e.raw.get("must_not_kinds"), "must_not_kinds"),
                paid_forbidden=paid_forbidden,
            )
        )
    return _unique(path, cases)


def load_out_of_scope(path: Path, known_ids: Collection[str]) -> list[OutOfScopeCase]:
    """Questions the corpus does not cover (`out_of_scope.yaml`)."""
    cases = []
    for i, raw in enumerate(_entries(path, "queries")):
        e = _Entry(path, i, raw, known_ids, ("id", "split", "query"))
        cases.append(OutOfScopeCase(e.text("id"), e.split(), e.text("query")))
    return _unique(path, cases)


def load_datasets(known_ids: Collection[str], directory: Path = DATASETS_DIR) -> Datasets:
    """All four dataset files, validated; every label must name a resource in `known_ids`."""
    return Datasets(
        queries=load_queries(directory / "queries.yaml", known_ids),
        conversations=load_conversations(directory / "conversations.yaml", known_ids),
        personalization=load_personalization(directory / "personalization.yaml", known_ids),
        out_of_scope=load_out_of_scope(directory / "out_of_scope.yaml", known_ids),
    )
