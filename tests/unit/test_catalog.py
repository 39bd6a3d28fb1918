"""Data tests on the real catalog: it validates, and it covers what the sources name."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml

from assistant.settings import Settings
from ingest.catalog import (
    AUDIENCES,
    KINDS,
    LEVELS,
    TOPICS,
    Catalog,
    CatalogError,
    load_catalog,
)
from ingest.chunking import Chunker
from ingest.cleaning import split_sections
from ingest.linking import ResourceLinker, normalize
from ingest.pipeline import corpus_documents, plan_chunks
from ingest.repair import repair_text

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
SEEDS = Path(__file__).parents[2].parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), corpus_dir=CORPUS)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


@pytest.fixture(scope="module")
def linker(catalog: Catalog) -> ResourceLinker:
    return ResourceLinker(catalog.resources.values())


@pytest.fixture(scope="module")
def cleaned(settings: Settings, catalog: Catalog) -> dict[str, str]:
    """Each source's repaired, cleaned text by source id: what the chunks are cut from."""
    chunker = Chunker(catalog.resources.values(), settings.chunk_size, settings.chunk_overlap)
    return {
        doc.doc_id.removeprefix("source:"): chunker.clean(doc)
        for doc in corpus_documents(settings, catalog)
    }


def source_text(number: int) -> str:
    """The raw text of corpus source NNN."""
    (path,) = (CORPUS / "sources").glob(f"{number:03d}_*.txt")
    return path.read_text(encoding="utf-8")


# --- the catalog validates ---------------------------------------------------------------------


def test_real_catalog_loads_with_unique_ids(catalog: Catalog) -> None:
    raw = yaml.safe_load((CORPUS / "resources.yaml").read_text(encoding="utf-8"))["resources"]
    ids = [entry["id"] for entry in raw]
    assert len(ids) == len(set(ids)), "duplicate resource ids"
    assert len(catalog.resources) == len(raw) > 80
    assert len(catalog.sources) == 4


def test_every_value_comes_from_the_vocabularies(catalog: Catalog) -> None:
    for resource in catalog.resources.values():
        assert resource.kind in KINDS, resource.id
        assert resource.level in LEVELS, resource.id
        assert set(resource.topics) <= set(TOPICS), resource.id
        assert set(resource.audience) <= set(AUDIENCES), resource.id


def test_tools_and_repos_say_whether_they_are_open_source(catalog: Catalog) -> None:
    software = [r for r in catalog.resources.values() if r.kind in ("tool", "repo")]
    assert len(software) > 20
    for resource in software:
        assert isinstance(resource.open_source, bool), resource.id


def test_sources_are_the_seeds_unchanged(catalog: Catalog) -> None:
    files = sorted((CORPUS / "sources").iterdir())
    assert [f.name for f in files] == sorted(s.file for s in catalog.sources.values())
    assert len(files) == 4
    by_file = {s.file: s for s in catalog.sources.values()}
    for path in files:
        data = path.read_bytes()
        assert data == (SEEDS / path.name).read_bytes(), f"{path.name} differs from its seed"
        assert hashlib.sha256(data).hexdigest() == by_file[path.name].sha256, path.name


# --- invalid catalogs are refused with a message naming file, entry and field -------------------


def _write_resources(corpus_dir: Path, mutate) -> Path:
    path = corpus_dir / "resources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data["resources"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _set(index: int, field: str, value: object):
    def mutate(entries: list[dict]) -> None:
        entries[index][field] = value

    return mutate


def _drop(index: int, field: str):
    def mutate(entries: list[dict]) -> None:
        del entries[index][field]

    return mutate


def _duplicate_first_as_third(entries: list[dict]) -> None:
    entries[2]["id"] = entries[0]["id"]


@pytest.mark.parametrize(
    ("mutate", "entry", "entry_id", "field", "problem"),
    [
        (_duplicate_first_as_third, 3, "designing-machine-learning-systems", "id", "duplicate"),
        (_set(1, "kind", "podcast"), 2, "feast", "kind", "'book'"),
        (_set(2, "topics", ["feature-stores", "astrology"]), 3, "tecton", "topics", "astrology"),
        (_drop(3, "summary"), 4, "evidently-ai", "summary", "required"),
    ],
    ids=["duplicate-id", "bad-kind", "unknown-topic", "missing-field"],
)
def test_invalid_resources_raise_catalog_error(
    fixture_corpus: Path, mutate, entry: int, entry_id: str, field: str, problem: str
) -> None:
    path = _write_resources(fixture_corpus, mutate)
    with pytest.raises(CatalogError) as caught:
        load_catalog(fixture_corpus)
    message = str(caught.value)
    assert str(path) in message
    assert f"entry #{entry}" in message
    assert f"'{entry_id}'" in message
    assert f"field '{field}'" in message
    assert problem in message


def test_broken_yaml_names_the_file(fixture_corpus: Path) -> None:
    path = fixture_corpus / "resources.yaml"
    path.write_text("resources:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML") as caught:
        load_catalog(fixture_corpus)
    assert str(path) in str(caught.value)


def test_unknown_mentioned_in_source_is_refused(fixture_corpus: Path) -> None:
    _write_resources(fixture_corpus, _set(1, "mentioned_in", ["tiny-guide", "no-such-source"]))
    with pytest.raises(CatalogError, match="no-such-source") as caught:
        load_catalog(fixture_corpus)
    assert "entry #2 (id 'feast'): field 'mentioned_in'" in str(caught.value)


# --- every resource is reachable from the sources ------------------------------------------------


