"""Assistant stage: the assistant as one object, wired once by `build_assistant(settings)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from assistant.chain import ResourceRetriever, build_answer_chain
from assistant.compose import Answer, Composer
from assistant.conversation import Session, Turn, resolve
from assistant.errors import InvalidInput, check_message
from assistant.generate import AnswerChecker, Generator, make_generator, with_generator
from assistant.hybrid import Hit, HybridRetriever
from assistant.personalize import Personalized, Personalizer, is_generic
from assistant.profiles import Forbidden, NewUser, Profile
from assistant.query import ParsedQuery, QueryParser
from assistant.ranking import out_of_scope, rank
from assistant.settings import Settings
from assistant.storage import Storage, UnknownSession, open_storage
from assistant.users import Learner, Users
from ingest.catalog import KINDS, Catalog, load_catalog
from ingest.embedding import Embedder, make_embedder
from ingest.store import VectorStore, open_store

Pipeline = Literal["bm25", "dense", "hybrid", "full"]
MAX_K = 50


class UnknownSessionError(InvalidInput):
    """No session with that id (a 404 over HTTP)."""


class IndexNotReady(RuntimeError):
    """The index is empty or missing; run `mlsd ingest`."""


@dataclass(frozen=True)
class SearchResult:
    """Ranked resources for a query, with what was understood."""

    hits: list[Hit]
    parsed: ParsedQuery
    topic_text: str
    personal: Personalized | None = None  # how the learner's profile shaped the list


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
        self.composer = Composer({r.id: r.title for r in catalog.resources.values()})
        self.personalizer = Personalizer(catalog)
        self.users = Users(catalog, storage)
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
        return check_message(message, self.settings.max_message_chars)

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
        learner: Learner | None = None,
    ) -> SearchResult:
        """Ranked resources for an understood query with the chosen pipeline (and learner)."""
        if pipeline != "full":
            retrieval = self.retriever.retrieve(parsed.original, mode=pipeline)
            scored = self.retriever.resource_scores(retrieval)
            ranked = sorted(((r, s) for r, (s, _) in scored.items()), key=lambda p: -p[1])[:k]
            return SearchResult(self.retriever.hits(scored, ranked), parsed, topic_text)
        if parsed.intent == "smalltalk":
            return SearchResult([], parsed, topic_text)
        has_signal = bool(parsed.topics or parsed.mentioned or parsed.authors or parsed.restrict_to)
        if not has_signal and not parsed.follow_up and is_generic(parsed.original):
            return self.learning_path(parsed, topic_text, k, learner)
        # A follow-up is retrieved by its resolved topic; a fresh question by its own words.
        query_text = (
            f"{topic_text} {' '.join(parsed.kinds)}".strip() if parsed.follow_up else parsed.text
        )
        like = self.catalog.resources.get(parsed.similar_to)  # gone from the catalog: ignored
        if like is not None:  # "more like X": X's own description is the query
            query_text = f"{like.title}. {like.summary} {like.best_for} {topic_text}".strip()
            parsed = replace(
                parsed,
                topics=parsed.topics or like.topics,
                exclude=tuple(dict.fromkeys((*parsed.exclude, like.id))),
            )
        expansion = " ".join(t.replace("-", " ") for t in parsed.topics)
        if learner is not None:  # a role or goal widens the search towards what it needs
            expansion = f"{expansion} {learner.profile.expansion()}".strip()
        retrieval = self.retriever.retrieve(query_text, mode="hybrid", expansion=expansion)
        if out_of_scope(parsed, retrieval.top_similarity):
            return SearchResult([], replace(parsed, intent="out_of_scope"), topic_text)
        scored = self.retriever.resource_scores(retrieval)
        # A learner's filters and diversity pick from every candidate, not just the top k.
        depth = k if learner is None else len(self.catalog.resources)
        ranked = rank(self.catalog, {rid: s for rid, (s, _) in scored.items()}, parsed, depth)
        if not ranked and parsed.restrict_to:  # none of those fit: widen to the same topic
            parsed = replace(parsed, restrict_to=(), follow_up="same-topic")
            ranked = rank(self.catalog, {rid: s for rid, (s, _) in scored.items()}, parsed, depth)
        personal = None
        if learner is not None:
            personal = self.personalizer.personalize(
                ranked, learner.profile, learner.ratings, k, level_from_query=bool(parsed.level)
            )
            ranked = personal.ranked
        return SearchResult(self.retriever.hits(scored, ranked), parsed, topic_text, personal)

    def learning_path(
        self, parsed: ParsedQuery, topic_text: str, k: int, learner: Learner | None
    ) -> SearchResult:
        """An ordered path for a request with no subject ("where do I start?")."""
        learner = learner or Learner(Profile())
        path = self.personalizer.learning_path(learner.profile, learner.ratings, k)
        parsed = replace(parsed, intent="learning_path")
        return SearchResult(self.retriever.hits({}, path.ranked), parsed, topic_text, path)

    def search(
        self,
        query: str,
        k: int = 10,
        kinds: tuple[str, ...] = (),
        pipeline: Pipeline = "full",
        user_id: str | None = None,
        token: str | None = None,
    ) -> SearchResult:
        """Ranked resources for a one-off query (no conversation), for a user if one is given."""
        text = self._check_message(query)
        self._check_k(k)
        self._check_kinds(kinds)
        learner = self.learner(user_id, token) if user_id else None
        parsed, topic_text = self.understand(text)
        if kinds:
            parsed = replace(parsed, kinds=tuple(dict.fromkeys((*parsed.kinds, *kinds))))
        return self.retrieve(parsed, topic_text, k=k, pipeline=pipeline, learner=learner)

    # -- users, profiles, feedback ----------------------------------------------------------

    def create_user(self, profile: Profile | Mapping[str, Any] | None = None) -> NewUser:
        """A new user (with an optional profile); keep the token, it is shown only once."""
        return self.users.create(profile)

    def get_profile(self, user_id: str, token: str | None) -> Profile:
        """A user's profile; needs that user's token."""
        return self.users.profile(user_id, token)

    def set_profile(
        self, user_id: str, token: str | None, profile: Profile | Mapping[str, Any]
    ) -> Profile:
        """Replace a user's profile; needs that user's token. Nothing is saved if it is invalid."""
        return self.users.set_profile(user_id, token, profile)

    def learner(self, user_id: str, token: str | None) -> Learner:
        """A user's profile and feedback, for ranking; needs that user's token."""
        return self.users.learner(user_id, token)

    def record_feedback(
        self,
        session_id: str,
        rating: int,
        resource_id: str | None = None,
        user_id: str | None = None,
        token: str | None = None,
    ) -> int:
        """Store a thumbs up (1) or down (-1) on an answer, or on one resource in it."""
        if rating not in (1, -1):
            raise InvalidInput(f"rating must be 1 (thumbs up) or -1 (thumbs down), got {rating}")
        if resource_id is not None and resource_id not in self.catalog.resources:
            raise InvalidInput(f"unknown resource '{resource_id}'; see GET /api/resources")
        session = self.session(session_id, user_id, token, create=False)
        return self.storage.add_feedback(session, rating, resource_id, user_id or session.user_id)

    def recommend(
        self,
        profile: Profile | Mapping[str, Any] | None = None,
        topic: str | None = None,
        k: int = 5,
        user_id: str | None = None,
        token: str | None = None,
    ) -> Answer:
        """Personalized picks for a stored user or an inline profile; no topic gives a path."""
        self._check_k(k)
        if user_id and profile is not None:
            raise InvalidInput("give either user_id or an inline profile, not both")
        if user_id:
            learner = self.learner(user_id, token)
        else:
            learner = Learner(self.users.check_profile(profile))
        text = self._check_message(topic) if topic and topic.strip() else ""
        parsed, topic_text = self.understand(text or "where should I start?")
        if not text:
            result = self.learning_path(parsed, topic_text, k, learner)
        else:
            result = self.retrieve(parsed, topic_text, k=k, learner=learner)
        return self.composer.compose(result.parsed, result.hits, result.topic_text, result.personal)

    # -- conversation -----------------------------------------------------------------------

    def session(
        self,
        session_id: str | None,
        user_id: str | None = None,
        token: str | None = None,
        create: bool = True,
    ) -> Session:
        """The stored session, or a new one when no id is given; a user's needs their token."""
        if user_id:
            self.storage.authorize(user_id, token)
        if not session_id:
            if not create:
                raise InvalidInput("session_id is required")
            return self.storage.new_session(user_id)
        try:
            session = self.storage.load_session(session_id)
        except UnknownSession:
            raise UnknownSessionError(
                f"unknown session '{session_id}': omit session_id to start a new one"
            ) from None
        if session.user_id is not None and session.user_id != user_id:
            # Someone else's conversation: say no without confirming whose it is.
            raise Forbidden(f"session '{session_id}' belongs to another user")
        return session

    def ask(
        self,
        message: str,
        session_id: str | None = None,
        user_id: str | None = None,
        k: int = 5,
        token: str | None = None,
    ) -> Answer:
        """One conversational turn: understand, retrieve, personalize, compose, remember."""
        text = self._check_message(message)
        self._check_k(k)
        session = self.session(session_id, user_id, token)
        learner = self.learner(user_id, token) if user_id else None
        answer: Answer = self.chain.invoke(
            {"message": text, "previous": session.context, "k": k, "learner": learner}
        )
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


def build_assistant(
    settings: Settings, embedder: Embedder | None = None, storage: Storage | None = None
) -> Assistant:
    """Wire the assistant from settings: catalog, store, embedder, storage (sessions and users,
    `MLSD_DATABASE_URL`, by default `MLSD_DATA_DIR/assistant.sqlite3`)."""
    catalog = load_catalog(settings.corpus_dir)
    store = open_store(settings)
    embedder = embedder or make_embedder(settings.embedding_model, settings.embed_batch_size)
    storage = storage or open_storage(settings)
    assistant = Assistant(settings, catalog, store, embedder, storage, make_generator(settings))
    assistant.warm_up()
    return assistant
