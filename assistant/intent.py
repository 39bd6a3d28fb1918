"""Assistant stage: what a message asks for (recommend, explain, compare, a learning path, small
talk, or something out of scope), by a logistic regression over the bundled sentence embeddings.

The model is trained by `mlsd intents` from the labeled messages in
`evals/datasets/intents.yaml` (its dev split) and saved as plain numbers in `intent_model.json`,
so loading it needs no training and no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from ingest.embedding import Embedder

Intent = Literal["recommend", "explain", "compare", "learning_path", "smalltalk", "out_of_scope"]
INTENTS: tuple[str, ...] = get_args(Intent)
MODEL_PATH = Path(__file__).resolve().parent / "intent_model.json"


class IntentModelError(RuntimeError):
    """The saved intent model is missing or does not fit the embedder; rebuild it."""


@dataclass(frozen=True)
class IntentScores:
    """The classifier's probability for each intent."""

    probabilities: dict[str, float]

    @property
    def best(self) -> str:
        """The most likely intent."""
        return max(self.probabilities, key=self.probabilities.__getitem__)

    def best_of(self, intents: tuple[str, ...]) -> str:
        """The most likely of some intents (the in-scope reading of a message)."""
        return max(intents, key=lambda name: self.probabilities.get(name, 0.0))

    @property
    def in_scope(self) -> float:
        """The probability that the message is about learning ML systems at all."""
        return 1.0 - self.probabilities.get("out_of_scope", 0.0)


class IntentClassifier:
    """Multinomial logistic regression over unit-length sentence embeddings."""

    def __init__(self, embedder: Embedder, path: Path = MODEL_PATH) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IntentModelError(
                f"{path}: cannot read the intent model ({exc}); run `mlsd intents`"
            ) from exc
        if data.get("embedder") != embedder.name:
            raise IntentModelError(
                f"{path} was trained on {data.get('embedder')} embeddings, not {embedder.name}: "
                "run `mlsd intents` to retrain it"
            )
        self.embedder = embedder
        self.classes: tuple[str, ...] = tuple(data["classes"])
        self.coef = np.asarray(data["coef"], dtype=np.float64)
        self.intercept = np.asarray(data["intercept"], dtype=np.float64)

    def scores(self, text: str) -> IntentScores:
        """The probability of each intent for one message."""
        vector = np.asarray(self.embedder.embed([text])[0], dtype=np.float64)
        logits = self.coef @ vector + self.intercept
        weights = np.exp(logits - logits.max())
        probabilities = weights / weights.sum()
        return IntentScores({c: float(p) for c, p in zip(self.classes, probabilities, strict=True)})


class SharedQueryVectors:
    """An embedder that remembers the last single question's vector, so the intent classifier
    and dense retrieval embed each question once (embedding is most of a search's time on a CPU).
    One slot: a question asked again later pays again, so measured latencies stay honest."""

    def __init__(self, embedder: Embedder, size: int = 1) -> None:
        from functools import lru_cache

        self.name = embedder.name
        self.dimension = embedder.dimension
        self._embedder = embedder
        self._one = lru_cache(maxsize=size)(lambda text: tuple(embedder.embed([text])[0]))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text; a single text is served from memory when it was the last one."""
        if len(texts) == 1:
            return [list(self._one(texts[0]))]
        return self._embedder.embed(texts)


def train(
    embedder: Embedder, texts: list[str], labels: list[str], regularization: float
) -> dict[str, object]:
    """Fit the classifier (scikit-learn, deterministic lbfgs) and return it as saveable data."""
    from sklearn.linear_model import LogisticRegression

    vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
    model = LogisticRegression(C=regularization, max_iter=2000)
    model.fit(vectors, labels)
    return {
        "embedder": embedder.name,
        "regularization": regularization,
        "classes": [str(c) for c in model.classes_],
        "coef": [[round(float(v), 6) for v in row] for row in model.coef_],
        "intercept": [round(float(v), 6) for v in model.intercept_],
    }


def save(model: dict[str, object], path: Path = MODEL_PATH) -> None:
    """Write a trained model where `IntentClassifier` loads it."""
    path.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
