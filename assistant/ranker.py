"""Assistant stage: the learned ranker, LightGBM LambdaRank over per-candidate features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from assistant.trees import TreeModel, TreeModelError
from ingest.catalog import LEVELS, Resource

# The saved model, trained by `make train-ranker` (evals/train_ranker.py) on the dev split.
MODEL_PATH = Path(__file__).resolve().parent / "models" / "ranker.txt"

# One row per (question, candidate). Retrieval signals come from `HybridRetriever.signals`;
# the rest from what the question and the conversation say about the candidate.
RETRIEVAL_FEATURES = (
    "card_dense",  # cosine of the question and the resource's card
    "card_dense_rrf",  # reciprocal rank of the card in the dense card ranking
    "card_bm25",  # BM25 of the card, divided by the question's best card
    "card_bm25_rrf",
    "card_bm25_expanded",  # the same with the question's topic words added
    "card_bm25_expanded_rrf",
    "card_rrf",  # 0.5/0.5 fusion of the two card ranks: the ensemble baseline's own score
    "passage_dense",  # best cosine of a source passage naming the resource
    "passage_dense_count",  # passages naming it in the dense top depth
    "passage_bm25",  # best BM25 of such a passage, divided by the question's best chunk
    "passage_bm25_count",
    "passage_trust",  # trust of the best-trusted such source (high 1 ... low 0.33)
    "doc_dense",  # a user's document: best cosine of its chunks
    "doc_dense_count",
    "doc_bm25",
    "doc_bm25_count",
    "hybrid",  # the first version's hand-weighted fusion, divided by the question's best
)
QUERY_FEATURES = (
    "topic_match",  # share of the asked-for topics the resource has
    "asks_topics",  # the question names topics at all
    "named",  # the question names this resource
    "by_author",  # the question names one of its authors
    "level_gap",  # |asked level - resource level|, -1 when no level was asked
    "role_match",  # the stated role is in its audience
    "verified",  # the catalog entry is verified (issue 13's field; True when absent)
    "is_document",  # one of the user's own documents
    "follow_up",  # the question continues a conversation
    "carried",  # the conversation's previous answer held it
)
FEATURES = RETRIEVAL_FEATURES + QUERY_FEATURES

# LightGBM settings. LambdaRank optimizing nDCG@10 (the eval's headline metric). Small trees
# and at least 20 rows per leaf (LightGBM's default) because dev has only ~50 questions; one
# thread and fixed seeds so retraining gives the same model file byte for byte.
PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "lambdarank_truncation_level": 10,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "learning_rate": 0.05,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 7,
    "verbosity": -1,
}
MAX_ROUNDS = 400  # upper bound of boosting rounds; cross-validation picks the number
EARLY_STOP = 40  # rounds without a better CV nDCG@10 before stopping (10% of MAX_ROUNDS)


class Constraints(Protocol):
    """The constraint attributes of an understood question the features read."""

    topics: tuple[str, ...]
    mentioned: tuple[str, ...]
    authors: tuple[str, ...]
    level: str | None
    role: str | None
    follow_up: str | None
    restrict_to: tuple[str, ...]


def feature_row(signals: Mapping[str, float], resource: Resource, parsed: Any) -> list[float]:
    """The feature vector of one candidate for one understood question (order: FEATURES)."""
    wanted = set(parsed.topics)
    shared = wanted & set(resource.topics)
    level = getattr(parsed, "level", None)
    gap = -1.0
    if level and resource.level in LEVELS and level in LEVELS:
        gap = float(abs(LEVELS.index(resource.level) - LEVELS.index(level)))
    document = resource.kind == "document"
    query = {
        "topic_match": len(shared) / len(wanted) if wanted else 0.0,
        "asks_topics": 1.0 if wanted else 0.0,
        "named": 1.0 if resource.id in parsed.mentioned else 0.0,
        "by_author": 1.0 if set(parsed.authors) & set(resource.authors) else 0.0,
        "level_gap": -1.0 if document else gap,
        "role_match": 1.0 if getattr(parsed, "role", None) in resource.audience else 0.0,
        "verified": 1.0 if getattr(resource, "verified", True) else 0.0,
        "is_document": 1.0 if document else 0.0,
        "follow_up": 1.0 if getattr(parsed, "follow_up", None) else 0.0,
        "carried": 1.0 if resource.id in getattr(parsed, "restrict_to", ()) else 0.0,
    }
    return [float(signals.get(name, 0.0)) for name in RETRIEVAL_FEATURES] + [
        query[name] for name in QUERY_FEATURES
    ]


class Ranker(Protocol):
    """Scores candidates' feature rows; higher is better."""

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """One score per row."""
        ...


class RankerError(RuntimeError):
    """The saved ranker cannot be used; the message says what to do."""


class LightGbmRanker:
    """The saved LightGBM model (loaded lazily), scored by `assistant.trees`: serving needs no
    lightgbm, whose import brings scikit-learn and pandas (see there)."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        self._path = path
        self._model: TreeModel | None = None

    def _load(self) -> TreeModel:
        if self._model is None:
            if not self._path.is_file():
                raise RankerError(f"{self._path} is missing; run `make train-ranker`")
            try:
                model = TreeModel.from_text(self._path.read_text(encoding="utf-8"))
            except TreeModelError as exc:
                raise RankerError(f"{self._path}: {exc}; run `make train-ranker`") from None
            if model.feature_names != FEATURES:
                raise RankerError(
                    f"{self._path} was trained on other features; run `make train-ranker`"
                )
            self._model = model
        return self._model

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Model scores, one per row."""
        if not rows:
            return []
        return self._load().score(rows)


def fit(
    rows: Sequence[Sequence[float]], labels: Sequence[int], groups: Sequence[str]
) -> tuple[str, dict[str, float]]:
    """Train the ranker: grouped cross-validation picks the number of rounds, then one model
    is fit on every row. Returns the model as text and the CV figures.

    `groups` names each row's question; rows of a question must be contiguous, and no question
    is split across folds (5 folds: sklearn's GroupKFold default).
    """
    import lightgbm
    import numpy as np
    from sklearn.model_selection import GroupKFold

    order = list(dict.fromkeys(groups))
    sizes = [sum(1 for g in groups if g == q) for q in order]
    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int32)
    data = lightgbm.Dataset(x, y, group=sizes, feature_name=list(FEATURES), free_raw_data=False)
    cv = lightgbm.cv(
        PARAMS,
        data,
        num_boost_round=MAX_ROUNDS,
        folds=GroupKFold(n_splits=5),  # LightGBM passes each row's question as its group
        callbacks=[lightgbm.early_stopping(EARLY_STOP, verbose=False)],
    )
    scores = cast(list[float], cv["valid ndcg@10-mean"])
    rounds = int(np.argmax(scores)) + 1
    booster = lightgbm.train(PARAMS, data, num_boost_round=rounds)
    figures = {"rounds": float(rounds), "cv_ndcg@10": round(float(scores[rounds - 1]), 4)}
    return booster.model_to_string(), figures
