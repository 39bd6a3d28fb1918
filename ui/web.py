"""UI adapter: the Gradio web app (chat, profile, catalog, evals), mounted on the API server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import partial
from typing import Any

import gradio as gr
from PIL import Image as PILImage

from assistant.compose import Answer, Recommendation
from assistant.profiles import Forbidden, UnknownUser
from assistant.service import Assistant, InvalidInput
from assistant.settings import Settings
from ingest.catalog import Catalog
from ingest.vocabulary import AUDIENCES, COSTS, GOALS, KINDS, LEVELS, TOPICS
from ui.render import (
    CARD_CSS,
    answer_cards,
    chat_text,
    describe_query,
    render_card,
    render_cards,
    render_citations,
    resource_detail,
    safe_markdown,
)
from ui.tables import ANY, TABLE_COLUMNS, catalog_frame, catalog_rows, eval_dir, load_eval

EXAMPLES = (
    "what should I read for feature stores?",
    "I'm an SRE, where do I start?",
    "any of those open source?",
    "a free course on MLOps",
)
NO_USER: dict[str, str | None] = {"user_id": None, "token": None}
# Run in the browser on load. A chat box that follows an answer to its end leaves a long
# answer's opening (the definition, "start here") out of sight; instead each new question is
# brought to the top of the box as soon as it shows, and kept there while its answer arrives
# below it (a short answer may not fill the box; the question then sits as high as it can).
# Once at the top it is left alone, so the reader's own scrolling is not fought.
FOLLOW_QUESTION = """() => {
  const box = document.querySelector('#chatbot') || document.body;
  let asked = 0, pinned = false;
  new MutationObserver(() => {
    const wrap = box.querySelector('.bubble-wrap');
    const rows = wrap ? wrap.querySelectorAll('.message-row.user-row') : [];
    if (rows.length !== asked) { asked = rows.length; pinned = false; }
    if (!rows.length || pinned) return;
    const last = rows[rows.length - 1];
    const gap = last.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
    wrap.scrollTop += gap;
    pinned = Math.abs(gap) < 2;
  }).observe(box, {childList: true, subtree: true, characterData: true});
}"""


# -- browser state -------------------------------------------------------------------------------


def browser_secret(settings: Settings) -> str:
    """The key BrowserState encrypts with, kept in the data dir so a saved profile link
    survives a server restart (Gradio would otherwise pick a new random key per process).

    It is not a secret from the browser: Gradio sends it to every client in /config. What it
    protects is the user's own id and token in this origin's localStorage, which only this
    origin can read, the usual place for a web session's bearer token.
    """
    path = settings.data_dir / "ui-browser-state.key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def _user(state: dict[str, Any] | None) -> tuple[str | None, str | None]:
    state = state or {}
    return state.get("user_id") or None, state.get("token") or None


def _session_line(session_id: str | None, history: list[dict[str, Any]]) -> str:
    asked = sum(1 for m in history if m.get("role") == "user")
    return f"Session `{session_id}` · {asked} question{'s' if asked != 1 else ''} so far"


# -- the app: one function per tab, each lays out its components and wires their events ----------


def _chat_tab(assistant: Assistant, user_state: gr.BrowserState) -> None:
    """Chat: streamed answers, resource cards, citations, the understood query, feedback."""
    session_state = gr.State(None)

    def respond(
        message: str,
        history: list[dict[str, Any]],
        session_id: str | None,
        user: dict[str, Any] | None,
    ) -> Iterator[tuple[Any, ...]]:
        message = (message or "").strip()
        history = list(history or [])
        unchanged = (gr.skip(),) * 5
        if not message:
            gr.Warning("Type a question first.")
            yield history, message, *unchanged, session_id
            return
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield history, "", *unchanged, session_id
        user_id, token = _user(user)
        try:
            try:
                events = assistant.ask_stream(
                    message, session_id=session_id, user_id=user_id, token=token
                )
            except (UnknownUser, Forbidden):
                # A stale profile link (database reset, another server): answer without it.
                gr.Warning("Your saved profile is not on this server; answering without it.")
                events = assistant.ask_stream(message, session_id=session_id)
        except (InvalidInput, Forbidden) as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield history, "", *unchanged, session_id
            return
        written = ""
        for event in events:
            if isinstance(event, str):  # an LLM token, shown as it arrives
                written += event
                history[-1] = {"role": "assistant", "content": safe_markdown(written)}
                yield history, "", *unchanged, session_id
                continue
            answer = event
        # The answer once: the bubble keeps the text; the cards and the panel the rest.
        history[-1] = {"role": "assistant", "content": safe_markdown(chat_text(answer.text))}
        yield (
            history,
            "",
            answer_cards(answer, assistant.catalog.sources),
            render_citations(answer.citations),
            describe_query(answer.query_used),
            answer.query_used,
            _session_line(answer.session_id, history),
            answer.session_id,
        )

    def rate(
        resource_id: str, rating: int, session_id: str | None, user: dict[str, Any] | None
    ) -> str:
        if not session_id:
            return "Nothing to rate yet."
        user_id, token = _user(user)
        try:
            saved = assistant.record_feedback(session_id, rating, resource_id, user_id, token)
        except (InvalidInput, UnknownUser, Forbidden) as exc:
            return f"Feedback not saved: {exc}"
        title = assistant.catalog.resources[resource_id].title
        verdict = "useful" if rating == 1 else "not for you"
        return f"Thanks: *{title}* marked {verdict} (feedback #{saved})."

    def mark_read(resource_id: str, user: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        """Add the resource to the profile's already-read list (a new profile if none yet)."""
        title = assistant.catalog.resources[resource_id].title
        user_id, token = _user(user)
        try:
            if user_id:
                try:
                    profile = assistant.get_profile(user_id, token)
                    read = tuple(dict.fromkeys((*profile.already_read, resource_id)))
                    assistant.set_profile(
                        user_id, token, profile.model_copy(update={"already_read": read})
                    )
                    return f"Marked *{title}* as read in your profile.", dict(user or NO_USER)
                except (UnknownUser, Forbidden):
                    pass  # a stale link: start a new profile below
            created = assistant.create_user({"already_read": [resource_id]})
        except InvalidInput as exc:
            return f"Not saved: {exc}", dict(user or NO_USER)
        new_user = {"user_id": created.user_id, "token": created.token}
        return f"Marked *{title}* as read in a new profile this browser remembers.", new_user

    def new_chat() -> tuple[Any, ...]:
        return [], "", [], render_citations([]), describe_query({}), {}, "", None, ""

    def on_like(session_id: str | None, user: dict[str, Any] | None, data: gr.LikeData) -> str:
        if data.liked == "":  # the same thumb clicked again: taken back in the page only
            return "Feedback withdrawn here; what was stored stays."
        if not session_id:
            return "Nothing to rate yet."
        rating = 1 if data.liked is True else -1
        user_id, token = _user(user)
        try:
            feedback_id = assistant.record_feedback(
                session_id, rating, user_id=user_id, token=token
            )
        except (InvalidInput, UnknownUser, Forbidden) as exc:
            return f"Feedback not saved: {exc}"
        return f"Thanks: {'👍' if rating == 1 else '👎'} saved (feedback #{feedback_id})."

    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                elem_id="chatbot",
                height=460,
                autoscroll=False,  # FOLLOW_QUESTION scrolls instead
                feedback_options=("Like", "Dislike"),
                buttons=["copy"],
                placeholder="Ask about books, courses, papers or tools for ML system design.",
            )
            with gr.Row():
                message = gr.Textbox(
                    label="Your question",
                    elem_id="message",
                    placeholder="what should I read for feature stores?",
                    scale=5,
                    max_lines=4,
                )
                send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
            gr.Markdown("Try:")
            with gr.Row():
                examples = [
                    gr.Button(q, size="sm", elem_classes=["mlsd-example"]) for q in EXAMPLES
                ]
            with gr.Row():
                clear = gr.Button("New conversation", size="sm", elem_id="new-chat")
                feedback_status = gr.Markdown("", elem_id="feedback-status")
                status_box = feedback_status
            session_line = gr.Markdown("", elem_id="session-id")
        with gr.Column(scale=2):
            query_line = gr.Markdown(describe_query({}), elem_id="query-used")
            gr.Markdown("### Recommended")
            cards = gr.State([])  # the answer's Recommendations, drawn below with their buttons
            with gr.Column(elem_id="resource-cards"):

                @gr.render(inputs=cards)
                def draw_cards(items: list[Recommendation]) -> None:
                    if not items:
                        gr.HTML(
                            render_cards([], "Ask a question to get recommendations."),
                            css_template=CARD_CSS,
                        )
                        return
                    for item in items:
                        rid = item.resource.id
                        with gr.Group(elem_classes=["mlsd-card-box"]):
                            gr.HTML(render_card(item), css_template=CARD_CSS)
                            with gr.Row():
                                # Words, not emoji: a machine without an emoji font shows boxes.
                                up = gr.Button("Useful", size="sm", elem_id=f"up-{rid}")
                                down = gr.Button("Not for me", size="sm", elem_id=f"down-{rid}")
                                read = gr.Button(
                                    "Mark as read", size="sm", elem_id=f"read-{rid}", min_width=80
                                )
                        up.click(partial(rate, rid, 1), [session_state, user_state], status_box)
                        down.click(partial(rate, rid, -1), [session_state, user_state], status_box)
                        read.click(partial(mark_read, rid), user_state, [status_box, user_state])

            gr.Markdown("### Citations")
            citations = gr.HTML(render_citations([]), elem_id="citations", css_template=CARD_CSS)
            with gr.Accordion("Understood query (raw)", open=False):
                query_json = gr.JSON(elem_id="query-json")

    outputs = [
        chatbot, message, cards, citations, query_line, query_json, session_line, session_state
    ]  # fmt: skip
    inputs = [message, chatbot, session_state, user_state]
    message.submit(respond, inputs, outputs)
    send.click(respond, inputs, outputs)
    for button, question in zip(examples, EXAMPLES, strict=True):
        button.click(lambda q=question: q, None, message, queue=False).then(
            respond, inputs, outputs
        )
    # The chatbot's own trash button starts afresh too, so no follow-up resolves against
    # answers no longer on the screen.
    clear.click(new_chat, None, [*outputs, feedback_status], queue=False)
    chatbot.clear(new_chat, None, [*outputs, feedback_status], queue=False)
    chatbot.like(on_like, [session_state, user_state], feedback_status)


