"""UI adapter: the `mlsd` command line (Typer). Thin: parse, call the assistant, print."""

from __future__ import annotations

import json
import os
import socket  # stdlib and light: binding ports before slow start-ups
import sys
from collections.abc import Callable
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


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket bound before any slow start-up, so a busy port fails at once."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port")
    return listener


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
    follow_symlinks: Annotated[
        bool,
        typer.Option(help="Let an --add symlink lead to a file outside its own folder."),
    ] = False,
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
        report = run_ingest(
            settings,
            rebuild=rebuild,
            add=add or (),
            follow_symlinks=follow_symlinks,
            progress=not as_json,
        )
    except (CatalogError, StoreError, EmbedderError, SkippedFile) as exc:
        fail(str(exc))
    # --add that added nothing failed, whatever else the run did: scripts must see it.
    nothing_added = bool(add) and not report.added
    if as_json:
        emit_json(report.to_dict())
        if nothing_added:
            raise typer.Exit(2)  # what `fail` exits with
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
    if nothing_added:
        fail("none of the --add files was added (see the reasons above)")


def _assistant(warm: bool = False) -> Any:
    """The assistant in this process; `warm` for a long-running server (a one-shot question
    warms what it uses anyway)."""
    _offline_env()
    from assistant.service import IndexNotReady, build_assistant
    from ingest.catalog import CatalogError
    from ingest.embedding import EmbedderError
    from ingest.store import StoreError

    try:
        return build_assistant(_settings(), warm=warm)
    except (CatalogError, StoreError, EmbedderError, IndexNotReady) as exc:
        fail(str(exc))


KOption = Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="How many results.")]
UserOption = Annotated[str | None, typer.Option("--user", help="Answer for this user id.")]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="MLSD_TOKEN", help="The user's token (or MLSD_TOKEN)."),
]


def _check_message(message: str) -> None:
    """Refuse an empty or oversized message before the model loads (it takes seconds)."""
    from assistant.errors import InvalidInput, check_message

    try:
        check_message(message, _settings().max_message_chars)
    except InvalidInput as exc:
        fail(str(exc))


def _users() -> Any:
    """Users and profiles without the model or the index: the `user` commands stay fast."""
    from assistant.storage import StorageUnavailable, open_storage
    from assistant.users import Users
    from ingest.catalog import CatalogError, load_catalog

    settings = _settings()
    try:
        return Users(load_catalog(settings.corpus_dir), open_storage(settings))
    except (CatalogError, StorageUnavailable) as exc:
        fail(str(exc))


def _user_errors() -> tuple[type[Exception], ...]:
    from assistant.profiles import Forbidden, UnknownUser
    from assistant.service import InvalidInput

    return (InvalidInput, UnknownUser, Forbidden)


def _read_profile(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        fail(f"cannot read profile {path}: {exc}")
    if not isinstance(data, dict):
        fail(f"profile {path} must be a YAML/JSON mapping (level, role, goals, formats, ...)")
    return data


def _server() -> Any:
    """A running server to answer through (`ui.remote.find_server`), or None."""
    from ui.remote import find_server

    server, why_not = find_server(_settings())
    if why_not:
        typer.secho(f"note: {why_not}; answering in-process", err=True, fg=typer.colors.YELLOW)
    return server


def _answered_by(where: str) -> None:
    """Say on stderr what answered: a server (its URL) or this process (and its encoder)."""
    said = where if where != "in-process" else f"this process ({_settings().query_encoder} encoder)"
    typer.secho(f"(answered by {said})", err=True, fg=typer.colors.BRIGHT_BLACK)


def _answer(
    remote: Callable[[Any], dict[str, Any]],
    local: Callable[[Any], dict[str, Any]],
    before_load: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], str]:
    """`remote(server)` when a server is running, else `local(assistant)` in this process;
    returns the view and what answered ("in-process" or the server's URL)."""
    from ui.remote import ServerError, ServerGone

    server = _server()
    if server is not None:
        try:
            return remote(server), server.url
        except ServerGone as exc:
            typer.secho(f"note: {exc}; answering in-process", err=True, fg=typer.colors.YELLOW)
        except ServerError as exc:
            fail(str(exc))
    if before_load is not None:
        before_load()
    assistant = _assistant()
    try:
        return local(assistant), "in-process"
    except _user_errors() as exc:
        fail(str(exc))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you are looking for, in plain language.")],
    k: KOption = 10,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these kinds (repeatable).")
    ] = None,
    user: UserOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ranked resources for a query (through a running server when there is one)."""

    def local(assistant: Any) -> dict[str, Any]:
        from ui.views import hit_view

        result = assistant.search(query, k=k, kinds=tuple(kind or ()), user_id=user, token=token)
        return {
            "query_used": result.parsed.to_dict(),
            "results": [hit_view(h) for h in result.hits],
        }

    _check_message(query)
    view, where = _answer(lambda server: server.search(query, k, kind or [], user, token), local)
    _answered_by(where)
    if as_json:
        emit_json(view | {"answered_by": where})
        return
    if not view["results"]:
        typer.echo(
            "Nothing found: "
            + (
                "not covered here."
                if view["query_used"].get("intent") == "out_of_scope"
                else "no resource meets every constraint."
            )
        )
    for n, hit in enumerate(view["results"], start=1):
        where = f"({hit['kind']}, {hit['level']}) {hit['score']:.3f}  [{hit['id']}]"
        typer.echo(f"{n:>2}. {hit['title']} {where}")
        if hit["source"] is not None:
            typer.echo(f"    {hit['snippet']}  -- {hit['source']['title']}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    session: Annotated[str | None, typer.Option(help="Continue this session id.")] = None,
    user: UserOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One conversational turn; pass --session to follow up on an earlier answer."""

    def local(assistant: Any) -> dict[str, Any]:
        from ui.views import answer_view

        return answer_view(assistant.ask(question, session_id=session, user_id=user, token=token))

    _check_message(question)
    view, where = _answer(lambda server: server.ask(question, session, user, token), local)
    _answered_by(where)
    if as_json:
        emit_json(view | {"answered_by": where})
        return
    typer.echo(view["answer"])
    typer.secho(f"\n(session {view['session_id']})", fg=typer.colors.BRIGHT_BLACK)


