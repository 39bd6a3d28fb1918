"""Ingest stage: structure-aware chunks of the sources, one card per resource, linked to ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ingest.catalog import Resource
from ingest.cleaning import remove_boilerplate, split_sections
from ingest.linking import ResourceLinker
from ingest.loading import RawDocument
from ingest.repair import repair_text


@dataclass(frozen=True)
class Chunk:
    """One embedded unit: a source passage under its heading, or a resource card."""

    id: str
    doc_id: str
    text: str
    heading: str
    position: int
    kind: str  # "passage" or "card"
    source_title: str
    origin: str
    trust: str
    resource_ids: tuple[str, ...] = ()
    # What the document's chunks were cut from (file bytes, chunk settings, catalog), so a no-op
    # re-ingest can skip an unchanged file before reading it; not part of the chunk id.
    fingerprint: str = ""

    @property
    def body(self) -> str:
        """The text without the heading line that was prepended for embedding."""
        prefix = f"{self.heading}\n" if self.heading else ""
        return self.text[len(prefix) :] if self.text.startswith(prefix) else self.text


def _with_id(chunk: Chunk, seen: dict[str, int]) -> Chunk:
    """Give a chunk its content-addressed id: same content and links, same id, on every run.

    The links and provenance are part of the address, so a catalog edit that changes which
    resources a passage names, or a source's title or trust, replaces that chunk too.
    """
    payload = "\x1f".join(
        (chunk.text, chunk.heading, chunk.kind, chunk.source_title, chunk.origin, chunk.trust,
         ",".join(chunk.resource_ids))
    )  # fmt: skip
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    seen[digest] = seen.get(digest, 0) + 1
    suffix = f"-{seen[digest]}" if seen[digest] > 1 else ""
    return replace(chunk, id=f"{chunk.doc_id}#{digest}{suffix}")


class Chunker:
    """Turns documents into chunks and links each chunk to the resources it names."""

    def __init__(self, resources: Iterable[Resource], chunk_size: int, chunk_overlap: int) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self._linker = ResourceLinker(resources)
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def clean(self, document: RawDocument) -> str:
        """Repaired text with boilerplate removed: what the chunks are cut from."""
        return remove_boilerplate(repair_text(document.text))

    def chunk_document(self, document: RawDocument) -> list[Chunk]:
        """Chunks of one document, each starting with the heading it sits under."""
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        for section in split_sections(self.clean(document)):
            for piece in self._splitter.split_text(section.body):
                piece = piece.strip()
                if len(piece) < 20:
                    continue
                text = f"{section.heading}\n{piece}" if section.heading else piece
                chunks.append(
                    _with_id(
                        Chunk(
                            id="",
                            doc_id=document.doc_id,
                            text=text,
                            heading=section.heading,
                            position=len(chunks),
                            kind="passage",
                            source_title=document.title,
                            origin=document.origin,
                            trust=document.trust,
                            resource_ids=self._linker.find(text),
                        ),
                        seen,
                    )
                )
        return chunks


def card_text(resource: Resource) -> str:
    """The text a resource card is embedded and keyword-indexed as."""
    byline = f" by {', '.join(resource.authors)}" if resource.authors else ""
    year = f" ({resource.year})" if resource.year else ""
    lines = [f"{resource.title}{byline}{year}", f"A {resource.kind}."]
    if resource.aliases:
        lines.append(f"Also known as: {'; '.join(resource.aliases)}.")
    lines.append(f"Topics: {', '.join(t.replace('-', ' ') for t in resource.topics)}.")
    lines.append(f"Level: {resource.level}. For: {', '.join(resource.audience)}.")
    lines.append(resource.summary.strip())
    lines.append(f"Best for: {resource.best_for.strip()}")
    return "\n".join(lines)


def card_chunk(resource: Resource) -> Chunk:
    """A resource's card as a chunk of its own document, so editing one card re-embeds one."""
    chunk = Chunk(
        id="",
        doc_id=f"card:{resource.id}",
        text=card_text(resource),
        heading=resource.title,
        position=0,
        kind="card",
        source_title="MLSD Assistant catalog",
        origin="corpus/resources.yaml",
        trust="high",
        resource_ids=(resource.id,),
    )
    return _with_id(chunk, {})
