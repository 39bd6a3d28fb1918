"""Ingest stage: load and validate the corpus catalog (`resources.yaml`, `sources.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# The vocabulary lives in ingest/vocabulary.py; KINDS, LEVELS and COSTS stay importable from here.
from ingest.vocabulary import AUDIENCES, TOPICS, Cost, Kind, Level
from ingest.vocabulary import COSTS as COSTS
from ingest.vocabulary import KINDS as KINDS
from ingest.vocabulary import LEVELS as LEVELS

Trust = Literal["high", "medium", "low"]
# A public page: https only (every verified url is), so a link never downgrades to http; a host
# with a dot (no localhost) and no spaces.
URL_PATTERN = r"^https://[^/\s]+\.[^/\s]+(/\S*)?$"


class CatalogError(ValueError):
    """The catalog is invalid; the message names the file, the entry and the field."""


class Resource(BaseModel):
    """One learning resource named in the sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=80)
    title: str = Field(min_length=2)
    kind: Kind
    authors: tuple[str, ...] = ()
    year: int | None = Field(default=None, ge=1950, le=2030)
    url: str | None = Field(default=None, pattern=URL_PATTERN)  # the public home
    publisher: str | None = Field(default=None, min_length=2)
    aliases: tuple[str, ...] = ()
    topics: tuple[str, ...] = Field(min_length=1)
    level: Level
    audience: tuple[str, ...] = Field(min_length=1)
    cost: Cost
    open_source: bool | None = None
    summary: str = Field(min_length=40)
    best_for: str = Field(min_length=15)
    mentioned_in: tuple[str, ...] = Field(min_length=1)
    # Provenance (see the header of resources.yaml): false when only the affiliate page names the
    # title or no public record confirms a paper; vendor marks a source's own product.
    verified: bool = True
    vendor: bool = False
    # Resource ids to read first, and the time it takes, as a source or the resource states them.
    prerequisites: tuple[str, ...] = ()
    effort: str | None = Field(default=None, min_length=2, max_length=60)
    # A book's printed length, from a publisher's, retailer's or library's record of it.
    pages: int | None = Field(default=None, ge=10, le=3000)

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; allowed: {', '.join(TOPICS)}")
        return value

    @field_validator("audience")
    @classmethod
    def _known_audience(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(AUDIENCES))
        if unknown:
            raise ValueError(f"unknown audience(s) {unknown}; allowed: {', '.join(AUDIENCES)}")
        return value

    @model_validator(mode="after")
    def _open_source_for_software(self) -> Resource:
        if self.kind in ("tool", "repo") and self.open_source is None:
            raise ValueError("open_source: required (true/false) for tools and repos")
        return self

    @model_validator(mode="after")
    def _pages_for_books(self) -> Resource:
        if self.pages is not None and self.kind != "book":
            raise ValueError("pages: only books have a page count")
        return self

    @property
    def length(self) -> str | None:
        """What it takes to get through it, as recorded: the stated effort, or the page count."""
        pages = f"{self.pages} pages" if self.pages else None
        return ", ".join(part for part in (self.effort, pages) if part) or None

    @property
    def published(self) -> str:
        """Who published it and when, as recorded: "O'Reilly Media, 2017", "2019", or ""."""
        return ", ".join(str(fact) for fact in (self.publisher, self.year) if fact)

    @property
    def names(self) -> tuple[str, ...]:
        """The title and every alias: the strings a text may use to name this resource."""
        return (self.title, *self.aliases)