def _profile_tab(assistant: Assistant, user_state: gr.BrowserState, demo: gr.Blocks) -> None:
    """Profile: the learner's profile, saved as a user this browser remembers; recommendations."""
    titles = sorted((r.title, r.id) for r in assistant.catalog.resources.values())

    def load(user: dict[str, Any] | None) -> tuple[Any, ...]:
        user_id, token = _user(user)
        if not user_id:
            return (*[gr.skip()] * 6, "No profile yet: fill in the form and press Save.", NO_USER)
        try:
            p = assistant.get_profile(user_id, token)
        except (UnknownUser, Forbidden):
            return (*[gr.skip()] * 6, "Your saved profile was not found: save again.", NO_USER)
        fields = (p.level or ANY, p.role or ANY, list(p.goals), list(p.formats), p.budget)
        return (*fields, list(p.already_read), f"Profile loaded (user `{user_id}`).", user)

    def save(
        level: str,
        role: str,
        goals: list[str],
        formats: list[str],
        budget: str,
        read: list[str],
        user: dict[str, Any] | None,
    ) -> tuple[str, dict[str, Any]]:
        fields = {
            "level": None if level == ANY else level,
            "role": None if role == ANY else role,
            "goals": goals or [],
            "formats": formats or [],
            "budget": budget,
            "already_read": read or [],
        }
        user_id, token = _user(user)
        try:
            if user_id:
                try:
                    assistant.set_profile(user_id, token, fields)
                    return f"Profile saved (user `{user_id}`).", dict(user or NO_USER)
                except (UnknownUser, Forbidden):
                    pass  # a stale link: create a new user below
            created = assistant.create_user(fields)
        except InvalidInput as exc:
            return f"Not saved: {exc}", dict(user or NO_USER)
        return (
            f"Profile saved: created user `{created.user_id}`; this browser remembers it.",
            {"user_id": created.user_id, "token": created.token},
        )

    def forget() -> tuple[str, dict[str, Any]]:
        return "This browser no longer uses a profile.", NO_USER

    def recommend(topic: str, user: dict[str, Any] | None) -> tuple[str, str, str]:
        user_id, token = _user(user)
        if not user_id:
            return "Save your profile first.", render_cards([], "No recommendations yet."), ""
        try:
            answer: Answer = assistant.recommend(
                topic=(topic or "").strip() or None, user_id=user_id, token=token
            )
        except (InvalidInput, UnknownUser, Forbidden) as exc:
            return f"⚠️ {exc}", render_cards([]), ""
        # The cards and citations carry the list; the text's first paragraph says what it is.
        text = safe_markdown(answer.text)
        lead = text.split("\n\n", 1)[0] if answer.items else text
        return lead, render_cards(answer.items), render_citations(answer.citations)

    gr.Markdown(
        "Tell the assistant who you are; once saved, chat and recommendations use it. "
        "This browser keeps your user id and token."
    )
    with gr.Row():
        level = gr.Radio([ANY, *LEVELS], value=ANY, label="Level", elem_id="level")
        budget = gr.Radio(["any", "free"], value="any", label="Budget", elem_id="budget")
        role = gr.Dropdown([ANY, *AUDIENCES], value=ANY, label="Role", elem_id="role")
    goals = gr.CheckboxGroup(list(GOALS), label="Goals", elem_id="goals")
    formats = gr.CheckboxGroup(list(KINDS), label="Preferred formats", elem_id="formats")
    already_read = gr.Dropdown(
        choices=titles,
        value=[],
        multiselect=True,
        label="Already read (left out of recommendations)",
        elem_id="already-read",
    )
    with gr.Row():
        save_button = gr.Button("Save profile", variant="primary", elem_id="save-profile")
        forget_button = gr.Button("Forget this browser's profile", size="sm")
    status = gr.Markdown("", elem_id="profile-status")
    gr.Markdown("### Recommend for me")
    with gr.Row():
        topic = gr.Textbox(
            label="Topic (optional; empty gives a learning path)", elem_id="rec-topic", scale=4
        )
        rec_button = gr.Button("Recommend for me", elem_id="recommend", scale=1)
    rec_text = gr.Markdown("", elem_id="rec-text", line_breaks=True)
    rec_cards = gr.HTML(
        render_cards([], "No recommendations yet."), elem_id="rec-cards", css_template=CARD_CSS
    )
    rec_citations = gr.HTML("", elem_id="rec-citations", css_template=CARD_CSS)

    fields = [level, role, goals, formats, budget, already_read]
    save_button.click(save, [*fields, user_state], [status, user_state])
    forget_button.click(forget, None, [status, user_state])
    rec_button.click(recommend, [topic, user_state], [rec_text, rec_cards, rec_citations])
    topic.submit(recommend, [topic, user_state], [rec_text, rec_cards, rec_citations])
    demo.load(load, user_state, [*fields, status, user_state])


