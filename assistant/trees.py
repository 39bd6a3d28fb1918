"""Assistant stage: score a saved LightGBM model (its text format) without importing lightgbm.

Importing lightgbm imports scikit-learn, pandas and scipy when they are installed (its sklearn
and pandas adapters): measured +65 MB resident in a running server (issue 16), to score eight
trees of seven leaves. Training keeps lightgbm (`make train-ranker`); serving walks the saved
trees here, with LightGBM's own numerical decision rule, and a unit test holds the scores equal
to `lightgbm.Booster.predict` on every training row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# LightGBM's decision_type bits (include/LightGBM/tree.h: kCategoricalMask, kDefaultLeftMask,
# GetMissingType) and its zero threshold kZeroThreshold, the float 1e-35f read as a double:
# prediction reads an input within it of 0 as 0 (c_api.cpp drops it from the row).
CATEGORICAL = 1
DEFAULT_LEFT = 2
MISSING_ZERO, MISSING_NAN = 1, 2
ZERO = 1.0000000180025095e-35


class TreeModelError(ValueError):
    """The model text is not a LightGBM model this scorer can evaluate."""


@dataclass(frozen=True)
class Tree:
    """One regression tree: node arrays as LightGBM saves them (a negative child is ~leaf)."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    decision: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf_value: tuple[float, ...]

    def scores(self, matrix: np.ndarray) -> np.ndarray:
        """The leaf value each row of a (rows x features) matrix reaches, by LightGBM's
        Tree::NumericalDecision (all rows step down the tree together)."""
        if not self.feature:
            return np.full(len(matrix), self.leaf_value[0])
        feature, threshold = np.asarray(self.feature), np.asarray(self.threshold)
        decision = np.asarray(self.decision)
        left, right = np.asarray(self.left), np.asarray(self.right)
        node = np.zeros(len(matrix), dtype=np.int64)
        active = np.arange(len(matrix))
        while active.size:
            at = node[active]
            value = matrix[active, feature[at]]
            missing = (decision[at] >> 2) & 3
            nan = np.isnan(value)
            value = np.where((nan & (missing != MISSING_NAN)) | (np.abs(value) <= ZERO), 0.0, value)
            default = ((missing == MISSING_ZERO) & (value == 0.0)) | (
                (missing == MISSING_NAN) & np.isnan(value)
            )
            go_left = np.where(default, (decision[at] & DEFAULT_LEFT) != 0, value <= threshold[at])
            node[active] = np.where(go_left, left[at], right[at])
            active = active[node[active] >= 0]
        return np.asarray(self.leaf_value)[~node]


@dataclass(frozen=True)
class TreeModel:
    """A LightGBM model's feature names and trees; a row's score is the sum of its leaves."""

    feature_names: tuple[str, ...]
    trees: tuple[Tree, ...]

    @classmethod
    def from_text(cls, text: str) -> TreeModel:
        """Parse `Booster.model_to_string()` / `save_model` output (one class, numeric splits)."""
        header, _, body = text.partition("\nTree=")
        fields = _fields(header)
        if fields.get("num_class", "1") != "1" or fields.get("num_tree_per_iteration", "1") != "1":
            raise TreeModelError("only single-output models (regression, ranking) are scored")
        if "average_output" in header.split():
            raise TreeModelError("random-forest models (average_output) are not scored")
        trees = []
        for block in body.partition("end of trees")[0].split("\nTree=") if body else []:
            tree = _fields(block)
            if tree.get("num_cat", "0") != "0" or tree.get("is_linear", "0") != "0":
                raise TreeModelError("categorical splits and linear trees are not scored")
            trees.append(_tree(tree))
        return cls(tuple(fields.get("feature_names", "").split()), tuple(trees))

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """One score per row (the raw score: LambdaRank applies no output transform).

        All rows go down each tree together (numpy): a search scores every candidate, and a
        Python walk per row and tree cost a few milliseconds of it (issue 16's search p50)."""
        matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
        total = np.zeros(len(rows))
        for tree in self.trees:  # in LightGBM's order, so each row's float sum is the same
            total += tree.scores(matrix)
        return [float(x) for x in total]


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def _tree(fields: dict[str, str]) -> Tree:
    def numbers(key: str) -> tuple[float, ...]:
        return tuple(float(x) for x in fields.get(key, "").split())

    def integers(key: str) -> tuple[int, ...]:
        return tuple(int(x) for x in fields.get(key, "").split())

    try:
        tree = Tree(
            integers("split_feature"),
            numbers("threshold"),
            integers("decision_type"),
            integers("left_child"),
            integers("right_child"),
            numbers("leaf_value"),
        )
    except ValueError as exc:
        raise TreeModelError(f"a tree has a malformed field ({exc})") from None
    if any(d & CATEGORICAL for d in tree.decision):
        raise TreeModelError("categorical splits are not scored")
    inner = len(tree.feature)
    if (
        not tree.leaf_value
        or len(tree.leaf_value) != inner + 1
        or not all(
            len(column) == inner
            for column in (tree.threshold, tree.decision, tree.left, tree.right)
        )
    ):
        raise TreeModelError("a tree's node arrays disagree in length")
    return tree
