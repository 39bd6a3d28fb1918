"""Assistant stage: hybrid retrieval (BM25 + dense, fused with RRF), aggregated to resources."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import pysbd

from assistant.keyword import Bm25Index, KeywordIndex
from ingest.catalog import Catalog, Resource
from ingest.chunking import Chunk
from ingest.embedding import Embedder
from ingest.linking import normalize
from ingest.store import VectorStore

Mode = Literal["bm25", "dense", "hybrid"]
DOCUMENT = "document"  # the kind of a result that is one of the user's own documents
# Reciprocal-rank constant of the rank features: LangChain's EnsembleRetriever default (c = 60,
# from Cormack et al., SIGIR 2009), so one feature is exactly the baseline's fused score.
RRF_C = 60
# Trust of a passage's source as a number for the ranker: the catalog's order of trust levels.
TRUST = {"high": 1.0, "medium": 0.66, "user": 0.5, "low": 0.33}


@dataclass(frozen=True)
class Hit:
    """A resource found for a query, with the passage that best supports it."""

    resource: Resource
    score: float
    evidence: Chunk | None  # best source passage mentioning the resource (for the citation)
    snippet: str
    # Whether its own description or the passage quoted speaks of the subject asked about
    # (True when nothing was asked about, or nobody checked).
    speaks: bool = True


@dataclass
class Signals:
    """Retrieval evidence for every candidate of one query, before the ranker weighs it."""

    top_similarity: float  # best dense similarity over the catalog's own chunks
    features: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> signals
    evidence: dict[str, str] = field(default_factory=dict)  # candidate -> best chunk id


@dataclass(frozen=True)
class Retrieval:
    """Chunk-level results of one query, before aggregation."""

    fused: dict[str, float]  # chunk id -> fused score
    top_similarity: float  # best dense cosine similarity (for out-of-scope detection)


_LABEL = re.compile(r"^(link|where to join|url|website)\s*:", re.IGNORECASE)


_SEGMENTER = pysbd.Segmenter(language="en", clean=False)


def _cut(text: str, limit: int) -> str:
    """A text within `limit` characters, cut at a word with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# A passage is cut into sentences once (about 5 ms for 175 words); a few thousand passages cover
