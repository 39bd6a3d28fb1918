"""Ingest stage: the vector store (Chroma, embedded or server) behind a narrow interface."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from assistant.settings import Settings
from ingest.chunking import Chunk
from ingest.embedding import model_spec


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says what to do."""


class StoreUnavailable(StoreError):
    """The configured store (e.g. a Chroma server) cannot be reached."""


class ModelMismatch(StoreError):
    """The index was built with a different embedding model than the one configured."""


class VectorStore(Protocol):
    """Where chunks and their vectors live. Ids are the chunks' deterministic ids."""

    def ids_by_doc(self) -> dict[str, set[str]]:
        """Every stored chunk id, grouped by the document it came from."""
        ...

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Insert or replace chunks with their vectors."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id (unknown ids are ignored)."""
        ...

    def query(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """The k nearest chunk ids with cosine similarity, best first."""
        ...

    def chunks(self) -> list[Chunk]:
        """Every stored chunk (without vectors)."""
        ...

    def describe(self) -> str:
        """Where the store is, for messages and summaries."""
        ...


def _metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "heading": chunk.heading,
        "position": chunk.position,
        "kind": chunk.kind,
        "source_title": chunk.source_title,
        "origin": chunk.origin,
        "trust": chunk.trust,
    }
    if chunk.resource_ids:  # Chroma rejects empty lists
        meta["resource_ids"] = list(chunk.resource_ids)
    return meta


def _chunk(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        doc_id=str(meta["doc_id"]),
        text=text,
        heading=str(meta.get("heading", "")),
        position=int(meta.get("position", 0)),
        kind=str(meta.get("kind", "passage")),
        source_title=str(meta.get("source_title", "")),
        origin=str(meta.get("origin", "")),
        trust=str(meta.get("trust", "medium")),
        resource_ids=tuple(meta.get("resource_ids") or ()),
    )


class ChromaStore:
    """Chroma adapter: a PersistentClient directory, or an HttpClient when a host is given."""

    def __init__(
        self,
        collection: str,
        model_name: str,
        dimension: int,
        path: str | None = None,
        host: str | None = None,
        port: int = 8000,
        rebuild: bool = False,
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self._where = f"Chroma server {host}:{port}" if host else f"Chroma at {path}"
        try:
            if host:
                self._client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
                self._client.heartbeat()
            else:
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:  # the client raises several unrelated types for "unreachable"
            hint = (
                f"start it (`chroma run --path DIR --host {host} --port {port}`) or unset "
                "MLSD_CHROMA_HOST to use the embedded store"
                if host
                else "check MLSD_DATA_DIR is writable"
            )
            raise StoreUnavailable(f"{self._where} is unreachable ({exc}); {hint}") from exc
        if rebuild:
            self._drop(collection)
        wanted = {"embedding_model": model_name, "embedding_dim": dimension}
        try:
            self._collection = self._client.get_or_create_collection(
                collection,
                embedding_function=None,  # Chroma's default would download a model
                configuration={"hnsw": {"space": "cosine"}},
                metadata=wanted,
            )
        except Exception as exc:
            raise StoreUnavailable(f"{self._where}: cannot open '{collection}' ({exc})") from exc
        found = self._collection.metadata or {}
        if (found.get("embedding_model"), found.get("embedding_dim")) != (model_name, dimension):
            raise ModelMismatch(
                f"the index in {self._where} was built with {found.get('embedding_model')} "
                f"({found.get('embedding_dim')} dims) but {model_name} ({dimension} dims) is "
                "configured; run `mlsd ingest --rebuild` to rebuild it with the configured model"
            )

    def _drop(self, collection: str) -> None:
        from chromadb.errors import NotFoundError

        with contextlib.suppress(NotFoundError, ValueError):  # nothing to drop yet
            self._client.delete_collection(collection)

    def describe(self) -> str:
        """Where the store is."""
        return self._where

    def ping(self) -> None:
        """Raise `StoreUnavailable` when the store stopped answering."""
        try:
            self._collection.count()
        except Exception as exc:
            raise StoreUnavailable(f"{self._where} stopped answering ({exc})") from exc

    def ids_by_doc(self) -> dict[str, set[str]]:
        """Every stored chunk id, grouped by document."""
        found = self._collection.get(include=["metadatas"])
        grouped: dict[str, set[str]] = {}
        for chunk_id, meta in zip(found["ids"], found["metadatas"] or [], strict=True):
            grouped.setdefault(str((meta or {}).get("doc_id", "")), set()).add(chunk_id)
        return grouped

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Insert or replace chunks with their vectors."""
        if not chunks:
            return
        self._collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=[list(v) for v in vectors],  # type: ignore[arg-type]
            documents=[c.text for c in chunks],
            metadatas=[_metadata(c) for c in chunks],
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        if ids:
            self._collection.delete(ids=list(ids))

    def query(self, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Nearest chunks with cosine similarity (1 - cosine distance)."""
        try:
            found = self._collection.query(
                query_embeddings=[list(vector)],  # type: ignore[arg-type]
                n_results=k,
                include=["distances"],
            )
        except Exception as exc:  # a server that went away: callers answer 503, not 500
            raise StoreUnavailable(f"{self._where} stopped answering ({exc})") from exc
        distances = (found["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(found["ids"][0], distances, strict=True)]

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, sorted by id for a stable order."""
        found = self._collection.get(include=["documents", "metadatas"])
        rows = zip(found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True)
        return sorted((_chunk(i, d, m or {}) for i, d, m in rows), key=lambda c: c.id)


def open_store(settings: Settings, rebuild: bool = False) -> ChromaStore:
    """The configured store: a Chroma server when `MLSD_CHROMA_HOST` is set, else embedded."""
    spec = model_spec(settings.embedding_model)
    return ChromaStore(
        collection=settings.collection,
        model_name=spec.name,
        dimension=spec.dimension,
        path=None if settings.chroma_host else str(settings.chroma_dir),
        host=settings.chroma_host,
        port=settings.chroma_port,
        rebuild=rebuild,
    )
