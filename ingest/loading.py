"""Ingest stage: read documents (the corpus sources and a user's own files) into plain text."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.catalog import Source

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


class SkippedFile(Exception):
    """A file that cannot be ingested; the message says why and what to do about it."""


@dataclass(frozen=True)
class RawDocument:
    """A document's text before repair and cleaning, with where it came from."""

    doc_id: str
    title: str
    text: str
    origin: str  # file name or path, shown in citations
    format: str  # "text", "markdown", "html", "pdf"
    trust: str = "medium"
    sha256: str = ""  # of the file's bytes
    # The store already holds this document built from the same bytes: `text` was not read.
    unchanged: bool = False


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def first_heading(text: str) -> str:
    """The first Markdown heading of a text ("" when it has none)."""
    found = _HEADING.search(text)
    return found.group(1).strip() if found else ""


def user_doc_id(path: Path) -> str:
    """Stable id for a user's file: its resolved path, hashed (paths are unique per machine)."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:40] or "file"
    return f"user:{slug}-{digest}"


def _decode(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkippedFile(f"{path}: looks binary (NUL bytes); only txt, md, html and pdf are read")
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkippedFile(
            f"{path}: not UTF-8 text (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 and add it again"
        ) from exc


def _html_to_text(html: str) -> str:
    import trafilatura  # heavy: only when an HTML file is actually read

    text = trafilatura.extract(html, output_format="markdown", include_links=False)
    return text or ""


def _pdf_to_text(data: bytes, path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkippedFile(f"{path}: the PDF is encrypted; save an unlocked copy and add it")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise SkippedFile(f"{path}: not a readable PDF ({exc})") from exc


def load_file(
    path: Path, max_bytes: int, unchanged: Callable[[str], bool] | None = None
) -> RawDocument:
    """Read one user file; raise `SkippedFile` with the reason when it cannot be used.

    `unchanged(sha256)` says whether the index already holds the file built from these bytes;
    then it is not decoded or parsed, and an `unchanged` document with no text comes back.
    The document is titled by its first heading, else its file name; its origin is the file
    name only, since citations are shown to people who must not see the server's paths.
    """
    if not path.exists():
        raise SkippedFile(f"{path}: no such file")
    if not path.is_file():
        raise SkippedFile(f"{path}: not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkippedFile(
            f"{path}: unsupported type '{suffix or '(none)'}'; use {', '.join(SUPPORTED_SUFFIXES)}"
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise SkippedFile(
            f"{path}: too large ({size:,} bytes > MLSD_MAX_FILE_BYTES={max_bytes:,}); split it"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    fmt = {".pdf": "pdf", ".html": "html", ".htm": "html", ".md": "markdown"}.get(suffix, "text")
    fmt = "markdown" if suffix == ".markdown" else fmt
    if unchanged is not None and unchanged(digest):
        return RawDocument(
            doc_id=user_doc_id(path),
            title=path.name,
            text="",
            origin=path.name,
            format=fmt,
            trust="user",
            sha256=digest,
            unchanged=True,
        )
    if suffix == ".pdf":
        if not data.startswith(b"%PDF"):
            raise SkippedFile(f"{path}: has a .pdf name but is not a PDF")
        text, fmt = _pdf_to_text(data, path), "pdf"
    elif suffix in (".html", ".htm"):
        text, fmt = _html_to_text(_decode(data, path)), "html"
    else:
        text = _decode(data, path)
        fmt = "markdown" if suffix in (".md", ".markdown") else "text"
    if not text.strip():
        raise SkippedFile(f"{path}: no text in it (empty, or a scanned PDF without a text layer)")
    return RawDocument(
        doc_id=user_doc_id(path),
        title=first_heading(text) or path.name,
        text=text,
        origin=path.name,  # citations name the file, never a path on the server
        format=fmt,
        trust="user",
        sha256=digest,
    )


def load_source(source: Source, sources_dir: Path) -> RawDocument:
    """Read one corpus source document; its bytes must match the recorded sha256."""
    data = (sources_dir / source.file).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise SkippedFile(
            f"{source.file}: sha256 {digest[:12]}... does not match sources.yaml; sources are "
            "data and must stay unchanged (update sources.yaml if the change is intended)"
        )
    return RawDocument(
        doc_id=f"source:{source.id}",
        title=source.title,
        text=data.decode("utf-8"),
        origin=source.file,
        format="text",
        trust=source.trust,
        sha256=digest,
    )