@app.command()
def chat(user: UserOption = None, token: TokenOption = None) -> None:
    """Chat in the terminal; follow-ups refer to earlier answers. Empty line or Ctrl-D quits."""
    from ui.remote import ServerError, ServerGone

    server = _server()
    if server is not None and user:
        try:  # a wrong user or token fails now, not mid-chat
            server.check_user(user, token)
        except ServerError as exc:
            fail(str(exc))
        except ServerGone as exc:
            typer.secho(f"note: {exc}; answering in-process", err=True, fg=typer.colors.YELLOW)
            server = None
    assistant: Any = None
    if server is None:
        assistant = _assistant()
        if user:
            try:
                assistant.learner(user, token)
            except _user_errors() as exc:
                fail(str(exc))
    _answered_by(server.url if server is not None else "in-process")
    errors: tuple[type[Exception], ...] = (ServerError, *_user_errors())
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
            if server is not None:
                try:
                    reply = server.ask(message, session_id, user, token)
                    session_id, text = reply["session_id"], reply["answer"]
                except ServerGone as exc:  # same data dir: the session goes on in-process
                    typer.secho(f"note: {exc}; answering in-process", err=True)
                    server, assistant = None, _assistant()
            if server is None:
                answer = assistant.ask(message, session_id=session_id, user_id=user, token=token)
                session_id, text = answer.session_id, answer.text
        except errors as exc:
            typer.secho(f"error: {exc!s}", fg=typer.colors.RED)
            continue
        typer.echo(text)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default MLSD_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default MLSD_PORT, 7860; 0 picks a free one)."),
    ] = None,
) -> None:
    """Serve the HTTP API and the Gradio UI on one server; prints the URL when ready."""
    _offline_env()

    import uvicorn

    from ui.api import create_app

    settings = _settings()
    host = host or settings.host
    port = settings.port if port is None else port
    # Bind before the seconds-long model load, so a busy port fails at once; port 0 then
    # tells us which port the OS picked.
    listener = _bind(host, port)
    url = f"http://{host}:{listener.getsockname()[1]}/"
    application = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                error = application.state.runtime.error
                if error:
                    typer.secho(f"not ready: {error}", err=True, fg=typer.colors.YELLOW)
                typer.echo(f"MLSD Assistant at {url} (API docs {url}docs)")

    from ui.observability import log_config

    config = uvicorn.Config(
        application,
        log_level="info",
        log_config=log_config(settings),
        access_log=settings.access_log,
        # h11 answers headers past this size with an error before reading on (httptools,
        # when installed, has no such limit: the API's guard then answers 431).
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    Server(config).run(sockets=[listener])


@app.command()
def mcp(
    transport: Annotated[
        str, typer.Option(help="stdio (an MCP client starts this process) or http.")
    ] = "stdio",
    host: Annotated[
        str | None, typer.Option(help="http: address to listen on (default MLSD_HOST).")
    ] = None,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="http: port (0 picks a free one)."),
    ] = 7861,  # the one after `mlsd serve`'s default, so both run side by side
    token: TokenOption = None,
) -> None:
    """MCP server: the assistant's tools and the catalog as resources, over stdio or HTTP (/mcp)."""
    if transport not in ("stdio", "http"):
        fail(f"--transport must be stdio or http, not '{transport}'")
    _offline_env()
    settings = _settings()
    listener = None
    if transport == "http":  # bind first, so a busy port fails before the model loads
        host = host or settings.host
        listener = _bind(host, port)
    from ui.mcp_server import build_server, serve_http

    assistant = _assistant(warm=True)
    assistant.prepare_in_background()
    server = build_server(assistant, token)
    if listener is None:
        server.run("stdio")  # stdout carries the protocol: everything else goes to stderr
        return
    url = f"http://{host}:{listener.getsockname()[1]}/mcp"
    serve_http(server, listener, lambda: typer.echo(f"MLSD MCP server at {url}"))