# the catalog's chunks and the documents an answer cites in a session.
@lru_cache(maxsize=4096)
def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences and lines of a passage. pysbd keeps initials and abbreviations inside their
    sentence ("by D. Sculley et al."), where a split on every full stop cut "by D."."""
    parts = (s for line in text.splitlines() for s in _SEGMENTER.segment(line))
    return tuple(p.strip(" |-\n") for p in parts if len(p.strip(" |-\n")) > 3)


class HybridRetriever:
    """Ranks chunks with BM25 and dense search, fuses them, and scores resources from them."""

    def __init__(
        self,
        catalog: Catalog,
        store: VectorStore,
        embedder: Embedder,
        keyword: KeywordIndex | None = None,
        depth: int = 60,
        rrf_k: int = 20,
        card_weight: float = 1.0,
        passage_weight: float = 0.6,
        spread: float = 0.15,
        keyword_weight: float = 1.0,
        dense_weight: float = 0.5,
    ) -> None:
        self.catalog = catalog
        self._store = store
        self._embedder = embedder
        # The catalog's own chunks (cards and corpus passages) stay in memory for evidence and
        # snippets; the user's documents, which may be thousands, stay in the store: only
        # their chunk ids and one record per document are kept, and texts are fetched per hit.
        self.chunks: dict[str, Chunk] = {}
        self.document_of: dict[str, str] = {}  # user chunk id -> document id
        self.documents: dict[str, Resource] = {}
        ids: list[str] = []
        texts: list[str] = []
        for page in store.pages():  # paged: a single read fails past 32,766 chunks
            for chunk in page:
                ids.append(chunk.id)
                texts.append(chunk.text)
                if chunk.trust == "user":
                    self.document_of[chunk.id] = chunk.doc_id
                    if chunk.doc_id not in self.documents:
                        self.documents[chunk.doc_id] = document_resource(chunk)
                else:
                    self.chunks[chunk.id] = chunk
        self.size = len(ids)
        self._keyword = keyword or Bm25Index(ids, texts)
        del texts
        self._depth = min(depth, max(1, self.size))
        cards = [c for c in self.chunks.values() if c.kind == "card" and c.resource_ids]
        self._card_of = [c.resource_ids[0] for c in cards]
        self._card_index = Bm25Index([c.id for c in cards], [c.text for c in cards])
        self._card_rid = {c.id: c.resource_ids[0] for c in cards}
        vectors = store.vectors([c.id for c in cards])
        self._card_vectors = np.array(
            [vectors.get(c.id, [0.0] * embedder.dimension) for c in cards], dtype=np.float32
        ).reshape(len(cards), embedder.dimension)  # (0, d) for an empty index, not an error
        self._rrf_k = rrf_k
        self._card_weight = card_weight
        self._passage_weight = passage_weight
        self._spread = spread
        self._keyword_weight = keyword_weight
        self._dense_weight = dense_weight
        # One pattern per resource for snippets: the passage is already linked to the resource,
        # so only its own names need finding (the whole-catalog linker costs ~3 ms a sentence).
        self._names = {
            r.id: re.compile(
                r"(?<![\w])(" + "|".join(re.escape(normalize(n)) for n in r.names) + r")(?![\w])"
            )
            for r in catalog.resources.values()
        }
        self.passages_of: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in sorted(self.chunks.values(), key=lambda c: (c.doc_id, c.position)):
            if chunk.kind == "passage":
                for resource_id in chunk.resource_ids:
                    self.passages_of[resource_id].append(chunk)

    def embed_query(self, text: str) -> list[float]:
        """The query vector (same model the index was built with)."""
        return self._embedder.embed([text])[0]

    def retrieve(self, text: str, mode: Mode = "hybrid", expansion: str = "") -> Retrieval:
        """Chunk scores for a query: weighted reciprocal rank fusion of the keyword and dense
        rankings.

        The dense ranking weighs half as much as the keyword one: on the dev split the small
        embedding model is the weaker ranker (nDCG@10 0.60 against 0.69), and at equal weight
        it pulls good keyword matches out of the top five; at half weight the fusion beats each
        alone on nDCG@10 and on grade-2 recall.
        """
        rankings: list[tuple[float, list[str]]] = []
        top_similarity = 0.0
        if mode in ("dense", "hybrid"):
            dense = self._store.query(self.embed_query(text), self._depth)
            rankings.append((self._dense_weight, [chunk_id for chunk_id, _ in dense]))
            own = [sim for chunk_id, sim in dense if chunk_id not in self.document_of]
            top_similarity = own[0] if own else 0.0
        if mode in ("bm25", "hybrid"):
            keyword_query = f"{text} {expansion}".strip()
            found = [i for i, _ in self._keyword.search(keyword_query, self._depth)]
            rankings.append((self._keyword_weight, found))
        return Retrieval(fused=self._fuse(rankings), top_similarity=top_similarity)

    def _fuse(self, rankings: list[tuple[float, list[str]]]) -> dict[str, float]:
        fused: dict[str, float] = defaultdict(float)
        for weight, ranking in rankings:
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] += weight / (self._rrf_k + rank + 1)
        return dict(fused)

    def signals(self, text: str, expansion: str = "") -> Signals:
        """Every candidate's retrieval evidence for a query: BM25 and dense scores of its card,
        of its best passages and, for a user's document, of its best chunks.

        Scores are divided by the query's best so they compare across queries; ranks enter as
        reciprocal ranks (RRF_C). Candidates are every resource (cards are few) and every user
        document with a chunk in either top `depth`.
        """
        vector = np.asarray(self.embed_query(text), dtype=np.float32)
        found = Signals(top_similarity=0.0)
        feats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        # Cards: every resource gets both card scores.
        card_dense = self._card_vectors @ vector if len(self._card_of) else np.zeros(0)
        for rank, i in enumerate(np.argsort(-card_dense, kind="stable")):
            f = feats[self._card_of[int(i)]]
            f["card_dense"] = float(card_dense[i])
            f["card_dense_rrf"] = 1.0 / (RRF_C + rank + 1)
        for name, query in (("card_bm25", text), ("card_bm25_expanded", f"{text} {expansion}")):
            hits = self._card_index.search(query.strip(), len(self._card_of))
            best = hits[0][1] if hits else 1.0
            for rank, (card_id, score) in enumerate(hits):
                f = feats[self._card_rid[card_id]]
                f[name] = score / best
                f[f"{name}_rrf"] = 1.0 / (RRF_C + rank + 1)
        for f in feats.values():
            f["card_rrf"] = 0.5 * f["card_dense_rrf"] + 0.5 * f["card_bm25_rrf"]
        # Passages and the user's documents, from the top `depth` of each ranking.
        dense = self._store.query(vector.tolist(), self._depth)
        own = [sim for chunk_id, sim in dense if chunk_id not in self.document_of]
        found.top_similarity = own[0] if own else 0.0
        keyword = self._keyword.search(f"{text} {expansion}".strip(), self._depth)
        best_keyword = keyword[0][1] if keyword else 1.0
        best_chunk: dict[str, tuple[float, str]] = {}
        for name, ranking in (("dense", dense), ("bm25", keyword)):
            for chunk_id, raw in ranking:
                score = raw if name == "dense" else raw / best_keyword
                document = self.document_of.get(chunk_id)
                if document is not None:
                    targets: tuple[str, ...] = (document,)
                    prefix = "doc"
                else:
                    chunk = self.chunks.get(chunk_id)
                    if chunk is None or chunk.kind != "passage":
                        continue
                    targets, prefix = chunk.resource_ids, "passage"
                for target in targets:
                    f = feats[target]
                    f[f"{prefix}_{name}"] = max(f[f"{prefix}_{name}"], score)
                    f[f"{prefix}_{name}_count"] += 1.0
                    if prefix == "passage":
                        trust = TRUST.get(self.chunks[chunk_id].trust, 0.5)
                        f["passage_trust"] = max(f["passage_trust"], trust)
                    if name == "dense" and score > best_chunk.get(target, (-1.0, ""))[0]:
                        best_chunk[target] = (score, chunk_id)
                    elif name == "bm25" and target not in best_chunk:
                        best_chunk[target] = (-1.0, chunk_id)
        # The hand-weighted fusion of the first version, as one more signal for the ranker.
        fused = self._fuse(
            [
                (self._dense_weight, [i for i, _ in dense]),
                (self._keyword_weight, [i for i, _ in keyword]),
            ]
        )
        hybrid = self.resource_scores(Retrieval(fused, found.top_similarity))
        best_hybrid = max((score for score, _ in hybrid.values()), default=0.0) or 1.0
        for resource_id, (score, _) in hybrid.items():
            feats[resource_id]["hybrid"] = score / best_hybrid
        found.features = {k: dict(v) for k, v in feats.items()}
        found.evidence = {k: v[1] for k, v in best_chunk.items()}
        return found

    def resource_scores(self, retrieval: Retrieval) -> dict[str, tuple[float, str | None]]:
        """Resource id -> (score, best supporting passage id).

        A resource scores from its own card and from the passages that name it; a passage that
        names many resources (a tool table) gives each a smaller share. The best contribution
        counts fully and the rest add a little, so being discussed in several places helps.
        """
        contributions: dict[str, list[float]] = defaultdict(list)
        best_passage: dict[str, tuple[float, str]] = {}
        for chunk_id, score in retrieval.fused.items():
            chunk = self.chunks.get(chunk_id)
            if chunk is None:
                continue
            if chunk.kind == "card":
                for resource_id in chunk.resource_ids:
                    contributions[resource_id].append(self._card_weight * score)
                continue
            share = self._passage_weight * score / max(1, len(chunk.resource_ids)) ** 0.5
            for resource_id in chunk.resource_ids:
                contributions[resource_id].append(share)
                if score > best_passage.get(resource_id, (0.0, ""))[0]:
                    best_passage[resource_id] = (score, chunk_id)
        scores: dict[str, tuple[float, str | None]] = {}
        for resource_id, values in contributions.items():
            values.sort(reverse=True)
            total = values[0] + self._spread * sum(values[1:])
            scores[resource_id] = (total, best_passage.get(resource_id, (0.0, None))[1])
        return scores

    def evidence_for(self, resource_id: str, passage_id: str | None) -> Chunk | None:
        """The passage to cite for a resource: the best retrieved one, else its first mention.

        A user's document cites its best chunk, fetched from the store."""
        if passage_id and passage_id in self.chunks:
            return self.chunks[passage_id]
        if passage_id and passage_id in self.document_of:
            fetched = self._store.get([passage_id])
            return fetched[0] if fetched else None
        passages = self.passages_of.get(resource_id, [])
        trust_order = {"high": 0, "medium": 1, "user": 2, "low": 3}
        return min(passages, key=lambda c: trust_order.get(c.trust, 2), default=None)

    def snippet(
        self,
        resource: Resource,
        chunk: Chunk | None,
        limit: int = 280,
        on_subject: Callable[[str], bool] | None = None,
    ) -> str:
        """The sentences of the passage that speak about this resource; with `on_subject`, the
        one of them that speaks of what was asked, where the resource has a passage of its own
        ("His posts on feature stores ..." rather than the line introducing the author)."""
        if chunk is None:
            return resource.summary[:limit]
        sentences = split_sentences(chunk.body)
        if resource.kind == DOCUMENT:  # the user's own text: its opening sentences
            return _cut(" ".join(sentences[:2]), limit)
        names = self._names[resource.id]
        naming = [
            i for i, s in enumerate(sentences) if names.search(normalize(s)) and not _LABEL.match(s)
        ]
        first = sentences[naming[0]] if naming else ""
        if naming and len(first) < 60 and first[-1] not in ".!?" and naming[0] + 1 < len(sentences):
            # A bare title line: the next sentence says what it is.
            picked = f"{sentences[naming[0]]}: {sentences[naming[0] + 1]}"
        elif naming:
            picked = sentences[naming[0]]
        elif resource.id in chunk.resource_ids and chunk.heading and sentences:
            picked = sentences[0]  # the heading names it; the body describes it
        else:
            picked = " ".join(sentences[:2])
        own = bool(chunk.heading and names.search(normalize(chunk.heading)))
        if on_subject is not None and own and not on_subject(picked):
            # Its own passage: every sentence is about it, and one may be about the subject.
            apt = [s for s in sentences if on_subject(s) and not _LABEL.match(s)]
            if apt and apt[0] not in picked:
                joined = f"{picked} {apt[0]}"
                picked = joined if len(joined) <= limit else apt[0]
        return _cut(picked, limit)

    def hits(
        self,
        scored: dict[str, tuple[float, str | None]],
        ids: Sequence[tuple[str, float]],
        on_subject: Callable[[str], bool] | None = None,
        topics: Collection[str] = (),
    ) -> list[Hit]:
        """Hits for ranked (resource id, score) pairs, each with evidence and a snippet.

        `scored` is what `resource_scores` returned for the same query: it names each
        resource's best supporting passage. A hit sharing none of `topics` is checked for
        whether it speaks of the subject (`on_subject`); the rest are taken to.
        """
        found: list[Hit] = []
        for resource_id, score in ids:
            resource = self.catalog.resources.get(resource_id) or self.documents[resource_id]
            evidence = self.evidence_for(resource_id, scored.get(resource_id, (0.0, None))[1])
            snippet = self.snippet(resource, evidence, on_subject=on_subject)
            off = bool(topics) and not set(topics) & set(resource.topics)
            speaks = (
                not off
                or on_subject is None
                or any(on_subject(text) for text in (resource.summary, resource.best_for, snippet))
            )
            found.append(Hit(resource, score, evidence, snippet, speaks))
        return found


def document_resource(chunk: Chunk) -> Resource:
    """A user's document as a result of kind `document`: titled by its first heading or file
    name (the chunk's source title), cited by its file name (the chunk's origin).

    Built without the catalog's validation: a document has no topics, level or summary of its
    own, and its id is the ingest document id ("user:..."), which no catalog id can be.
    """
    return Resource.model_construct(
        id=chunk.doc_id,
        title=chunk.source_title or chunk.origin,
        kind=DOCUMENT,
        authors=(),
        year=None,
        url=None,
        aliases=(),
        topics=(),
        level="intermediate",
        audience=(),
        cost="free",
        open_source=None,
        summary=f"Your document {chunk.origin}.",
        best_for="",
        mentioned_in=(chunk.origin,),
    )
