"""Ingest stage: the vector store (Chroma, embedded or server) behind a narrow interface."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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


# Rows per Chroma `get()`: an unpaged read of every row binds one SQL variable per id and fails
# past SQLite's limit of 32,766 ("too many SQL variables"); 5,000 stays far below it while a
# page of metadata is still one cheap round trip.
PAGE_SIZE = 5_000


@dataclass
class StoredDocument:
    """What the store holds of one document: its chunk ids and the fingerprint it was built from."""

    ids: set[str] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)  # one, unless a run was interrupted


class VectorStore(Protocol):
    """Where chunks and their vectors live. Ids are the chunks' deterministic ids."""

    def inventory(self) -> dict[str, StoredDocument]:
        """Every stored chunk id and fingerprint, grouped by the document it came from."""
        ...

    def set_fingerprint(self, ids: Sequence[str], fingerprint: str) -> None:
        """Record the fingerprint a document's (unchanged) chunks now stand for."""
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

    def pages(self, where: Mapping[str, Any] | None = None) -> Iterator[list[Chunk]]:
        """Every stored chunk (matching `where`), a page at a time, without vectors."""
        ...

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        """The stored chunks with these ids (unknown ids are left out)."""
        ...

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of these chunks."""
        ...

    def version(self) -> str:
        """The index version: changes whenever an ingest changed what the store holds."""
        ...

    def bump_version(self) -> str:
        """Record a new index version (after an ingest changed something) and return it."""
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
        "fingerprint": chunk.fingerprint,
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
        fingerprint=str(meta.get("fingerprint", "")),
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

        self._args = (collection, model_name, dimension, path, host, port)
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
        self._name = collection
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

    def reopen(self) -> ChromaStore:
        """A fresh handle on the same store, seeing what another process wrote since.

        An embedded Chroma keeps its vector index in memory per process and per path, so a
        server would not find chunks a later `mlsd ingest` added: the cached system for this
        path is dropped (only it) and the client opened again. A Chroma server needs none of
        this, but a fresh handle is harmless.
        """
        from chromadb.api.shared_system_client import SharedSystemClient

        collection, model_name, dimension, path, host, port = self._args
        if not host:
            SharedSystemClient._identifier_to_system.pop(str(path), None)
        return ChromaStore(collection, model_name, dimension, path, host, port)

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

    def _read(self, include: list[Any], where: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """`collection.get` a page at a time (see PAGE_SIZE), in Chroma's stable order."""
        offset = 0
        while True:
            found = self._collection.get(
                where=dict(where) if where else None,
                include=include,
                limit=PAGE_SIZE,
                offset=offset,
            )
            if not found["ids"]:
                return
            yield found
            offset += len(found["ids"])

    def inventory(self) -> dict[str, StoredDocument]:
        """Every stored chunk id and fingerprint, grouped by document."""
        grouped: dict[str, StoredDocument] = {}
        for found in self._read(["metadatas"]):
            for chunk_id, meta in zip(found["ids"], found["metadatas"] or [], strict=True):
                meta = meta or {}
                entry = grouped.setdefault(str(meta.get("doc_id", "")), StoredDocument())
                entry.ids.add(chunk_id)
                entry.fingerprints.add(str(meta.get("fingerprint", "")))
        return grouped

    def ids_by_doc(self) -> dict[str, set[str]]:
        """Every stored chunk id, grouped by document."""
        return {doc: entry.ids for doc, entry in self.inventory().items()}

    def set_fingerprint(self, ids: Sequence[str], fingerprint: str) -> None:
        """Record a new fingerprint on chunks whose content did not change."""
        for start in range(0, len(ids), PAGE_SIZE):
            part = list(ids[start : start + PAGE_SIZE])
            found = self._collection.get(ids=part, include=["metadatas"])
            metas = [{**(m or {}), "fingerprint": fingerprint} for m in found["metadatas"] or []]
            if found["ids"]:
                self._collection.update(ids=found["ids"], metadatas=metas)  # type: ignore[arg-type]

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

    def pages(self, where: Mapping[str, Any] | None = None) -> Iterator[list[Chunk]]:
        """Every stored chunk (matching `where`), a page at a time."""
        for found in self._read(["documents", "metadatas"], where):
            rows = zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
            yield [_chunk(i, d, m or {}) for i, d, m in rows]

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, sorted by id for a stable order."""
        return sorted((c for page in self.pages() for c in page), key=lambda c: c.id)

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        """The stored chunks with these ids, in the order asked."""
        by_id: dict[str, Chunk] = {}
        for start in range(0, len(ids), PAGE_SIZE):
            found = self._collection.get(
                ids=list(ids[start : start + PAGE_SIZE]), include=["documents", "metadatas"]
            )
            rows = zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
            by_id.update((i, _chunk(i, d, m or {})) for i, d, m in rows)
        return [by_id[i] for i in ids if i in by_id]

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of these chunks."""
        out: dict[str, list[float]] = {}
        for start in range(0, len(ids), PAGE_SIZE):
            found = self._collection.get(
                ids=list(ids[start : start + PAGE_SIZE]), include=["embeddings"]
            )
            embeddings = found["embeddings"]
            if embeddings is None:
                continue
            out.update(
                (i, [float(x) for x in v]) for i, v in zip(found["ids"], embeddings, strict=True)
            )
        return out

    def version(self) -> str:
        """The index version recorded in the collection's metadata ("" before any ingest).

        Read from the store each time (a small SQL read), so a server sees another process's
        ingest; the collection handle caches its metadata, so it is fetched afresh.
        """
        try:
            collection = self._client.get_collection(self._name)
        except Exception as exc:
            # The version is the first read of a question (to see a newer ingest), so a store
            # that went away is usually found here: say so in the words every other read uses.
            self.ping()
            raise StoreUnavailable(f"{self._where}: cannot read the index version ({exc})") from exc
        return str((collection.metadata or {}).get("index_version", ""))

    def bump_version(self) -> str:
        """Record a new random index version in the collection's metadata."""
        version = uuid.uuid4().hex[:12]
        metadata = {**(self._collection.metadata or {}), "index_version": version}
        self._collection.modify(metadata=metadata)
        return version


def store_location(settings: Settings) -> str:
    """What `describe()` says for the configured store, without opening it (or importing
    chromadb): the CLI compares it with a running server's /readyz to use only one on its index."""
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return f"Chroma at {settings.chroma_dir}"


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
