"""Assistant stage: an optional LLM writes the answer from the same evidence; we check it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from assistant.compose import RELATED, Answer
from assistant.settings import Settings
from ingest.catalog import Catalog, Resource
from ingest.linking import ResourceLinker, normalize

SYSTEM_PROMPT = """You recommend learning resources for machine-learning system design.
Use ONLY the numbered evidence and the resources listed. Cite evidence by its number in square
brackets, like [1]. Name only resources from the list, by their exact title. Do not invent
titles, authors or links. When definitions are given, open with the definition (you may
reword it), then say what to read. Resources marked related are not on the topic asked: say so,
and list them last. Be brief: one short paragraph, then the resources as a list."""


class GeneratorError(RuntimeError):
    """The LLM could not be reached or answered nothing usable."""


class Generator(Protocol):
    """Writes answer text from a prompt built from evidence."""

    name: str

    def generate(self, system: str, prompt: str) -> str:
        """The model's reply to a system and user prompt."""
        ...


class ChatModelGenerator:
    """Adapter over a LangChain chat model (OpenAI-compatible server or Ollama)."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        self.name = name

    def generate(self, system: str, prompt: str) -> str:
        """One completion; network or server errors become `GeneratorError`."""
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            reply = self._model.invoke([SystemMessage(system), HumanMessage(prompt)])
        except Exception as exc:  # client libraries raise many types for "unreachable"
            raise GeneratorError(f"{self.name} failed: {exc}") from exc
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        if not text.strip():
            raise GeneratorError(f"{self.name} returned an empty answer")
        return text.strip()

    def stream(self, system: str, prompt: str) -> Iterator[str]:
        """The reply token by token as the server sends it (LangChain `.stream()`)."""
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            for chunk in self._model.stream([SystemMessage(system), HumanMessage(prompt)]):
                text = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
                if text:
                    yield text
        except Exception as exc:  # client libraries raise many types for "unreachable"
            raise GeneratorError(f"{self.name} failed: {exc}") from exc


def make_generator(settings: Settings) -> Generator | None:
    """The configured generator, or None when answers are composed by code."""
    if settings.llm_provider == "none":
        return None
    if settings.llm_provider == "openai":
        from langchain_openai import ChatOpenAI

        model: Any = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=str(settings.llm_model),
            api_key=settings.llm_api_key,  # type: ignore[arg-type]
            timeout=settings.llm_timeout_s,
            max_retries=0,
            temperature=0.0,
            max_completion_tokens=400,
        )
    else:
        from langchain_ollama import ChatOllama

        model = ChatOllama(
            base_url=settings.llm_base_url, model=str(settings.llm_model), temperature=0.0
        )
    return ChatModelGenerator(model, f"{settings.llm_provider}:{settings.llm_model}")


def build_prompt(question: str, answer: Answer) -> str:
    """The user prompt: the question, the numbered evidence and the allowed resources."""
    evidence = "\n".join(f"[{c.number}] ({c.source_title}) {c.snippet}" for c in answer.citations)
    # Each resource's catalog facts, so "is it free?" is answerable from the prompt alone.
    resources = "\n".join(
        f"- {item.resource.title} ({item.resource.kind})"
        f"{' [related: not on the topic asked]' if item.group == RELATED else ''}: "
        f"{item.resource.best_for} [{_facts(item.resource)}]"
        for item in answer.items
    )
    # The glossary's definitions: the same material the composed answer opens with.
    definitions = "".join(
        f"- {c.name}: {c.definition.strip()} Why it matters: {c.why.strip()}\n"
        for c in answer.concepts
    ) + "".join(
        f"- {c.name} [the question may mean this instead]: {c.definition.strip()}\n"
        for c in answer.maybe
    )
    glossary = f"Definitions:\n{definitions}\n" if definitions else ""
    # Where the subject is when nothing of the asked kind covers it: the composed answer says so.
    other = "".join(f"- {r.title} ({r.kind})\n" for r in answer.elsewhere)
    elsewhere = f"\nOn the topic, in formats not asked for (none of the asked kind is):\n{other}"
    # One pick was asked for: the composed answer names the next two after it.
    runners = "".join(f"- {r.title} ({r.kind})\n" for r in answer.also)
    also = f"\nOne pick was asked for; also worth a look after it:\n{runners}"
    asked = answer.query_used.get("unlisted_kinds")
    missing = [str(f) for f in asked] if isinstance(asked, list) else []
    unlisted = (
        f"The catalog lists no {' or '.join(f + 's' for f in missing)}.\n\n" if missing else ""
    )
    return (
        f"Question: {question}\n\n{unlisted}{glossary}Evidence:\n{evidence}\n\n"
        f"Resources:\n{resources}\n{elsewhere if other else ''}{also if runners else ''}"
    )


def _facts(resource: Resource) -> str:
    """Level, cost, (for software) whether it is open source and the recorded length:
    "beginner, free, open source", "intermediate, paid, 386 pages"."""
    source = {True: ["open source"], False: ["not open source"], None: []}[resource.open_source]
    length = [resource.length] if resource.length else []
    return ", ".join([resource.level, resource.cost, *source, *length])


@dataclass(frozen=True)
class Check:
    """What is wrong with a generated answer (empty when it may be shown)."""

    bad_citations: tuple[int, ...]
    unknown_titles: tuple[str, ...]
    cites_nothing: bool

    @property
    def ok(self) -> bool:
        """Whether the answer may be shown as written."""
        return not (self.bad_citations or self.unknown_titles or self.cites_nothing)


_CITATION = re.compile(r"\[(\d+)\]")
# Phrases a model uses to name a work: bold, italics or quotes around title-like text.
_TITLED = re.compile(
    r"\*\*([^*\n]{3,120})\*\*|(?<!\*)\*([^*\n]{3,120})\*(?!\*)|\"([^\"\n]{3,120})\""
)


class AnswerChecker:
    """Checks citations against the evidence given and named titles against the catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._linker = ResourceLinker(catalog.resources.values())
        self._names = {normalize(n) for r in catalog.resources.values() for n in r.names}

    def check(self, text: str, given: int) -> Check:
        """Citation numbers must be among 1..given; emphasized titles must be in the catalog."""
        numbers = [int(n) for n in _CITATION.findall(text)]
        bad = tuple(sorted({n for n in numbers if not 1 <= n <= given}))
        unknown: list[str] = []
        for match in _TITLED.finditer(text):
            phrase = next(g for g in match.groups() if g).strip(" .,:;")
            words = phrase.split()
            looks_like_title = len(words) >= 2 and sum(w[:1].isupper() for w in words) >= 2
            if looks_like_title and not self._linker.find(phrase):
                unknown.append(phrase)
        return Check(bad, tuple(unknown), cites_nothing=given > 0 and not numbers)


