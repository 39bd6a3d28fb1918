"""The intent classifier and its labeled set: clear errors for bad files, scores that sum to one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.intent import INTENTS, MODEL_PATH, IntentClassifier, IntentModelError
from evals.datasets import DatasetError
from evals.intents import load_intents


def test_the_labeled_set_has_every_intent_in_both_splits() -> None:
    splits = load_intents()
    for split in ("dev", "test"):
        assert {intent for _, intent in splits[split]} == set(INTENTS)
    dev = {text.lower() for text, _ in splits["dev"]}
    assert not dev & {text.lower() for text, _ in splits["test"]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("intents: [1, 2]", "expected a mapping with 'intents'"),
        ("intents:\n  chitchat:\n    dev: [hi]\n", "unknown intent 'chitchat'"),
        ("intents:\n  smalltalk:\n    dev: [hi, Hi]\n", "'Hi' is listed twice"),
        ("intents:\n  smalltalk:\n    train: [hi]\n", "expected lists under 'dev' and 'test'"),
        ("intents: [", "cannot read"),
    ],
)
def test_a_bad_labeled_set_is_refused_with_what_to_fix(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_intents(path)


def test_a_missing_or_mismatched_model_says_to_retrain(tmp_path: Path, embedder) -> None:
    with pytest.raises(IntentModelError, match="mlsd intents"):
        IntentClassifier(embedder, tmp_path / "absent.json")
    other = json.loads(MODEL_PATH.read_text(encoding="utf-8")) | {"embedder": "another-model"}
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(IntentModelError, match="another-model"):
        IntentClassifier(embedder, path)


def test_scores_are_probabilities_over_every_intent(embedder) -> None:
    scores = IntentClassifier(embedder).scores("a free course on mlops")
    assert set(scores.probabilities) == set(INTENTS)
    assert sum(scores.probabilities.values()) == pytest.approx(1.0)
    assert scores.best == "recommend"
    assert 0.0 <= scores.in_scope <= 1.0