class Source(BaseModel):
    """One source document in `corpus/sources/`, with its provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
    file: str
    title: str
    page_kind: str
    trust: Trust
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    origin: str
    notes: str = ""
    # The public page the document was taken from, where one was found; citations link to it.
    url: str | None = Field(default=None, pattern=URL_PATTERN)


@dataclass(frozen=True)
class Catalog:
    """The validated catalog: resources by id, and the source documents."""

    resources: dict[str, Resource]
    sources: dict[str, Source]

    def get(self, resource_id: str) -> Resource | None:
        """The resource with this id, or None."""
        return self.resources.get(resource_id)


def read_yaml_list(path: Path, key: str, error: type[ValueError] = CatalogError) -> list[object]:
    """The list under `key` in a YAML file; any problem raises `error` in one line."""
    try:
        # libyaml's loader when PyYAML has it (its wheels do): the catalog and glossary parse
        # in a tenth of the pure-Python time, which a fresh `mlsd ask` pays every time.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError as exc:
        raise error(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        # One line (the CLI prints it as is): where, then what; PyYAML's own text spans lines.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise error(f"{path}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise error(f"{path}: expected a mapping with a list under '{key}'")
    items: list[object] = data[key]
    return items


def _entry_error(path: Path, index: int, raw: object, exc: ValidationError) -> CatalogError:
    entry_id = raw.get("id", "?") if isinstance(raw, dict) else "?"
    problems = "; ".join(
        f"field '{'.'.join(str(p) for p in err['loc']) or '(entry)'}': {err['msg']}"
        for err in exc.errors()
    )
    return CatalogError(f"{path}: entry #{index + 1} (id '{entry_id}'): {problems}")


def load_sources(corpus_dir: Path) -> dict[str, Source]:
    """Load and validate `sources.yaml`."""
    path = corpus_dir / "sources.yaml"
    sources: dict[str, Source] = {}
    for index, raw in enumerate(read_yaml_list(path, "sources")):
        try:
            source = Source.model_validate(raw)
        except ValidationError as exc:
            raise _entry_error(path, index, raw, exc) from exc
        entry = f"{path}: entry #{index + 1} (id '{source.id}')"
        if source.id in sources:
            raise CatalogError(f"{entry}: field 'id': duplicate, already used by an earlier entry")
        if not (corpus_dir / "sources" / source.file).is_file():
            raise CatalogError(f"{entry}: field 'file': {source.file} missing")
        sources[source.id] = source
    return sources


def load_catalog(corpus_dir: Path) -> Catalog:
    """Load and validate the whole catalog; raise `CatalogError` naming file, entry and field."""
    sources = load_sources(corpus_dir)
    path = corpus_dir / "resources.yaml"
    resources: dict[str, Resource] = {}
    for index, raw in enumerate(read_yaml_list(path, "resources")):
        try:
            resource = Resource.model_validate(raw)
        except ValidationError as exc:
            raise _entry_error(path, index, raw, exc) from exc
        if resource.id in resources:
            raise CatalogError(
                f"{path}: entry #{index + 1} (id '{resource.id}'): field 'id': duplicate, "
                "already used by an earlier entry"
            )
        unknown = sorted(set(resource.mentioned_in) - set(sources))
        if unknown:
            raise CatalogError(
                f"{path}: entry #{index + 1} (id '{resource.id}'): field 'mentioned_in': "
                f"unknown source id(s) {unknown}"
            )
        resources[resource.id] = resource
    _check_prerequisites(path, resources)
    return Catalog(resources=resources, sources=sources)


def _check_prerequisites(path: Path, resources: dict[str, Resource]) -> None:
    """Prerequisites name known resources, never the resource itself, and never loop."""
    for resource in resources.values():
        entry = f"{path}: entry id '{resource.id}': field 'prerequisites'"
        unknown = sorted(set(resource.prerequisites) - set(resources))
        if unknown:
            raise CatalogError(f"{entry}: unknown resource id(s) {unknown}")
        seen: set[str] = set()
        todo = list(resource.prerequisites)
        while todo:
            current = todo.pop()
            if current == resource.id:
                raise CatalogError(f"{entry}: leads back to '{resource.id}' (a cycle)")
            if current not in seen:
                seen.add(current)
                todo.extend(resources[current].prerequisites)
