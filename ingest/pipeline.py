"""Ingest stage: the incremental, idempotent, crash-safe run behind `mlsd ingest`."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from assistant.settings import Settings
from ingest.catalog import Catalog, load_catalog
from ingest.chunking import Chunk, Chunker, card_chunk
from ingest.embedding import Embedder, make_embedder
from ingest.loading import RawDocument, SkippedFile, load_file, load_source, user_doc_id
from ingest.store import StoredDocument, VectorStore, open_store

# Bump when chunking or linking changes in a way the settings and catalog do not capture: it is
# part of every document's fingerprint, so the next run rebuilds every document once.
CHUNKER_VERSION = "1"


@dataclass
class IngestReport:
    """What one ingest run did; printed as a summary or as JSON."""

    store: str
    model: str
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped_unchanged: int = 0  # documents whose fingerprint matched: not read, repaired or chunked
    index_version: str = ""
    added: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class UserFile:
    """A file the user added: the path as they gave it (absolute, a symlink left a symlink, so
    the link is what is remembered) and whether a link may lead out of its folder."""

    path: Path
    follow_symlinks: bool = False

    def check_link(self) -> None:
        """`SkippedFile` when the path leads (through a symlink) out of the folder it names,
        unless that was allowed: a link must not reach files the user could not name."""
        folder = self.path.parent.resolve()
        target = self.path.resolve()
        if not self.follow_symlinks and not target.is_relative_to(folder):
            raise SkippedFile(
                f"{self.path}: a symlink to {target}, outside {folder}; add the file itself, "
                "or pass --follow-symlinks to allow it"
            )


class UserFiles:
    """The user's own files added with `--add`, remembered so later runs keep them indexed."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "user_files.json"

    def load(self) -> list[UserFile]:
        """The remembered files (older lists hold bare paths)."""
        if not self.path.exists():
            return []
        entries = json.loads(self.path.read_text(encoding="utf-8"))
        return [
            UserFile(Path(e))
            if isinstance(e, str)
            else UserFile(Path(e["path"]), bool(e.get("follow_symlinks", False)))
            for e in entries
        ]

    def save(self, files: Iterable[UserFile]) -> None:
        """Atomically replace the list (write, then rename), so a crash never truncates it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        unique = {str(f.path): f for f in files}
        entries = [
            {"path": key, "follow_symlinks": unique[key].follow_symlinks} for key in sorted(unique)
        ]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)


def _user_documents(
    settings: Settings,
    add: Sequence[Path],
    report: IngestReport,
    unchanged: Callable[[str, str], bool] | None = None,
    follow_symlinks: bool = False,
) -> list[RawDocument]:
    files = UserFiles(settings.data_dir)
    remembered = files.load()
    documents: list[RawDocument] = []
    keep: list[UserFile] = []
    kept: set[Path] = set()  # resolved paths of `keep`, so a file listed twice is read once
    # abspath, not resolve: the path the user gave, made independent of the working directory.
    added = [UserFile(Path(os.path.abspath(p)), follow_symlinks) for p in add]
    new = {f.path.resolve() for f in added}
    for file in [*remembered, *added]:
        target = file.path.resolve()
        if target in kept:
            continue
        try:
            file.check_link()
            doc_id = user_doc_id(file.path)
            same = (lambda sha, d=doc_id: unchanged(d, sha)) if unchanged else None
            documents.append(load_file(file.path, settings.max_file_bytes, same))
        except SkippedFile as exc:
            # A remembered file that vanished is forgotten, and its chunks go with it.
            report.skipped.append({"path": str(file.path), "reason": str(exc)})
            continue
        keep.append(file)
        kept.add(target)
        if target in new:
            report.added.append(str(file.path))
    # Record intent before touching the store: a crash after this point is finished next run.
    files.save(keep)
    return documents


def plan_chunks(
    settings: Settings, catalog: Catalog, documents: Sequence[RawDocument]
) -> dict[str, list[Chunk]]:
    """Every chunk the index should hold, grouped by document id."""
    chunker = Chunker(catalog.resources.values(), settings.chunk_size, settings.chunk_overlap)
    planned: dict[str, list[Chunk]] = {
        d.doc_id: chunker.chunk_document(d) for d in documents if not d.unchanged
    }
    for resource in catalog.resources.values():
        card = card_chunk(resource)
        planned[card.doc_id] = [card]
    return planned


def corpus_documents(
    settings: Settings, catalog: Catalog, unchanged: Callable[[str, str], bool] | None = None
) -> list[RawDocument]:
    """The corpus source documents, checked against their recorded checksums.

    Sources are few and always read, so an edit without a new checksum is always refused; one
    the index was built from is marked `unchanged` and is not repaired or chunked again.
    """
    documents = []
    for source in catalog.sources.values():
        document = load_source(source, settings.sources_dir)
        if unchanged is not None and unchanged(document.doc_id, document.sha256):
            document = replace(document, unchanged=True)
        documents.append(document)
    return documents


def fingerprint(settings: Settings, catalog_digest: str, sha256: str) -> str:
    """What a document's chunks depend on: its bytes, the chunk settings, the catalog (links)
    and the chunker version. Equal fingerprints mean the stored chunks are still right."""
    parts = (sha256, settings.chunk_size, settings.chunk_overlap, catalog_digest, CHUNKER_VERSION)
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def catalog_digest(settings: Settings) -> str:
    """The catalog files' sha256: editing the catalog can change every passage's links."""
    digest = hashlib.sha256()
    for name in ("resources.yaml", "sources.yaml"):
        digest.update((settings.corpus_dir / name).read_bytes())
    return digest.hexdigest()


def run_ingest(
    settings: Settings,
    *,
    rebuild: bool = False,
    add: Sequence[Path] = (),
    follow_symlinks: bool = False,
    store: VectorStore | None = None,
    embedder: Embedder | None = None,
    progress: bool | None = None,
) -> IngestReport:
    """Bring the index in line with the corpus and the user's files, embedding only what changed.

    Chunk ids are content addresses, and the plan is diffed against what the store holds, not
    against a record of earlier runs: so a run interrupted anywhere is completed by the next one,
    with no duplicates and no orphans.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    catalog = load_catalog(settings.corpus_dir)
    store = store or open_store(settings, rebuild=rebuild)
    embedder = embedder or make_embedder(settings.embedding_model, settings.embed_batch_size)
    report = IngestReport(store=store.describe(), model=embedder.name)

    existing = store.inventory()
    digest = catalog_digest(settings)

    def unchanged(doc_id: str, sha256: str) -> bool:
        # Every stored chunk carries "<fingerprint>/<chunk count>": one value that matches and
        # that many chunks mean a run finished this document; an interrupted run leaves mixed
        # values or fewer chunks, and the document is rebuilt.
        stored = existing.get(doc_id)
        expected = f"{fingerprint(settings, digest, sha256)}/{len(stored.ids) if stored else 0}"
        return bool(stored and stored.fingerprints == {expected})

    documents = corpus_documents(settings, catalog, unchanged) + _user_documents(
        settings, add, report, unchanged, follow_symlinks
    )
    report.skipped_unchanged = sum(d.unchanged for d in documents)
    planned = plan_chunks(settings, catalog, documents)
    marks = {d.doc_id: fingerprint(settings, digest, d.sha256) for d in documents}
    marks = {doc: f"{mark}/{len(planned.get(doc, ()))}" for doc, mark in marks.items()}
    planned = {
        doc: [replace(c, fingerprint=marks.get(doc, "")) for c in chunks]
        for doc, chunks in planned.items()
    }
    kept = {
        d.doc_id: existing.get(d.doc_id, StoredDocument()).ids for d in documents if d.unchanged
    }
    report.documents = len(planned) + len(kept)
    report.chunks = sum(len(chunks) for chunks in planned.values()) + sum(map(len, kept.values()))

    missing = [
        c
        for doc, chunks in planned.items()
        for c in chunks
        if c.id not in existing.get(doc, StoredDocument()).ids
    ]
    report.unchanged = report.chunks - len(missing)
    # Sorted by length, each batch pads to about its own length instead of its longest outlier.
    missing.sort(key=lambda c: len(c.text))

    batch = max(1, settings.embed_batch_size)
    # One writer thread stores a batch while the next is embedded: the Chroma write (about 1.5 ms
    # a chunk here) would otherwise add to the embedding time instead of hiding under it. At most
    # one write is in flight, so memory stays at two batches and a failed write stops the run.
    with (
        tqdm(
            total=len(missing),
            unit="chunk",
            desc="embedding",
            disable=None if progress is None else not progress,
        ) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write") as writer,
    ):
        pending: Future[None] | None = None
        for start in range(0, len(missing), batch):
            part = missing[start : start + batch]
            vectors = embedder.embed([c.text for c in part])
            if pending is not None:
                pending.result()
            pending = writer.submit(store.upsert, part, vectors)
            report.embedded += len(part)
            bar.update(len(part))
        if pending is not None:
            pending.result()

    # A rebuilt document whose chunks were all stored already: record the new fingerprint.
    for doc, chunks in planned.items():
        stored = existing.get(doc)
        if stored is not None and stored.fingerprints != {marks.get(doc, "")}:
            same = [c.id for c in chunks if c.id in stored.ids]
            store.set_fingerprint(same, marks.get(doc, ""))

    # Stale chunks go only after the new ones are in: a crash never leaves a document empty.
    wanted = {c.id for chunks in planned.values() for c in chunks}
    wanted.update(i for ids in kept.values() for i in ids)
    stale = sorted(i for entry in existing.values() for i in entry.ids if i not in wanted)
    store.delete(stale)
    report.deleted = len(stale)
    changed = bool(report.embedded or report.deleted)
    report.index_version = (
        store.bump_version() if changed or not store.version() else store.version()
    )
    report.seconds = round(time.perf_counter() - started, 3)
    return report
