"""Assistant stage: the assistant as one object, wired once by `build_assistant(settings)`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from assistant.chain import ResourceRetriever, build_answer_chain
from assistant.compose import Answer, Composer
from assistant.conversation import Session, Turn, resolve
from assistant.generate import AnswerChecker, Generator, make_generator, with_generator
from assistant.hybrid import Hit, HybridRetriever
from assistant.query import ParsedQuery, QueryParser
from assistant.ranking import rank
from assistant.settings import Settings
from assistant.storage import Storage, UnknownSession
from ingest.catalog import KINDS, Catalog, load_catalog
from ingest.embedding import Embedder, make_embedder
from ingest.store import VectorStore, open_store

Pipeline = Literal["bm25", "dense", "hybrid", "full"]
MAX_K = 50
# Best dense similarity below which a question with no domain signal is out of scope
# (calibrated on the dev split: in-scope questions score well above it, off-topic ones below).
OUT_OF_SCOPE_SIMILARITY = 0.32


class InvalidInput(ValueError):
    """A request the assistant cannot answer as given; the message says what to fix."""


class IndexNotReady(RuntimeError):
    """The index is empty or missing; run `mlsd ingest`."""


@dataclass(frozen=True)
class SearchResult:
    """Ranked resources for a query, with what was understood."""

    hits: list[Hit]
    parsed: ParsedQuery
    topic_text: str


class Assistant:
    """Search, conversational answers and (later) recommendations over one index."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        store: VectorStore,
        embedder: Embedder,
        storage: Storage,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.storage = storage
        self.retriever = HybridRetriever(catalog, store, embedder)
        if not self.retriever.chunks:
            raise IndexNotReady("the index is empty: run `mlsd ingest` first")
        self.parser = QueryParser(catalog, [c.text for c in self.retriever.chunks.values()])
        self.composer = Composer()
        self.generator = generator
        self.checker = AnswerChecker(catalog)
        self.chain = build_answer_chain(
            self.understand,
            self.retrieve,
            self.composer.compose,
            self._generate if generator is not None else None,
        )

    def _generate(self, answer: Answer, question: str) -> Answer:
        assert self.generator is not None
        return with_generator(answer, question, self.generator, self.checker)

    def as_retriever(self, k: int = 10) -> ResourceRetriever:
        """This assistant's search as a LangChain retriever."""
        return ResourceRetriever(search=self.search, k=k)

    def warm_up(self) -> None:
        """Load the model and touch every index once, so the first real question is fast."""
        self.search("feature stores for real-time ML", k=3)

    # -- validation -------------------------------------------------------------------------

    def _check_message(self, message: str) -> str:
        text = (message or "").strip()
        if not text:
            raise InvalidInput("the message is empty: ask a question")
        if len(text) > self.settings.max_message_chars:
            raise InvalidInput(
                f"the message has {len(text)} characters; the limit is "
                f"{self.settings.max_message_chars} (MLSD_MAX_MESSAGE_CHARS)"
            )
        return text

    @staticmethod
    def _check_k(k: int) -> None:
        if not 1 <= k <= MAX_K:
            raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}")

    @staticmethod
    def _check_kinds(kinds: tuple[str, ...]) -> None:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise InvalidInput(f"unknown kind(s) {unknown}; use any of: {', '.join(KINDS)}")

    # -- retrieval --------------------------------------------------------------------------

    def understand(self, message: str, previous: Turn | None = None) -> tuple[ParsedQuery, str]:
        """Parse a message and resolve it against the previous turn."""
        return resolve(self.parser.parse(message), previous)

    def retrieve(
        self,
        parsed: ParsedQuery,
        topic_text: str,
        k: int = 10,
        pipeline: Pipeline = "full",
    ) -> SearchResult:
        """Ranked resources for an understood query with the chosen pipeline."""
        if pipeline != "full":
            retrieval = self.retriever.retrieve(parsed.original, mode=pipeline)
            scored = self.retriever.resource_scores(retrieval)
            ranked = sorted(((r, s) for r, (s, _) in scored.items()), key=lambda p: -p[1])[:k]
            return SearchResult(self.retriever.hits(scored, ranked), parsed, topic_text)
        # A follow-up is retrieved by its resolved topic; a fresh question by its own words.
        query_text = (
            f"{topic_text} {' '.join(parsed.kinds)}".strip() if parsed.follow_up else parsed.text
        )
        expansion = " ".join(t.replace("-", " ") for t in parsed.topics)
        retrieval = self.retriever.retrieve(query_text, mode="hybrid", expansion=expansion)
        has_signal = bool(parsed.topics or parsed.mentioned or parsed.authors or parsed.restrict_to)
        if not has_signal and retrieval.top_similarity < OUT_OF_SCOPE_SIMILARITY:
            return SearchResult([], replace(parsed, intent="out_of_scope"), topic_text)
        scored = self.retriever.resource_scores(retrieval)
        ranked = rank(self.catalog, {rid: s for rid, (s, _) in scored.items()}, parsed, k)
        return SearchResult(self.retriever.hits(scored, ranked), parsed, topic_text)

    def search(
        self,
        query: str,
        k: int = 10,
        kinds: tuple[str, ...] = (),
        pipeline: Pipeline = "full",
    ) -> SearchResult:
        """Ranked resources for a one-off query (no conversation)."""
        text = self._check_message(query)
        self._check_k(k)
        self._check_kinds(kinds)
        parsed, topic_text = self.understand(text)
        if kinds:
            parsed = replace(parsed, kinds=tuple(dict.fromkeys((*parsed.kinds, *kinds))))
        return self.retrieve(parsed, topic_text, k=k, pipeline=pipeline)

    # -- conversation -----------------------------------------------------------------------

    def session(self, session_id: str | None, user_id: str | None = None) -> Session:
        """The stored session, or a new one when no id is given."""
        if not session_id:
            return self.storage.new_session(user_id)
        try:
            return self.storage.load_session(session_id)
        except UnknownSession:
            raise InvalidInput(
                f"unknown session '{session_id}': omit session_id to start a new one"
            ) from None

    def ask(
        self, message: str, session_id: str | None = None, user_id: str | None = None, k: int = 5
    ) -> Answer:
        """One conversational turn: understand, retrieve, compose, remember."""
        text = self._check_message(message)
        self._check_k(k)
        session = self.session(session_id, user_id)
        answer: Answer = self.chain.invoke({"message": text, "previous": session.last, "k": k})
        answer.session_id = session.id
        self.storage.append_turn(
            session,
            Turn(
                message=text,
                query_used=answer.query_used,
                resource_ids=tuple(item.resource.id for item in answer.items),
                answer=answer.text,
                intent=answer.intent,
                topic_text=str(answer.query_used.get("topic_text", "")),
            ),
        )
        return answer


def build_assistant(settings: Settings, embedder: Embedder | None = None) -> Assistant:
    """Wire the assistant from settings: catalog, store, embedder, storage."""
    catalog = load_catalog(settings.corpus_dir)
    store = open_store(settings)
    embedder = embedder or make_embedder(settings.embedding_model, settings.embed_batch_size)
    storage = Storage(settings.data_dir / "assistant.sqlite3")
    assistant = Assistant(settings, catalog, store, embedder, storage, make_generator(settings))
    assistant.warm_up()
    return assistant
