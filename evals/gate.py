"""Evals stage: the quality gate, eval results against the committed `thresholds.yaml`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"
TOLERANCE = 1e-9  # values are rounded to 4 places; never fail on float noise


class ThresholdsError(ValueError):
    """The thresholds file is invalid; the message says where."""


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Any]:
    """The gate: `split`, and `min`/`max` bounds keyed by summary name (e.g. `full.ndcg@10`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ThresholdsError(f"{path}: cannot read thresholds ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("split"), str):
        raise ThresholdsError(f"{path}: expected a mapping with 'split', 'min' and 'max'")
    for bound in ("min", "max"):
        values = data.get(bound) or {}
        if not isinstance(values, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()
        ):
            raise ThresholdsError(f"{path}: '{bound}' must map summary names to numbers")
        data[bound] = values
    if data["split"] != "dev":
        # Issue 11: the test split is sealed; thresholds are set on dev and the gate reads dev.
        raise ThresholdsError(f"{path}: the gate runs on the dev split, not '{data['split']}'")
    return data


def check_gate(results: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Every way the results miss the thresholds, one message each (empty when the gate passes)."""
    failures: list[str] = []
    summary: Mapping[str, float] = results.get("summary", {})
    split = thresholds.get("split")
    if split and results.get("split") != split:
        failures.append(
            f"the thresholds are for the '{split}' split, but the eval ran on "
            f"'{results.get('split')}': run it with --split {split}"
        )
    for bound, ok, word in (
        ("min", lambda v, t: v >= t - TOLERANCE, "below the minimum"),
        ("max", lambda v, t: v <= t + TOLERANCE, "above the maximum"),
    ):
        for name, threshold in (thresholds.get(bound) or {}).items():
            if name not in summary:
                failures.append(f"{name}: no such result (known: {', '.join(sorted(summary))})")
            elif not ok(summary[name], threshold):
                failures.append(f"{name} = {summary[name]:.4f}, {word} {threshold}")
    return failures