def _browse_tab(catalog: Catalog, demo: gr.Blocks) -> None:
    """Browse: the whole catalog as a table, filtered by kind, topic, level, cost and words."""
    topics = [t for t in TOPICS if any(t in r.topics for r in catalog.resources.values())]

    def browse(kind: str, topic: str, level: str, cost: str, text: str) -> tuple[Any, str]:
        found = catalog_rows(catalog, kind, topic, level, cost, text)
        return catalog_frame(found), f"{len(found)} of {len(catalog.resources)} resources"

    with gr.Row():
        kind = gr.Dropdown([ANY, *KINDS], value=ANY, label="Kind", elem_id="f-kind")
        topic = gr.Dropdown([ANY, *topics], value=ANY, label="Topic", elem_id="f-topic")
        level = gr.Dropdown([ANY, *LEVELS], value=ANY, label="Level", elem_id="f-level")
        cost = gr.Dropdown([ANY, *COSTS], value=ANY, label="Cost", elem_id="f-cost")
        text = gr.Textbox(label="Words to find", elem_id="f-text", scale=2)
    count = gr.Markdown(elem_id="catalog-count")
    table = gr.Dataframe(
        value=catalog_frame(catalog_rows(catalog)),
        headers=TABLE_COLUMNS,
        datatype=["markdown", "str", "str", "str", "str", "str", "str", "str"],
        interactive=False,
        wrap=True,
        max_height=640,
        elem_id="catalog",
    )
    filters = [kind, topic, level, cost, text]
    gr.on(
        [kind.change, topic.change, level.change, cost.change, text.change],
        browse,
        filters,
        [table, count],
    )
    demo.load(browse, filters, [table, count])

    # One resource in full: summary, caveats, where it is named, its link.
    def detail(resource_id: str | None) -> str:
        resource = catalog.resources.get(resource_id or "")
        if resource is None:
            return "Pick a resource to see everything the catalog knows about it."
        return resource_detail(resource, catalog.sources)

    titles = sorted((r.title, r.id) for r in catalog.resources.values())
    pick = gr.Dropdown(titles, value=None, label="Resource details", elem_id="detail-pick")
    shown = gr.Markdown(detail(None), elem_id="resource-detail")
    pick.change(detail, pick, shown)

    def open_row(event: gr.SelectData) -> tuple[Any, str]:
        # A click on a row opens that resource: its title cell is the title or "[title](url)".
        cell = str((event.row_value or [""])[0])
        title = cell[1:].split("](", 1)[0] if cell.startswith("[") and "](" in cell else cell
        found = next((r for r in catalog.resources.values() if r.title == title), None)
        return (found.id if found else gr.skip()), detail(found.id if found else None)

    table.select(open_row, None, [pick, shown])


