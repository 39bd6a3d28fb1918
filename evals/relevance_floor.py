"""Evals stage: the composer's relevance floors, measured on the dev ranker table.

`python -m evals.relevance_floor` scores every dev question's candidates out of fold (the saved
model's settings and rounds, 5 grouped folds, so no question is scored by a model that saw it),
scales them to 0..1 as serving does, and reports for each floor on off-topic candidates how
many labelled-relevant items of the top 10 stay and how many unlabelled ones go (the best item
is always shown, so it is left out). Where `OFF_TOPIC_FLOOR` in `assistant.compose` comes from.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from assistant.compose import OFF_TOPIC_FLOOR, RELEVANCE_FLOOR
from assistant.ranker import FEATURES, MODEL_PATH, PARAMS
from evals.train_ranker import read_table

DEPTH = 10  # what a person could see of a list
FLOORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: every off-topic item dropped


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row's score from a model trained without its question."""
    import lightgbm
    from sklearn.model_selection import GroupKFold

    rounds = lightgbm.Booster(model_file=str(MODEL_PATH)).current_iteration()
    params = PARAMS | {"verbose": -1}
    scores = np.zeros(len(y))
    for train, held in GroupKFold(n_splits=5).split(x, y, groups):
        sizes = [int((groups[train] == g).sum()) for g in dict.fromkeys(groups[train])]
        model = lightgbm.train(params, lightgbm.Dataset(x[train], y[train], group=sizes), rounds)
        scores[held] = model.predict(x[held])
    return scores


def sweep() -> dict[str, Any]:
    """Relevant kept and unlabelled dropped, per off-topic floor, over dev questions with topics."""
    table = read_table()
    groups = np.asarray([row[0] for row in table])
    y = np.asarray([int(row[2]) for row in table])
    x = np.asarray([[float(v) for v in row[3:]] for row in table])
    scores = out_of_fold(x, y, groups)
    column = {name: n for n, name in enumerate(FEATURES)}
    # On topic, as the composer reads it: shares an asked topic, was named, is by a named
    # author, or is the user's own document.
    on_topic = (
        (x[:, column["topic_match"]] > 0)
        | (x[:, column["named"]] > 0)
        | (x[:, column["by_author"]] > 0)
        | (x[:, column["is_document"]] > 0)
    )
    report: dict[str, Any] = {"in_use": OFF_TOPIC_FLOOR, "floors": {}}
    for floor in FLOORS:
        kept_relevant = relevant = kept_other = other = 0
        for question in dict.fromkeys(groups):
            rows = np.flatnonzero(groups == question)
            if not x[rows[0], column["asks_topics"]]:
                continue
            low, top = scores[rows].min(), scores[rows].max()
            for row in rows[np.argsort(-scores[rows])][1:DEPTH]:
                share = (scores[row] - low) / ((top - low) or 1.0)
                keep = share >= (RELEVANCE_FLOOR if on_topic[row] else floor)
                if y[row] > 0:
                    relevant, kept_relevant = relevant + 1, kept_relevant + keep
                else:
                    other, kept_other = other + 1, kept_other + keep
        report["floors"][str(floor)] = {
            "relevant_kept": round(kept_relevant / relevant, 3),
            "unlabelled_dropped": round(1 - kept_other / other, 3),
            "relevant": relevant,
            "unlabelled": other,
        }
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print the sweep (a table, or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    args = parser.parse_args(argv)
    report = sweep()
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"off-topic floor in use {report['in_use']} (on-topic floor {RELEVANCE_FLOOR})")
        for floor, row in report["floors"].items():
            print(
                f"  {floor}: relevant kept {row['relevant_kept']:.3f}, "
                f"unlabelled dropped {row['unlabelled_dropped']:.3f}"
            )
    return report


if __name__ == "__main__":
    main()
