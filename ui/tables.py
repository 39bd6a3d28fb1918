"""UI adapter: the catalog and the latest eval report as tables for the web UI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assistant.settings import Settings
from ingest.catalog import Catalog, Resource

ANY = "any"
METRIC_LABELS = {
    "ndcg@10": "nDCG@10",
    "recall@5": "Recall@5",
    "recall@10": "Recall@10",
    "mrr@10": "MRR@10",
    "precision@5": "P@5",
}
TABLE_COLUMNS = ["Title", "Kind", "Level", "Cost", "Open source", "Year", "Authors", "Topics"]


# -- catalog table -------------------------------------------------------------------------------


def _matches(resource: Resource, words: Sequence[str]) -> bool:
    haystack = " ".join(
        [resource.id, resource.title, resource.summary, resource.best_for,
         *resource.authors, *resource.aliases, *resource.topics]
    ).lower()  # fmt: skip
    return all(w in haystack for w in words)


def catalog_rows(
    catalog: Catalog,
    kind: str = ANY,
    topic: str = ANY,
    level: str = ANY,
    cost: str = ANY,
    text: str = "",
) -> list[Resource]:
    """Catalog resources that pass every filter (ANY means no filter), sorted by title."""
    words = (text or "").lower().split()
    return sorted(
        (
            r
            for r in catalog.resources.values()
            if kind in (ANY, r.kind)
            and (topic == ANY or topic in r.topics)
            and level in (ANY, r.level)
            and cost in (ANY, r.cost)
            and _matches(r, words)
        ),
        key=lambda r: r.title.lower(),
    )


def catalog_frame(resources: Sequence[Resource]) -> pd.DataFrame:
    """Resources as table rows; titles are Markdown links."""
    rows = [
        [
            f"[{r.title}]({r.url})" if r.url else r.title,
            r.kind,
            r.level,
            r.cost,
            "" if r.open_source is None else ("yes" if r.open_source else "no"),
            str(r.year or ""),
            ", ".join(r.authors),
            ", ".join(r.topics),
        ]
        for r in resources
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


# -- eval report ---------------------------------------------------------------------------------


def eval_dir(settings: Settings) -> Path:
    """Where `mlsd eval` writes its report by default."""
    return settings.data_dir / "eval"


def load_eval(out_dir: Path) -> tuple[str, pd.DataFrame | None, Path | None, str]:
    """The latest eval report: (status line, pipeline table, chart path, report Markdown)."""
    results_path = out_dir / "results.json"
    if not results_path.is_file():
        return (
            f"No eval report in `{out_dir}` yet: run `mlsd eval` first "
            "(or `make eval`), then press Reload.",
            None,
            None,
            "",
        )
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        metrics = list(METRIC_LABELS)
        header = ["pipeline", *METRIC_LABELS.values(), "median ms", "p95 ms"]
        rows: list[list[Any]] = []
        for name, p in results["pipelines"].items():
            latency = p.get("latency_ms", {})
            rows.append(
                [name, *(f"{float(p['metrics'][m]):.3f}" for m in metrics),
                 f"{float(latency.get('median', 0)):.0f}", f"{float(latency.get('p95', 0)):.0f}"]
            )  # fmt: skip
        if "ideal" in results:
            ideal = results["ideal"]
            rows.append(
                ["ideal (label ceiling)", *(f"{float(ideal[m]):.3f}" for m in metrics), "", ""]
            )
        table = pd.DataFrame(rows, columns=header)
    except (ValueError, KeyError, TypeError) as exc:
        return (f"The eval report in `{out_dir}` could not be read ({exc}).", None, None, "")
    gate = results.get("gate", {})
    failures = "; ".join(str(f) for f in gate.get("failures", []))
    verdict = "gate passed" if gate.get("passed") else f"gate FAILED ({failures})"
    status = (
        f"Eval report from {results.get('generated_at', '?')}, {results.get('split', '?')} "
        f"split, {verdict}. Folder: `{out_dir}`."
    )
    chart = out_dir / "metrics.png"
    report_path = out_dir / "report.md"
    report = report_path.read_text(encoding="utf-8") if report_path.is_file() else ""
    # The chart is shown by its own component; a relative image link would only 404 here.
    report = "\n".join(line for line in report.splitlines() if not line.startswith("!["))
    return status, table, chart if chart.is_file() else None, report