def _evals_tab(settings: Settings, demo: gr.Blocks) -> None:
    """Evals: the latest `mlsd eval` report's table, chart and full text."""

    def show() -> tuple[Any, ...]:
        status, table, chart, report = load_eval(eval_dir(settings))
        # Handed over as pixels, not a path: Gradio refuses to serve files outside its cache,
        # the working directory and the temp dir, and MLSD_DATA_DIR may be anywhere.
        image = None
        if chart is not None:
            with PILImage.open(chart) as opened:
                image = opened.convert("RGB")
        return (
            status,
            gr.update(value=table, visible=table is not None),
            gr.update(value=image, visible=image is not None),
            report,
        )

    status = gr.Markdown(elem_id="eval-status")
    reload_button = gr.Button("Reload", size="sm", elem_id="reload-evals")
    table = gr.Dataframe(interactive=False, label="Retrieval by pipeline", elem_id="eval-table")
    chart = gr.Image(
        label="Metrics by pipeline", type="pil", interactive=False, elem_id="eval-chart"
    )
    with gr.Accordion("Full report", open=False):
        report = gr.Markdown(elem_id="eval-report")
    reload_button.click(show, None, [status, table, chart, report])
    demo.load(show, None, [status, table, chart, report])


def build_ui(assistant: Assistant, settings: Settings) -> gr.Blocks:
    """The Gradio app over one assistant: Chat, Profile, Browse and Evals tabs.

    Mount it with `gradio.mount_gradio_app(app, build_ui(...), path="/")`; nothing in it asks
    for anything outside this server (no share link, no analytics, no web fonts).
    """
    with gr.Blocks(title="MLSD Assistant", analytics_enabled=False) as demo:
        # Per browser, across reloads: the profile's user id and token (encrypted at rest).
        user_state = gr.BrowserState(
            NO_USER, storage_key="mlsd-user", secret=browser_secret(settings)
        )
        gr.Markdown(
            "# MLSD Assistant\nResources for learning machine-learning system design, "
            "recommended from a curated catalog with citations to where each was found."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(assistant, user_state)
            with gr.Tab("Profile", id="profile"):
                _profile_tab(assistant, user_state, demo)
            with gr.Tab("Browse", id="browse"):
                _browse_tab(assistant.catalog, demo)
            with gr.Tab("Evals", id="evals"):
                _evals_tab(settings, demo)
        demo.load(None, js=FOLLOW_QUESTION)
    return demo
