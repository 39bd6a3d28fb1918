"""Assistant stage: the assistant as one object, wired once by `build_assistant(settings)`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from assistant.chain import ResourceRetriever, build_answer_chain
from assistant.compose import (
    CANDIDATES_PER_SLOT,
    READING_KINDS,
    Answer,
    Composer,
    asked_concepts,
    subject_concepts,
)
from assistant.concepts import SCOPE_SIMILARITY, SUPPORT_DEPTH, ConceptIndex
from assistant.conversation import Session, Turn, resolve
from assistant.errors import InvalidInput, check_message
from assistant.generate import (
    AnswerChecker,
    Generator,
    GeneratorError,
    checked,
    make_generator,
    needs_llm,
    stream_pieces,
    unavailable,
    with_generator,
)
from assistant.hybrid import Hit, HybridRetriever, Signals
from assistant.intent import SharedQueryVectors
from assistant.personalize import Personalized, Personalizer, is_generic
from assistant.profiles import Forbidden, NewUser, Profile
from assistant.query import AFTER_READING, ParsedQuery, QueryParser, without_timeframes
from assistant.ranker import LightGbmRanker, Ranker, feature_row
from assistant.ranking import DOCUMENT_SIMILARITY, far_levels_last, out_of_scope, passes, rank
from assistant.settings import Settings
from assistant.storage import Storage, UnknownSession, open_storage
from assistant.trust import prefer_verified
from assistant.users import Learner, Users
from ingest.catalog import KINDS, Catalog, Resource, load_catalog
from ingest.concepts import Concept, load_concepts
from ingest.embedding import Embedder, make_embedder
from ingest.store import VectorStore, open_store
from ingest.vocabulary import LEVELS, level_gap

Pipeline = Literal["bm25", "dense", "hybrid", "full"]
MAX_K = 50
# Resources in other formats named when none of the asked kind is on the topic.
ELSEWHERE = 3
# Issue 15: earlier messages a client sends with a question (OpenAI-style `messages`) are
# replayed, one retrieval each; this bounds the work one request can cause. A follow-up reads
# only the latest turn it refers to, so older turns rarely change the answer.
MAX_REPLAYED_TURNS = 10


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
    # On the topics asked, in formats not asked for ("a course on recommender systems": its
    # books and blogs), best first: what to point to when no resource of the asked kind is on
    # the topic.
    elsewhere: tuple[Resource, ...] = ()


@dataclass(frozen=True)
class Candidates:
    """What the ranker chooses from for one question: candidates and their feature rows."""

    parsed: ParsedQuery  # as retrieved ("more like X" adds X's topics and excludes X)
    retriever: HybridRetriever  # the index they came from (a reload may swap the live one)
    signals: Signals
    resources: dict[str, Resource]  # catalog resources and answering documents, by id
    documents: dict[str, Resource]  # the answering documents among them
    ids: list[str]
    rows: list[list[float]]  # feature rows, in `ids` order
    out_of_scope: bool


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
        ranker: Ranker | None = None,
        concepts: Mapping[str, Concept] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.storage = storage
        self.ranker = ranker or LightGbmRanker()
        self.index_version = store.version()
        # Issue 11: the intent classifier and dense retrieval embed the same question once.
        self.questions = SharedQueryVectors(embedder)
        self.retriever = HybridRetriever(catalog, store, self.questions)
        if not self.retriever.chunks:
            raise IndexNotReady("the index is empty: run `mlsd ingest` first")
        self._checked_at = time.monotonic()
        self._reload_lock = threading.Lock()
        # The glossary's words are the domain's words too ("parallelism", "quantization"):
        # the spelling corrector must not rewrite them.
        glossary = [
            " ".join((c.name, *c.aliases, c.definition, c.why, *c.questions))
            for c in (concepts or {}).values()
        ]
        self.concepts = ConceptIndex(concepts or {}, self.questions)  # issue 13: explain/compare
        self.parser = QueryParser(
            catalog,
            [*(c.text for c in self.retriever.chunks.values()), *glossary],
            self.questions,
            self.concepts,
        )
        self.composer = Composer(
            {r.id: r.title for r in catalog.resources.values()},
            self.concepts,
            catalog.sources,
            {s.title: u for s in catalog.sources.values() if (u := getattr(s, "url", None))},
        )
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
        # The same chain without the LLM step, for `ask_stream` (it streams that step itself).
        self.compose_chain = build_answer_chain(
            self.understand, self.retrieve, self.composer.compose
        )

    def _generate(self, answer: Answer, question: str) -> Answer:
        assert self.generator is not None
        return with_generator(answer, question, self.generator, self.checker)

    def as_retriever(self, k: int = 10) -> ResourceRetriever:
        """This assistant's search as a LangChain retriever."""
        return ResourceRetriever(search=self.search, k=k)

    def refresh(self, force: bool = False) -> bool:
        """Pick up a new ingest: when the store's index version changed, rebuild the retriever.

        Checked at most every `settings.index_check_s` seconds (one small read of the store);
        returns whether the index was reloaded. Requests keep using the old retriever while the
        new one builds, then switch at once.
        """
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.index_check_s:
            return False
        self._checked_at = now
        if not self._reload_lock.acquire(blocking=False):
            return False  # another request is already reloading
        try:
            version = self.store.version()
            if version == self.index_version and not force:
                return False
            # An embedded store caches its vector index per process: open it afresh.
            reopen = getattr(self.store, "reopen", None)
            store = reopen() if reopen is not None else self.store
            retriever = HybridRetriever(self.catalog, store, self.questions)
            if not retriever.chunks:
                return False
            self.store, self.retriever, self.index_version = store, retriever, version
            return True
        finally:
            self._reload_lock.release()

    def resource(self, resource_id: str) -> Resource | None:
        """A catalog resource or one of the user's documents, by id."""
        return self.catalog.resources.get(resource_id) or self.retriever.documents.get(resource_id)

    def warm_up(self) -> None:
        """Load the model and touch every index once, so the first real question is fast."""
        self.search("feature stores for real-time ML", k=3)

    def prepare_in_background(self) -> threading.Thread:
        """Build, after start-up, what only some questions need: the typo index (a word it
        does not know) and the glossary's vectors (an explain question). Each has a lock, so a
        question that needs one first waits for it rather than building it twice."""

        def prepare() -> None:
            self.parser.prepare()
            self.concepts.similarities("what is a feature store?")

        thread = threading.Thread(target=prepare, name="mlsd-prepare", daemon=True)
        thread.start()
        return thread

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
        said = self.parser.parse(message)
        parsed, topic_text = resolve(said, previous)
        # What the person has read stays read for the rest of the conversation.
        earlier = previous.query_used.get("finished") if previous is not None else None
        now = said.mentioned if AFTER_READING.search(said.text) else ()
        finished = (*(earlier if isinstance(earlier, list) else ()), *now)
        parsed = replace(parsed, finished=tuple(dict.fromkeys(str(f) for f in finished)))
        # "How do I make my model smaller and faster?": no topic, format or name for retrieval to
        # hold on to, but close in meaning to a glossary concept (model compression). A mentor
        # says what that is and what teaches it, so it is answered as an explain question.
        plain = not (parsed.topics or parsed.kinds or parsed.mentioned or parsed.authors)
        # A question naming the concept asks for what teaches it ("what should I read about
        # vector databases?"): the subject's resources, as for "papers about model compression".
        plain = plain and not self.concepts.named_in(parsed.original)
        # "What is infrastructure as code, and why do ML teams care?" asks for a definition first,
        # whatever the rest of the question asks.
        opens = not (parsed.kinds or parsed.mentioned or parsed.follow_up)
        if parsed.intent == "recommend" and opens and self.concepts.asked_what(parsed.text):
            parsed = replace(parsed, intent="explain")
        # "KV cache?": a glossary name alone, asked as a question, asks what it is ("experiment
        # tracking" without the question mark is a topic to list).
        fresh = opens and not (parsed.authors or parsed.topic_swap)
        if parsed.intent == "recommend" and fresh and self.concepts.bare_name(parsed.text):
            parsed = replace(parsed, intent="explain")
        if parsed.intent == "recommend" and plain and not parsed.follow_up:
            near = self.concepts.nearest(parsed.text)  # the vector the classifier already made
            if near is not None and near[1] >= SCOPE_SIMILARITY:
                parsed = replace(parsed, intent="explain")
        return parsed, topic_text

    def retrieve(
        self,
        parsed: ParsedQuery,
        topic_text: str,
        k: int = 10,
        pipeline: Pipeline = "full",
        learner: Learner | None = None,
    ) -> SearchResult:
        """Ranked resources for an understood query with the chosen pipeline (and learner)."""
        self.refresh()
        if pipeline != "full":
            retrieval = self.retriever.retrieve(parsed.original, mode=pipeline)
            scored = self.retriever.resource_scores(retrieval)
            ranked = sorted(((r, s) for r, (s, _) in scored.items()), key=lambda p: -p[1])[:k]
            return SearchResult(self.retriever.hits(scored, ranked), parsed, topic_text)
        if parsed.intent == "smalltalk":
            return SearchResult([], parsed, topic_text)
        has_signal = bool(parsed.topics or parsed.mentioned or parsed.authors or parsed.restrict_to)
        # The words left once the role and the cues are read may name nothing within the field
        # ("as an engineering manager, what should I read about ML?", "how do I run an ML
        # team?", "any free books?"): the path is the answer, shaped by what they did say.
        generic = is_generic(parsed.original) or is_generic(" ".join(parsed.topic_words))
        generic = generic or parsed.intent == "learning_path"
        if not has_signal and not parsed.follow_up and generic:
            return self.learning_path(parsed, topic_text, k, learner)
        found = self.candidates(parsed, topic_text, learner)
        parsed, answering = found.parsed, found.documents
        # A question about a glossary concept is in scope, by its name or by its meaning.
        if found.out_of_scope and not self.concepts.in_scope(parsed.original):
            return SearchResult([], replace(parsed, intent="out_of_scope"), topic_text)
        candidates, signals = found.resources, found.signals
        learned = dict(zip(found.ids, self.ranker.score(found.rows), strict=True))
        # A learner's filters and diversity pick from every candidate, not just the top k.
        depth = k if learner is None else len(candidates)
        # Evidence for the follow-up floor: the fused retrieval share; an answering document
        # passed DOCUMENT_SIMILARITY already.
        support = {i: signals.features.get(i, {}).get("hybrid", 0.0) for i in candidates}
        support.update(dict.fromkeys(answering, 1.0))
        # Every passing candidate, scaled as the ranked ones are: what the glossary adds must
        # be on the same 0..1 scale as the rest, or the composer's floor compares raw scores
        # (negative for most) with shares of the best.
        scaled = rank(candidates, learned, parsed, len(candidates), support)
        # What retrieval found first is evidence for the concept a question means (issue 13).
        parsed = replace(parsed, retrieved=tuple(i for i, _ in scaled[:SUPPORT_DEPTH]))
        ranked = scaled[:depth]
        ranked += self._taught(parsed, ranked, dict(scaled))
        ranked = far_levels_last(ranked, candidates, parsed.level)
        if not ranked and parsed.restrict_to:  # none of those fit: widen to the same topic
            parsed = replace(parsed, restrict_to=(), follow_up="same-topic")
            ranked = rank(candidates, learned, parsed, depth, support)
            if not ranked and parsed.kinds:  # nor anything of that kind: any kind on it
                parsed = replace(parsed, kinds=())
                ranked = rank(candidates, learned, parsed, depth, support)
        personal = None
        if learner is not None:
            documents = [(i, s) for i, s in ranked if i in answering]
            personal = self.personalizer.personalize(
                [(i, s) for i, s in ranked if i not in answering],
                learner.profile,
                learner.ratings,
                k,
                level_from_query=bool(parsed.level),
            )
            ranked = _with_documents(personal.ranked, documents)[:k]
        ranked = prefer_verified(ranked, self.catalog, named=parsed.mentioned)  # issue 13
        scored = {i: (learned.get(i, 0.0), signals.evidence.get(i)) for i, _ in ranked}
        # Each citation quotes what its passage says of the subject asked about, where it can.
        named = [c.id for c in self.concepts.named_in(parsed.original)]
        on_subject = self.parser.speaks_of(parsed.topics, named)
        # Whether an off-topic hit speaks of the subject matters only among one kind asked for.
        checked = parsed.topics if parsed.kinds else ()
        hits = found.retriever.hits(scored, ranked, on_subject, checked)
        elsewhere = self._elsewhere(parsed, candidates, learned, support)
        return SearchResult(hits, parsed, topic_text, personal, elsewhere)

    def _elsewhere(
        self,
        parsed: ParsedQuery,
        candidates: Mapping[str, Resource],
        learned: Mapping[str, float],
        support: Mapping[str, float],
    ) -> tuple[Resource, ...]:
        """The best resources on the subject asked about in the kinds not asked for: on its
        catalog topics, or what the glossary says teaches the concept it names."""
        # Topics named as one subject ("LLM serving") are covered together or not at all.
        subjects = [set(g) for g in parsed.compound_topics] or [{t} for t in parsed.topics]
        teaching = {rid for c in subject_concepts(self.concepts, parsed) for rid in c.resources}
        if not (parsed.kinds and (subjects or teaching)):
            return ()

        def on_subject(resource: Resource) -> bool:
            if subjects:
                return any(s <= set(resource.topics) for s in subjects)
            return resource.id in teaching

        loose = rank(candidates, learned, replace(parsed, kinds=()), len(candidates), support)
        loose = prefer_verified(loose, self.catalog, named=parsed.mentioned)
        found = [
            candidates[rid]
            for rid, _ in loose
            if candidates[rid].kind not in parsed.kinds and on_subject(candidates[rid])
        ]
        if all(kind in READING_KINDS for kind in parsed.kinds):  # asked to read: reading first
            found.sort(key=lambda r: r.kind not in READING_KINDS)
        level = parsed.level
        if level in LEVELS:  # "something more beginner friendly?": that level first
            found.sort(key=lambda r: level_gap(r.level, str(level)))
        return tuple(found[:ELSEWHERE])

    def candidates(
        self, parsed: ParsedQuery, topic_text: str, learner: Learner | None = None
    ) -> Candidates:
        """Every candidate of an understood question with its ranker features (what the
        full pipeline ranks, and what `make train-ranker` learns from)."""
        # A follow-up is retrieved by its resolved topic; a fresh question by its own words,
        # less when and for how long ("in a month" would find The Mythical Man-Month).
        query_text = (
            f"{topic_text} {' '.join(parsed.kinds)}".strip()
            if parsed.follow_up
            else without_timeframes(parsed.text)
        )
        like = self.catalog.resources.get(parsed.similar_to)  # gone from the catalog: ignored
        # "I've read DDIA, what's next on monitoring?" names its own subject: monitoring, with
        # DDIA left out, not what is most like DDIA.
        onward = like is not None and like.id in parsed.finished and bool(parsed.topics)
        if like is not None and not onward:  # "more like X": X's own description is the query
            query_text = f"{like.title}. {like.summary} {like.best_for} {topic_text}".strip()
            # Of another format ("is there a course on it?", "books like DDIA"), only what is on
            # its main subject is like it: a course that shares a side topic is not.
            like_topics = (
                like.topics[:1] if parsed.kinds and like.kind not in parsed.kinds else like.topics
            )
            parsed = replace(
                parsed,
                topics=parsed.topics or like_topics,
                exclude=tuple(dict.fromkeys((*parsed.exclude, like.id))),
            )
        expansion = " ".join(t.replace("-", " ") for t in parsed.topics)
        if learner is not None:  # a role or goal widens the search towards what it needs
            expansion = f"{expansion} {learner.profile.expansion()}".strip()
        retriever = self.retriever
        signals = retriever.signals(query_text, expansion=expansion)
        # A document is a candidate when it is close enough to answer, or the conversation
        # carries it; only then does it make the question in scope.
        answering = {
            doc: resource
            for doc, resource in retriever.documents.items()
            if signals.features.get(doc, {}).get("doc_dense", 0.0) >= DOCUMENT_SIMILARITY
            or doc in parsed.restrict_to
        }
        resources: dict[str, Resource] = {**self.catalog.resources, **answering}
        ids = list(resources)
        rows = [feature_row(signals.features.get(i, {}), resources[i], parsed) for i in ids]
        return Candidates(
            parsed=parsed,
            retriever=retriever,
            signals=signals,
            resources=resources,
            documents=answering,
            ids=ids,
            rows=rows,
            out_of_scope=out_of_scope(parsed, signals.top_similarity, bool(answering)),
        )

    def _taught(
        self,
        parsed: ParsedQuery,
        ranked: list[tuple[str, float]],
        scored: Mapping[str, float],
    ) -> list[tuple[str, float]]:
        """For "what is X?", "X vs Y?" and "papers about X" (X a glossary concept, not a catalog
        topic): the resources the glossary says teach X (and Y) that retrieval missed, so the
        answer can point to them."""
        shown = {rid for rid, _ in ranked}
        extra: list[tuple[str, float]] = []
        concepts = asked_concepts(self.concepts, parsed)
        for concept in concepts or subject_concepts(self.concepts, parsed):
            for rid in concept.resources:
                resource = self.catalog.resources.get(rid)
                if rid not in shown and resource is not None and passes(resource, parsed):
                    extra.append((rid, scored.get(rid, 0.0)))
                    shown.add(rid)
        return extra

    def learning_path(
        self, parsed: ParsedQuery, topic_text: str, k: int, learner: Learner | None
    ) -> SearchResult:
        """An ordered path for a request with no subject ("where do I start?"), for the role
        the message gives ("I'm a data analyst, ...") when the learner's profile gives none."""
        learner = learner or Learner(Profile())
        # What the message asks ("I only have weekends, what's a good course?", "free stuff to
        # start with") shapes the path as the same profile fields would; a role or level the
        # profile already has stays.
        said: dict[str, object] = {}
        if parsed.role and not learner.profile.role:
            said["role"] = parsed.role
        if parsed.level and not learner.profile.level:
            said["level"] = parsed.level
        if parsed.free_only:
            said["budget"] = "free"
        if said:
            learner = replace(learner, profile=learner.profile.model_copy(update=said))
        # A kind asked for is a constraint, not a preference: the path is drawn from it alone.
        path = self.personalizer.learning_path(
            learner.profile, learner.ratings, k, kinds=parsed.kinds
        )
        parsed = replace(parsed, intent="learning_path")
        ranked = prefer_verified(path.ranked, self.catalog, study_order=True)  # issue 13
        ranked = [p for p in ranked if p[0] not in parsed.finished]  # read already
        return SearchResult(self.retriever.hits({}, ranked), parsed, topic_text, path)

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
        if resource_id is not None and self.resource(resource_id) is None:
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
            result = self.learning_path(parsed, topic_text, k * CANDIDATES_PER_SLOT, learner)
        else:
            result = self.retrieve(parsed, topic_text, k=k * CANDIDATES_PER_SLOT, learner=learner)
        return self.composer.compose(
            result.parsed, result.hits, result.topic_text, result.personal, limit=k
        )

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
        text, session, inputs = self._turn_inputs(message, session_id, user_id, k, token)
        answer: Answer = self.chain.invoke(inputs)
        answer.session_id = session.id
        self._remember(session, text, answer)
        return answer

    def ask_stream(
        self,
        message: str,
        session_id: str | None = None,
        user_id: str | None = None,
        k: int = 5,
        token: str | None = None,
    ) -> Iterator[str | Answer]:
        """`ask`, with the LLM's text yielded token by token as it arrives, then the checked
        `Answer` (the composed one if the LLM's fails the checks). Without an LLM, only the
        `Answer`. Bad input raises here, before anything is yielded."""
        text, session, inputs = self._turn_inputs(message, session_id, user_id, k, token)
        composed: Answer = self.compose_chain.invoke(inputs)
        return self._stream(session, text, composed)

    def _turn_inputs(
        self,
        message: str,
        session_id: str | None,
        user_id: str | None,
        k: int,
        token: str | None,
    ) -> tuple[str, Session, dict[str, Any]]:
        """Checked input of one turn: the message, its session and the chain's inputs."""
        text = self._check_message(message)
        self._check_k(k)
        session = self.session(session_id, user_id, token)
        learner = self.learner(user_id, token) if user_id else None
        return text, session, {"message": text, "previous": session.context, "k": k,
                               "learner": learner}  # fmt: skip

    def _stream(self, session: Session, text: str, answer: Answer) -> Iterator[str | Answer]:
        if self.generator is not None and needs_llm(answer):
            pieces: list[str] = []
            try:
                for piece in stream_pieces(self.generator, text, answer):
                    pieces.append(piece)
                    yield piece
            except GeneratorError as exc:
                answer = unavailable(answer, exc)
            else:
                answer = checked(answer, "".join(pieces), self.generator.name, self.checker)
        answer.session_id = session.id
        self._remember(session, text, answer)
        yield answer

    def _remember(self, session: Session, text: str, answer: Answer) -> None:
        self.storage.append_turn(session, _turn(text, answer))

    def ask_in_context(
        self,
        history: Sequence[str],
        message: str,
        user_id: str | None = None,
        k: int = 5,
        token: str | None = None,
    ) -> Answer:
        """One turn after earlier messages the client kept itself (an OpenAI `messages` list).

        The earlier messages (at most the latest `MAX_REPLAYED_TURNS`) are resolved in order,
        as a stored session would have resolved them, so "any of those free?" refers to the
        answer before it. Nothing is stored: the client holds the conversation.
        """
        text = self._check_message(message)
        earlier = [self._check_message(said) for said in history][-MAX_REPLAYED_TURNS:]
        self._check_k(k)
        learner = self.learner(user_id, token) if user_id else None
        session = Session(id="", user_id=user_id)
        answer: Answer | None = None
        for said in (*earlier, text):
            answer = self.chain.invoke(
                {"message": said, "previous": session.context, "k": k, "learner": learner}
            )
            session.turns.append(_turn(said, answer))
        assert answer is not None  # the loop ran at least once, for `text`
        return answer