def needs_llm(answer: Answer) -> bool:
    """Whether an LLM may write this answer: only when there is evidence to ground it in."""
    return answer.intent != "out_of_scope" and bool(answer.items)


def unavailable(answer: Answer, exc: GeneratorError) -> Answer:
    """The composed answer, noting why the LLM's was not used."""
    return replace(answer, notes=[*answer.notes, f"LLM unavailable, composed answer: {exc}"])


def stream_pieces(generator: Generator, question: str, answer: Answer) -> Iterator[str]:
    """The LLM's answer as it is written: real tokens when the generator streams, else whole."""
    stream = getattr(generator, "stream", None)
    if stream is None:
        yield generator.generate(SYSTEM_PROMPT, build_prompt(question, answer))
        return
    yield from stream(SYSTEM_PROMPT, build_prompt(question, answer))


def with_generator(
    answer: Answer, question: str, generator: Generator, checker: AnswerChecker
) -> Answer:
    """The LLM's answer when it passes the checks; repaired, or the composed answer, if not."""
    if not needs_llm(answer):
        return answer  # nothing to ground an LLM answer in: the honest composed answer stands
    try:
        text = generator.generate(SYSTEM_PROMPT, build_prompt(question, answer))
    except GeneratorError as exc:
        return unavailable(answer, exc)
    return checked(answer, text, generator.name, checker)


def checked(answer: Answer, text: str, name: str, checker: AnswerChecker) -> Answer:
    """The generated text as the answer if it passes the checks (after repair), else the
    composed answer with a note saying why."""
    text = text.strip()
    if not text:
        return unavailable(answer, GeneratorError(f"{name} returned an empty answer"))
    given = len(answer.citations)
    check = checker.check(text, given)
    if check.bad_citations and not check.unknown_titles:
        # Repairable: drop citation marks that point at evidence never given.
        text = _CITATION.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= given else "", text)
        check = checker.check(text, given)
    if not check.ok:
        reasons = []
        if check.unknown_titles:
            reasons.append(f"named resources not in the catalog: {', '.join(check.unknown_titles)}")
        if check.bad_citations:
            reasons.append(f"cited evidence never given: {list(check.bad_citations)}")
        if check.cites_nothing:
            reasons.append("cited no evidence")
        note = f"LLM answer replaced by the composed answer ({'; '.join(reasons)})"
        return replace(answer, notes=[*answer.notes, note])
    return replace(answer, text=text, generator=name)