@app.command()
def recommend(
    user: UserOption = None,
    token: TokenOption = None,
    profile: Annotated[
        Path | None, typer.Option(help="A profile file (YAML or JSON) instead of a stored user.")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="A subject; none gives a learning path.")
    ] = None,
    k: KOption = 5,
    as_json: JsonOption = False,
) -> None:
    """Personalized recommendations, or an ordered learning path when no topic is given."""
    if user and profile:
        fail("give --user or --profile, not both")
    inline = _read_profile(profile) if profile else None

    def check() -> None:  # in-process, a bad profile, user or token fails before the model loads
        try:
            if user:
                _users().learner(user, token)
            else:
                _users().check_profile(inline)
        except _user_errors() as exc:
            fail(str(exc))

    def local(assistant: Any) -> dict[str, Any]:
        from ui.views import answer_view

        view = answer_view(
            assistant.recommend(profile=inline, topic=topic, k=k, user_id=user, token=token)
        )
        return {"items": view["sources"]} | view

    view, where = _answer(
        lambda server: server.recommend(inline, topic, k, user, token), local, before_load=check
    )
    _answered_by(where)
    if as_json:
        emit_json(view | {"answered_by": where})
        return
    typer.echo(view["answer"])


user_app = typer.Typer(help="Users and their profiles (kept under MLSD_DATA_DIR).")
app.add_typer(user_app, name="user")


@user_app.command("create")
def user_create(
    profile: Annotated[Path | None, typer.Option(help="A profile file (YAML or JSON).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user; prints its id and token (shown once: keep it)."""
    inline = _read_profile(profile) if profile else None
    try:
        created = _users().create(inline)
    except _user_errors() as exc:
        fail(str(exc))
    if as_json:
        emit_json({"user_id": created.user_id, "token": created.token})
        return
    typer.echo(f"user:  {created.user_id}\ntoken: {created.token}")
    typer.echo("Keep the token: it is shown once. Pass it with --token or MLSD_TOKEN.")


@user_app.command("profile")
def user_profile(
    user: Annotated[str, typer.Argument(help="The user id.")],
    token: TokenOption = None,
    set_: Annotated[
        Path | None, typer.Option("--set", help="Replace the profile with this file.")
    ] = None,
) -> None:
    """Show a user's profile, or replace it with --set FILE."""
    inline = _read_profile(set_) if set_ else None
    users = _users()
    try:
        if inline is not None:
            shown = users.set_profile(user, token, inline)
        else:
            shown = users.profile(user, token)
    except _user_errors() as exc:
        fail(str(exc))
    emit_json(shown.model_dump(mode="json"))


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


@app.command()
def intents(
    check: Annotated[
        bool, typer.Option(help="Only check that retraining reproduces the saved model.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Retrain the intent classifier on evals/datasets/intents.yaml (dev); report test accuracy."""
    _offline_env()
    from evals.datasets import DatasetError
    from evals.intents import main as intents_main
    from ingest.embedding import make_embedder

    settings = _settings()
    embedder = make_embedder(settings.embedding_model, settings.embed_batch_size)
    try:
        report = intents_main(embedder, check=check)
    except DatasetError as exc:
        fail(str(exc), code=1)
    if as_json:
        emit_json(report)
        return
    done = "checked" if check else "saved"
    typer.echo(f"{done} {report['model']} (C={report['regularization']})")
    for intent, row in report["test"].items():
        typer.echo(f"  {intent:<14} {row['accuracy']:.3f}  (n={row['n']}, held-out test)")


def main() -> None:
    """Entry point for `python -m ui.cli`."""
    app()


if __name__ == "__main__":
    main()
