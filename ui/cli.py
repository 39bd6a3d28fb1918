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
        error = exc.errors()[0]
        # Name the variable to fix; model-level checks have no field and name it themselves.
        field = "_".join(str(part) for part in error["loc"]).upper()
        where = f"MLSD_{field}={error.get('input')}: " if field else ""
        fail(f"invalid MLSD_ settings: {where}{error['msg']}")


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


def _assistant() -> Any:
    _offline_env()
    from assistant.service import IndexNotReady, build_assistant
    from ingest.catalog import CatalogError
    from ingest.embedding import EmbedderError
    from ingest.store import StoreError

    try:
        return build_assistant(_settings())
    except (CatalogError, StoreError, EmbedderError, IndexNotReady) as exc:
        fail(str(exc))


KOption = Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many results.")]


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you are looking for, in plain language.")],
    k: KOption = 10,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ranked resources for a query."""
    from assistant.service import InvalidInput
    from ui.views import hit_view

    assistant = _assistant()
    try:
        result = assistant.search(query, k=k, kinds=tuple(kind or ()))
    except InvalidInput as exc:
        fail(str(exc))
    if as_json:
        emit_json(
            {"query_used": result.parsed.to_dict(), "results": [hit_view(h) for h in result.hits]}
        )
        return
    if not result.hits:
        typer.echo(
            "Nothing found: "
            + (
                "not covered here."
                if result.parsed.intent == "out_of_scope"
                else "no resource meets every constraint."
            )
        )
    for n, hit in enumerate(result.hits, start=1):
        r = hit.resource
        typer.echo(f"{n:>2}. {r.title} ({r.kind}, {r.level}) {hit.score:.3f}  [{r.id}]")
        if hit.evidence is not None:
            typer.echo(f"    {hit.snippet}  -- {hit.evidence.source_title}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    session: Annotated[str | None, typer.Option(help="Continue this session id.")] = None,
    user: Annotated[str | None, typer.Option(help="Answer for this user id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """One conversational turn; pass --session to follow up on an earlier answer."""
    from assistant.service import InvalidInput
    from ui.views import answer_view

    assistant = _assistant()
    try:
        answer = assistant.ask(question, session_id=session, user_id=user)
    except InvalidInput as exc:
        fail(str(exc))
    if as_json:
        emit_json(answer_view(answer))
        return
    typer.echo(answer.text)
    typer.secho(f"\n(session {answer.session_id})", fg=typer.colors.BRIGHT_BLACK)


@app.command()
def chat(
    user: Annotated[str | None, typer.Option(help="Answer for this user id.")] = None,
) -> None:
    """Chat in the terminal; follow-ups refer to earlier answers. Empty line or Ctrl-D quits."""
    from assistant.service import InvalidInput

    assistant = _assistant()
    session_id: str | None = None
    typer.echo("MLSD Assistant. Ask about ML system design resources; empty line to quit.")
    while True:
        try:
            message = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not message:
            break
        try:
            answer = assistant.ask(message, session_id=session_id, user_id=user)
        except InvalidInput as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED)
            continue
        session_id = answer.session_id
        typer.echo(answer.text)


@app.command(name="eval")
def eval_(
    split: Annotated[str, typer.Option(help="dev, test or all.")] = "test",
    out: Annotated[Path | None, typer.Option(help="Report folder (default DATA_DIR/eval).")] = None,
    gate: Annotated[bool, typer.Option(help="Exit 1 when below evals/thresholds.yaml.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run the retrieval evals: every pipeline side by side, report.md, results.json, a chart."""
    if split not in ("dev", "test", "all"):
        fail(f"--split must be dev, test or all, not '{split}'")
    _offline_env()
    from assistant.service import IndexNotReady
    from evals.datasets import DatasetError
    from evals.runner import main as run_main
    from ingest.catalog import CatalogError
    from ingest.store import StoreError

    settings = _settings()
    try:
        code = run_main(split, out or settings.data_dir / "eval", gate, as_json)
    except (IndexNotReady, DatasetError, CatalogError, StoreError) as exc:
        fail(str(exc))
    raise typer.Exit(code)


def main() -> None:
    """Entry point for `python -m ui.cli`."""
    app()


if __name__ == "__main__":
    main()