def test_every_mention_is_named_by_its_source(
    catalog: Catalog, linker: ResourceLinker, cleaned: dict[str, str]
) -> None:
    found = {source_id: set(linker.find(text)) for source_id, text in cleaned.items()}
    for resource in catalog.resources.values():
        for source_id in resource.mentioned_in:
            assert source_id in catalog.sources
            assert resource.id in found[source_id], (
                f"{resource.id} claims to be mentioned in {source_id}, but that source's "
                "cleaned text does not name it"
            )


def test_every_resource_is_linked_from_a_passage(settings: Settings, catalog: Catalog) -> None:
    planned = plan_chunks(settings, catalog, corpus_documents(settings, catalog))
    linked = {
        resource_id
        for chunks in planned.values()
        for chunk in chunks
        if chunk.kind == "passage"
        for resource_id in chunk.resource_ids
    }
    assert set(catalog.resources) - linked == set()


# --- coverage: every name the sources list is in the catalog ------------------------------------


def assert_catalogued(names: list[str], linker: ResourceLinker, catalog: Catalog) -> None:
    """Each name is found by the linker as a whole title or alias of one resource."""
    assert names, "extracted no names: the extraction itself is broken"
    missing = []
    for name in names:
        ids = linker.find(name)
        whole = [i for i in ids if normalize(name) in {normalize(n) for n in catalog.get(i).names}]
        if not whole:
            missing.append(f"{name!r} (linker found {ids})")
    assert not missing, "named in the sources but not in the catalog:\n" + "\n".join(missing)


def test_every_tool_in_the_tables_of_000_is_catalogued(linker, catalog) -> None:
    names = []
    for line in source_text(0).splitlines():
        if not line.startswith("|"):
            continue
        first = line.strip().strip("|").split("|")[0].strip()
        if first == "Tool" or set(first) <= set("-: "):
            continue
        names.append(first)
    assert len(names) == 21
    assert_catalogued(names, linker, catalog)


def test_every_listed_item_of_001_is_catalogued(linker, catalog) -> None:
    wanted = {
        "Books", "Courses", "Papers", "Blogs and Websites", "GitHub Repositories",
        "Conferences and Workshops",
    }  # fmt: skip
    names, heading = [], None
    for line in source_text(1).splitlines():
        if match := re.match(r"^#+\s+(.+?)\s*$", line):
            heading = match.group(1)
        elif (match := re.match(r"^\d+\.\s+(.+?)\s*$", line)) and heading in wanted:
            item = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", match.group(1))  # [T](url) -> T
            item = re.sub(r"\s+(by|on Coursera|from Stanford|at various)\b.*$", "", item)
            names.append(item.strip().strip('"'))
    assert len(names) == 21
    assert_catalogued(names, linker, catalog)


def test_every_book_bullet_of_003_is_catalogued(linker, catalog) -> None:
    text = repair_text(source_text(3))
    recommendations = text[text.index("Additional Book Recommendations") :]
    names = [m.group(1) for m in re.finditer(r"(?m)^- (.+?) by [^.]+", recommendations)]
    assert len(names) == 20
    assert_catalogued(names, linker, catalog)


def test_every_numbered_title_of_002_is_catalogued(linker, catalog) -> None:
    names = [m.group(1) for m in re.finditer(r"(?m)^\d+\. (.+?)\s*$", source_text(2))]
    assert len(names) == 5
    assert_catalogued(names, linker, catalog)


CATEGORY_HEADINGS_000 = {
    "Awesome Machine Learning System Design: Curated Resource Guide",
    "Books",
    "GitHub Repositories",
    "Courses and Tutorials",
    "Blogs and Newsletters",
    "Papers",
    "Tools and Frameworks",
    "Orchestration",
    "Experiment Tracking",
    "Model Serving",
    "Monitoring",
    "Feature Stores",
    "Interview Preparation Resources",
    "Books for Interview Prep",
    "Online Platforms",
    "Communities",
    "Practice Your ML System Design with InfraSketch",
}


def test_every_resource_heading_of_000_is_catalogued(linker, catalog, cleaned) -> None:
    headings = [s.heading for s in split_sections(cleaned["mlsd-resource-guide"])]
    assert set(headings) >= CATEGORY_HEADINGS_000, "a category heading is no longer found"
    names = []
    for heading in headings:
        if heading in CATEGORY_HEADINGS_000:
            continue
        name = re.sub(r"\s*\([^)]*\)$", "", heading)  # "(Google, 2015)", "(270k+ stars)"
        names.append(re.sub(r"\s+by\s+.*$", "", name))  # "by Chip Huyen"
    assert len(names) == 29
    assert_catalogued(names, linker, catalog)


BULLET_ONLY_ITEMS_000 = [
    "Educative (Grokking the Machine Learning Interview)",
    "ByteByteGo",
    "Exponent",
    "System Design Interview (Vol 1 and 2)",
    "Machine Learning System Design Interview",
    "Great Expectations Slack",
    "Feast Slack",
    "MLflow Slack",
    "LangChain / LangGraph Discord",
]


def test_items_named_only_in_bullets_of_000_are_catalogued(linker, catalog, cleaned) -> None:
    for name in BULLET_ONLY_ITEMS_000:
        assert f"- {name} " in source_text(0), f"{name!r} is not a bullet of source 000"
    assert_catalogued(BULLET_ONLY_ITEMS_000, linker, catalog)
    in_source = set(linker.find(cleaned["mlsd-resource-guide"]))
    for name in BULLET_ONLY_ITEMS_000:
        assert set(linker.find(name)) & in_source, f"{name!r} is not found in cleaned 000"
