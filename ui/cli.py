"""UI adapter: the `mlsd` command line (Typer). Thin: parse, call the assistant, print."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(
    name="mlsd",
    help="MLSD Assistant: find the right resources for learning ML system design.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """MLSD Assistant: find the right resources for learning ML system design."""


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _offline_env() -> None:
    # Nothing may reach a model hub or analytics endpoint at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error to stderr and exit with `code`."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def emit_json(payload: Any) -> None:
    """Print JSON to stdout (UTF-8, indented)."""
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _settings() -> Any:
    from pydantic import ValidationError

    from assistant.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        fail(f"invalid MLSD_ settings: {exc.errors()[0]['msg']}")


@app.command()
def ingest(
    rebuild: Annotated[
        bool, typer.Option(help="Drop the index and rebuild it from scratch.")
    ] = False,
    add: Annotated[
        list[Path] | None,
        typer.Option("--add", help="Your own txt/md/html/pdf files to index (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build or update the index: embeds only what changed since the last run."""
    _offline_env()
    from ingest.catalog import CatalogError
    from ingest.embedding import EmbedderError
    from ingest.loading import SkippedFile
    from ingest.pipeline import run_ingest
    from ingest.store import StoreError

    settings = _settings()
    try:
        report = run_ingest(settings, rebuild=rebuild, add=add or (), progress=not as_json)
    except (CatalogError, StoreError, EmbedderError, SkippedFile) as exc:
        fail(str(exc))
    if as_json:
        emit_json(report.to_dict())
        return
    typer.echo(
        f"Index: {report.store} ({report.model})\n"
        f"  documents {report.documents}, chunks {report.chunks}: embedded {report.embedded}, "
        f"unchanged {report.unchanged}, deleted {report.deleted} in {report.seconds:.2f} s"
    )
    for path in report.added:
        typer.echo(f"  added {path}")
    for skipped in report.skipped:
        typer.secho(f"  skipped {skipped['reason']}", fg=typer.colors.YELLOW)


def main() -> None:
    """Entry point for `python -m ui.cli`."""
    app()


if __name__ == "__main__":
    main()
