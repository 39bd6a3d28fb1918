"""Evals stage: train the intent classifier on the dev split of `datasets/intents.yaml`, and
report its accuracy per intent on the held-out test split (`mlsd intents`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from assistant.intent import INTENTS, MODEL_PATH, IntentClassifier, save, train
from evals.datasets import DATASETS_DIR, DatasetError
from ingest.embedding import Embedder

INTENTS_PATH = DATASETS_DIR / "intents.yaml"
# Inverse regularization strengths tried by cross-validation on dev (scikit-learn's default is 1;
# sentence embeddings are low-noise, so larger values are worth trying).
REGULARIZATION_GRID = (1.0, 3.0, 10.0, 30.0)
FOLDS = 5


def load_intents(path: Path = INTENTS_PATH) -> dict[str, list[tuple[str, str]]]:
    """{split: [(message, intent), ...]} from the labeled file; a clear error if it is malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise DatasetError(f"{path}: expected a mapping with 'intents'")
    splits: dict[str, list[tuple[str, str]]] = {"dev": [], "test": []}
    seen: set[str] = set()
    for intent, by_split in data["intents"].items():
        if intent not in INTENTS:
            raise DatasetError(
                f"{path}: unknown intent '{intent}'; use one of {', '.join(INTENTS)}"
            )
        for split, messages in (by_split or {}).items():
            if split not in splits or not isinstance(messages, list):
                raise DatasetError(f"{path}: {intent}: expected lists under 'dev' and 'test'")
            for message in map(str, messages):
                if message.lower() in seen:
                    raise DatasetError(f"{path}: '{message}' is listed twice")
                seen.add(message.lower())
                splits[split].append((message, intent))
    return splits


def _choose_regularization(vectors: np.ndarray, labels: list[str]) -> float:
    """The grid value with the best stratified cross-validated accuracy on dev."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    scores = {
        c: float(
            cross_val_score(
                LogisticRegression(C=c, max_iter=2000), vectors, labels, cv=folds
            ).mean()
        )
        for c in REGULARIZATION_GRID
    }
    return max(REGULARIZATION_GRID, key=lambda c: (round(scores[c], 4), -c))


def build_model(embedder: Embedder, path: Path = INTENTS_PATH) -> dict[str, object]:
    """Train on the dev split, with the regularization cross-validation picks on dev."""
    dev = load_intents(path)["dev"]
    texts, labels = (
        [t.lower() for t, _ in dev],
        [i for _, i in dev],
    )  # messages are read lower-cased
    vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
    regularization = _choose_regularization(vectors, labels)
    return train(embedder, texts, labels, regularization)


def accuracy_by_intent(
    classifier: IntentClassifier, cases: list[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    """Per intent: how many held-out messages, and the share classified right."""
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for text, intent in cases:
        total[intent] += 1
        right[intent] += classifier.scores(text.lower()).best == intent
    report = {
        i: {"n": total[i], "accuracy": round(right[i] / total[i], 4)} for i in INTENTS if total[i]
    }
    report["all"] = {
        "n": sum(total.values()),
        "accuracy": round(sum(right.values()) / sum(total.values()), 4),
    }
    return report


def main(embedder: Embedder, check: bool = False, model_path: Path = MODEL_PATH) -> dict[str, Any]:
    """Rebuild the model (or, with `check`, compare a rebuild with the saved one) and report."""
    model = build_model(embedder)
    if check:
        saved = json.loads(model_path.read_text(encoding="utf-8"))
        same = saved["classes"] == model["classes"] and np.allclose(
            np.asarray(saved["coef"]), np.asarray(model["coef"]), atol=1e-4
        )
        if not same:
            raise DatasetError(
                f"{model_path} is not what the labeled set trains: run `mlsd intents`"
            )
    else:
        save(model, model_path)
    classifier = IntentClassifier(embedder, model_path)
    return {
        "model": str(model_path),
        "regularization": model["regularization"],
        "test": accuracy_by_intent(classifier, load_intents()["test"]),
    }
