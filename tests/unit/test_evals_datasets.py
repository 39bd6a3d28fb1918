"""Data tests on the eval datasets: they load, every label names a catalog resource, splits hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evals.datasets import (
    DATASETS_DIR,
    DatasetError,
    load_conversations,
    load_datasets,
    load_out_of_scope,
    load_personalization,
    load_queries,
)
from ingest.catalog import load_catalog

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def known_ids() -> frozenset[str]:
    return frozenset(load_catalog(REAL_CORPUS).resources)


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_real_datasets_load_and_every_label_is_a_catalog_id(known_ids):
    # load_datasets raises DatasetError on any label, exclusion or already_read id not in the
    # catalog, so loading all four files against the real catalog is the check.
    data = load_datasets(known_ids)
    labeled = set()
    for case in data.queries:
        labeled |= set(case.relevant)
    for conversation in data.conversations:
        for turn in conversation.turns:
            labeled |= set(turn.relevant) | set(turn.must_not)
    for p in data.personalization:
        labeled |= set(p.relevant) | set(p.must_not) | set(p.profile.get("already_read") or ())
    assert labeled, "no labels at all"
    assert labeled <= known_ids, f"unknown ids: {sorted(labeled - known_ids)}"


def test_datasets_are_big_enough(known_ids):
    data = load_datasets(known_ids)
    assert len(data.queries) >= 80
    assert len(data.conversations) >= 10
    assert len(data.personalization) >= 10
    assert len(data.out_of_scope) >= 5


@pytest.mark.parametrize("split", ["dev", "test"])
def test_each_split_has_cases_in_every_file(known_ids, split):
    data = load_datasets(known_ids).split(split)
    assert data.queries and data.conversations and data.personalization and data.out_of_scope
    for cases in (data.queries, data.conversations, data.personalization, data.out_of_scope):
        assert {c.split for c in cases} == {split}


def test_splits_partition_the_data(known_ids):
    data = load_datasets(known_ids)
    dev, test = data.split("dev"), data.split("test")
    assert len(dev.queries) + len(test.queries) == len(data.queries)
    assert {c.id for c in dev.queries}.isdisjoint({c.id for c in test.queries})
    assert data.split("all") is data
    with pytest.raises(DatasetError, match="unknown split 'train'"):
        data.split("train")


def test_unknown_relevant_id_is_a_clear_error(tmp_path, known_ids):
    path = _write(
        tmp_path / "queries.yaml",
        {
            "queries": [
                {"id": "q1", "split": "dev", "category": "topic", "query": "feature stores",
                 "relevant": {"feast": 2, "no-such-resource": 1}},
            ]
        },
    )  # fmt: skip
    with pytest.raises(DatasetError) as raised:
        load_queries(path, known_ids)
    message = str(raised.value)
    assert "queries.yaml" in message and "entry #1 (id 'q1')" in message
    assert "field 'relevant'" in message and "no-such-resource" in message
    assert "not in corpus/resources.yaml" in message


def test_unknown_must_not_id_in_a_conversation_is_an_error(tmp_path, known_ids):
    path = _write(
        tmp_path / "conversations.yaml",
        {
            "conversations": [
                {"id": "c1", "split": "test", "turns": [
                    {"message": "feature stores?", "relevant": {"feast": 2}},
                    {"message": "open source ones?", "relevant": {"feast": 2},
                     "must_not": ["tecton", "made-up-store"]},
                ]},
            ]
        },
    )  # fmt: skip
    with pytest.raises(DatasetError, match=r"turns\[1\]\.must_not.*made-up-store"):
        load_conversations(path, known_ids)


def test_unknown_already_read_id_in_a_profile_is_an_error(tmp_path, known_ids):
    path = _write(
        tmp_path / "personalization.yaml",
        {
            "cases": [
                {"id": "p1", "split": "dev", "query": "",
                 "profile": {"level": "beginner", "budget": "free", "already_read": ["ghost-book"]},
                 "relevant": {"made-with-ml": 2}},
            ]
        },
    )  # fmt: skip
    with pytest.raises(DatasetError, match=r"profile\.already_read.*ghost-book"):
        load_personalization(path, known_ids)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"relevent": {"feast": 2}}, r"unknown field\(s\) \['relevent'\]"),
        ({"split": "train"}, r"field 'split': 'train' is not one of dev, test"),
        ({"relevant": {"feast": 3}}, r"grade of 'feast' is 3"),
        ({"relevant": {"feast": 0}}, r"at least one id with grade 1 or 2"),
        ({"query": "  "}, r"field 'query': required"),
    ],
)
def test_malformed_query_entries_are_rejected(tmp_path, known_ids, entry, problem):
    base = {"id": "q1", "split": "dev", "category": "topic", "query": "x", "relevant": {"feast": 2}}
    if "relevent" in entry:
        del base["relevant"]
    path = _write(tmp_path / "queries.yaml", {"queries": [base | entry]})
    with pytest.raises(DatasetError, match=problem):
        load_queries(path, known_ids)


def test_duplicate_ids_and_contradictory_labels_are_rejected(tmp_path, known_ids):
    case = {"id": "o1", "split": "dev", "query": "pizza in Naples?"}
    path = _write(tmp_path / "out_of_scope.yaml", {"queries": [case, case]})
    with pytest.raises(DatasetError, match="id 'o1' is used by more than one entry"):
        load_out_of_scope(path, known_ids)
    contradictory = {
        "id": "p1", "split": "dev", "query": "feature stores", "profile": {},
        "relevant": {"feast": 2}, "must_not": ["feast"],
    }  # fmt: skip
    path = _write(tmp_path / "personalization.yaml", {"cases": [contradictory]})
    with pytest.raises(DatasetError, match=r"\['feast'\] also labeled relevant"):
        load_personalization(path, known_ids)


def test_missing_file_names_the_path(tmp_path, known_ids):
    with pytest.raises(DatasetError, match="file not found"):
        load_datasets(known_ids, directory=tmp_path)
    assert (DATASETS_DIR / "queries.yaml").is_file()