def _with_documents(
    ranked: Sequence[tuple[str, float]], documents: Sequence[tuple[str, float]]
) -> list[tuple[str, float]]:
    """The personalizer's list in its own order (formats lead, feedback, diversity), with the
    user's documents placed by score: sorting the whole list by score would undo that order."""
    out = list(ranked)
    for doc, score in sorted(documents, key=lambda p: -p[1]):
        at = next((n for n, (_, s) in enumerate(out) if s < score), len(out))
        out.insert(at, (doc, score))
    return out


def _turn(text: str, answer: Answer) -> Turn:
    """What a session remembers of one answered message (stored, or replayed in memory). With
    nothing of the kind asked, the resources it named instead ("On feature stores, it has A, B
    and C") are what "the second one" or "any of those free?" refer to."""
    shown = [item.resource.id for item in answer.items] or [r.id for r in answer.elsewhere]
    return Turn(
        message=text,
        query_used=answer.query_used,
        resource_ids=tuple(shown),
        answer=answer.text,
        intent=answer.intent,
        topic_text=str(answer.query_used.get("topic_text", "")),
    )


def build_assistant(
    settings: Settings,
    embedder: Embedder | None = None,
    storage: Storage | None = None,
    ranker: Ranker | None = None,
    warm: bool = True,
) -> Assistant:
    """Wire the assistant from settings: catalog, store, embedder, storage (sessions and users,
    `MLSD_DATABASE_URL`, by default `MLSD_DATA_DIR/assistant.sqlite3`)."""
    catalog = load_catalog(settings.corpus_dir)
    store = open_store(settings)
    embedder = embedder or make_embedder(
        settings.embedding_model,
        settings.embed_batch_size,
        settings.query_encoder,
        settings.onnx_dir,
    )
    storage = storage or open_storage(settings)
    concepts = load_concepts(settings.corpus_dir, catalog)
    assistant = Assistant(
        settings, catalog, store, embedder, storage, make_generator(settings), ranker, concepts
    )
    if warm:  # a server warms up; a one-shot CLI question warms what it uses anyway
        assistant.warm_up()
    return assistant
