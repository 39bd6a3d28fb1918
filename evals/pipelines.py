"""Evals stage: the retrieval pipelines under test, each a query -> ranked resource ids callable."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.catalog import Resource
from ingest.embedding import Embedder
from ingest.linking import ResourceLinker

if TYPE_CHECKING:
    from assistant.service import Assistant

PIPELINES = ("baseline", "ensemble", "bm25", "dense", "hybrid", "full")
K = 10
# The query a profile-only recommendation is retrieved with while `recommend` does not exist.

Ranker = Callable[[str], list[str]]


@dataclass(frozen=True)
class Timed:
    """A ranking and how long it took."""

    ids: list[str]
    latency_ms: float


def timed(ranker: Ranker, query: str) -> Timed:
    """Run one query through a pipeline, measuring wall-clock latency."""
    started = time.perf_counter()
    ids = ranker(query)
    return Timed(ids, (time.perf_counter() - started) * 1000)


def assistant_ranker(assistant: Assistant, pipeline: str, k: int = K) -> Ranker:
    """A pipeline of the assistant itself ("bm25", "dense", "hybrid" or "full")."""

    def rank(query: str) -> list[str]:
        result = assistant.search(query, k=k, pipeline=pipeline)  # type: ignore[arg-type]
        return [hit.resource.id for hit in result.hits]

    return rank


class _EmbeddingsAdapter:
    """Our embedder behind LangChain's `Embeddings` interface (so nothing is downloaded)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0]


class BaselineRag:
    """What a typical tutorial builds: raw files, fixed-size chunks, one vector search.

    The source files are read as they are (no encoding repair, no boilerplate removal, no
    resource cards), split by LangChain's `RecursiveCharacterTextSplitter(1000, 200)`, embedded
    with the project's embedder into their own Chroma collection, and searched with
    `similarity_search(query, k=10)`. Resources are recovered from the returned chunks by title
    match, in rank order. It is the reference the project's pipelines have to beat.
    """

    def __init__(
        self,
        sources: Sequence[Path],
        embedder: Embedder,
        linker: ResourceLinker,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_core.embeddings import Embeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        class LangChainEmbeddings(_EmbeddingsAdapter, Embeddings):
            pass

        documents = [
            Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.name})
            for path in sorted(sources)
        ]
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=chunk_overlap
        )
        self.chunks = splitter.split_documents(documents)
        self._client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self._name = f"eval-baseline-{uuid.uuid4().hex[:12]}"
        self._store: Any = Chroma.from_documents(
            self.chunks,
            embedding=LangChainEmbeddings(embedder),
            collection_name=self._name,
            client=self._client,
        )
        self._linker = linker

    def __call__(self, query: str, k: int = K) -> list[str]:
        """Resource ids named in the k most similar chunks, in rank order, deduplicated."""
        found: dict[str, None] = {}
        for document in self._store.similarity_search(query, k=k):
            for resource_id in self._linker.find(document.page_content):
                found.setdefault(resource_id, None)
        return list(found)[:k]

    def close(self) -> None:
        """Drop the in-memory collection."""
        self._client.delete_collection(self._name)


def resource_document_text(resource: Resource) -> str:
    """A catalog resource as one Document: title, authors, kind, topics, summary, best_for."""
    authors = f" by {', '.join(resource.authors)}" if resource.authors else ""
    topics = ", ".join(t.replace("-", " ") for t in resource.topics)
    return (
        f"{resource.title}{authors}\n{resource.kind}. Topics: {topics}.\n"
        f"{resource.summary.strip()}\nBest for: {resource.best_for.strip()}"
    )


class EnsembleBaseline:
    """The strong off-the-shelf baseline: LangChain's `EnsembleRetriever` over the catalog.

    One Document per catalog resource (title, authors, kind, topics, summary, best_for), ranked
    by a `BM25Retriever` (rank-bm25) and a dense retriever (an `InMemoryVectorStore` with the
    project's embedder) fused with weighted reciprocal rank fusion at weights 0.5/0.5 and
    LangChain's default c = 60. Each retriever returns K documents, as many as are scored.
    """

    def __init__(self, resources: Sequence[Resource], embedder: Embedder, k: int = K) -> None:
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_core.documents import Document
        from langchain_core.embeddings import Embeddings
        from langchain_core.vectorstores import InMemoryVectorStore

        class LangChainEmbeddings(_EmbeddingsAdapter, Embeddings):
            pass

        documents = [
            Document(page_content=resource_document_text(r), metadata={"id": r.id})
            for r in resources
        ]
        bm25 = BM25Retriever.from_documents(documents, k=k)
        dense = InMemoryVectorStore.from_documents(documents, LangChainEmbeddings(embedder))
        self._retriever: Any = EnsembleRetriever(
            retrievers=[bm25, dense.as_retriever(search_kwargs={"k": k})],
            weights=[0.5, 0.5],
            id_key="id",
        )
        self._k = k

    def __call__(self, query: str) -> list[str]:
        """Resource ids, best first."""
        found = self._retriever.invoke(query)
        return [str(d.metadata["id"]) for d in found][: self._k]


def build_ensemble(assistant: Assistant, embedder: Embedder) -> EnsembleBaseline:
    """The ensemble baseline over the assistant's catalog, with the same embedder."""
    return EnsembleBaseline(list(assistant.catalog.resources.values()), embedder)


def build_baseline(assistant: Assistant, embedder: Embedder) -> BaselineRag:
    """The tutorial baseline over the assistant's raw source files, with the same embedder."""
    sources = sorted(assistant.settings.sources_dir.glob("*.txt"))
    linker = ResourceLinker(assistant.catalog.resources.values())
    return BaselineRag(sources, embedder, linker)


def make_pipelines(
    assistant: Assistant, baseline: BaselineRag, ensemble: Ranker | None = None
) -> dict[str, Ranker]:
    """Every pipeline by name, in report order."""
    rankers: dict[str, Ranker] = {"baseline": baseline}
    if ensemble is not None:
        rankers["ensemble"] = ensemble
    for name in PIPELINES[2:]:
        rankers[name] = assistant_ranker(assistant, name)
    return rankers


def personalized_ranking(
    assistant: Assistant, profile: dict[str, Any], query: str | None, k: int = K
) -> list[str]:
    """Resource ids `assistant.recommend` gives a profile (and optional topic), best first."""
    recommended = assistant.recommend(profile=profile, topic=(query or "").strip() or None, k=k)
    return [item.resource.id for item in recommended.items]
