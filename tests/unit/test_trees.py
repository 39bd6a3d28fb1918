"""The saved ranker scored without lightgbm: the same scores as lightgbm, and no lightgbm import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pytest

from assistant.ranker import FEATURES, MODEL_PATH, LightGbmRanker, RankerError, fit
from assistant.trees import TreeModel, TreeModelError
from evals.train_ranker import read_table

REPO = Path(__file__).resolve().parents[2]


def test_the_saved_ranker_scores_every_training_row_as_lightgbm_does() -> None:
    rows = [[float(x) for x in row[3:]] for row in read_table()]
    assert len(rows) > 1000
    expected = lightgbm.Booster(model_file=str(MODEL_PATH)).predict(np.asarray(rows))
    found = LightGbmRanker().score(rows)
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) < 1e-12
    assert len(set(found)) > 10  # the trees split these rows, not one constant


def test_missing_values_and_split_points_follow_lightgbms_rules() -> None:
    # A small model trained here: NaNs in training for all but the first five features, so
    # its splits send missing values one way (missing type NaN) on those and treat NaN as 0 on
    # the first five (missing type None).
    generator = np.random.default_rng(3)
    x = generator.normal(size=(400, len(FEATURES)))
    x[:, 5:][generator.random(x[:, 5:].shape) < 0.2] = np.nan
    labels = (x[:, 0] + np.nan_to_num(x[:, 6]) > 0).astype(int)
    groups = [f"q{i // 10}" for i in range(400)]
    text, _ = fit(x.tolist(), labels.tolist(), groups)
    model = TreeModel.from_text(text)
    assert model.feature_names == FEATURES
    used = {f for tree in model.trees for f in tree.feature}
    assert used & set(range(5)) and used - set(range(5))  # both kinds of feature are split on
    probe = x[:60].copy()
    probe[::3] = np.nan  # whole rows missing
    probe[1::3, :5] = 0.0
    # Rows exactly at each split point: LightGBM sends `value <= threshold` left.
    at_splits = np.zeros((sum(len(t.feature) for t in model.trees), len(FEATURES)))
    points = [(f, v) for t in model.trees for f, v in zip(t.feature, t.threshold, strict=True)]
    for row, (feature, threshold) in zip(at_splits, points, strict=True):
        row[feature] = threshold
    probe = np.vstack([probe, at_splits])
    expected = lightgbm.Booster(model_str=text).predict(probe)
    found = model.score(probe.tolist())
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) < 1e-12
    assert len(set(found)) > 5


def test_a_broken_or_unsupported_model_says_to_retrain(tmp_path: Path) -> None:
    text = MODEL_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "ranker.txt"
    broken.write_text(text.replace("threshold=", "threshold=x", 1))
    with pytest.raises(RankerError, match=r"malformed field .*; run `make train-ranker`"):
        LightGbmRanker(broken).score([[0.0] * len(FEATURES)])
    broken.write_text(text.replace("num_cat=0", "num_cat=1", 1))
    with pytest.raises(RankerError, match="categorical splits and linear trees are not scored"):
        LightGbmRanker(broken).score([[0.0] * len(FEATURES)])
    broken.write_text(text.replace("feature_names=card_dense ", "feature_names=other ", 1))
    with pytest.raises(RankerError, match="trained on other features"):
        LightGbmRanker(broken).score([[0.0] * len(FEATURES)])
    with pytest.raises(TreeModelError, match="single-output"):
        TreeModel.from_text(text.replace("num_class=1", "num_class=3", 1))
    with pytest.raises(RankerError, match="missing; run `make train-ranker`"):
        LightGbmRanker(tmp_path / "none.txt").score([[0.0] * len(FEATURES)])


def test_scoring_imports_no_lightgbm(fresh_python: Callable[..., Any]) -> None:
    # A fresh interpreter: this test process imported lightgbm above.
    code = (
        "import json, sys\n"
        "from assistant.ranker import FEATURES, LightGbmRanker\n"
        "score = LightGbmRanker().score([[0.5] * len(FEATURES)])[0]\n"
        "heavy = [m for m in ('lightgbm', 'sklearn', 'pandas') if m in sys.modules]\n"
        "print(json.dumps({'score': score, 'heavy': heavy}))\n"
    )
    found = fresh_python(code, timeout=60)
    assert found["heavy"] == []
    expected = lightgbm.Booster(model_file=str(MODEL_PATH)).predict(
        np.full((1, len(FEATURES)), 0.5)
    )[0]
    assert abs(found["score"] - expected) < 1e-12
