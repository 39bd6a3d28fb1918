"""The saved intent classifier is what its labeled set trains (`mlsd intents --check`)."""

from __future__ import annotations

import pytest

from evals.intents import main as intents_main

pytestmark = pytest.mark.integration


def test_retraining_reproduces_the_saved_model_and_reports_held_out_accuracy(embedder) -> None:
    report = intents_main(embedder, check=True)  # raises DatasetError when they differ
    held_out = report["test"]
    assert set(held_out) == {
        "recommend", "explain", "compare", "learning_path", "smalltalk", "out_of_scope", "all"
    }  # fmt: skip
    # Issue 11 asks for a classifier that can be evaluated: it must beat the majority class
    # (recommend, 27 of 101 held-out messages) by a wide margin.
    assert held_out["all"]["accuracy"] >= 0.85
