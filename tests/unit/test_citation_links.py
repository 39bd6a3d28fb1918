"""A citation links the passage to its source's public page where sources.yaml records one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.service import Assistant, build_assistant
from assistant.settings import Settings
from ingest.embedding import Embedder
from ingest.pipeline import run_ingest
from ui.render import render_citations
from ui.schemas import ChatResponse
from ui.views import answer_view

FIXTURE_CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
GUIDE_URL = "https://example.org/tiny-guide"  # the fixture guide's page; the notes have none


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """The fixture corpus with a url on one of its two sources, indexed with the real model."""
    root = tmp_path_factory.mktemp("citation-links")
    corpus = shutil.copytree(FIXTURE_CORPUS, root / "corpus")
    data = yaml.safe_load((corpus / "sources.yaml").read_text(encoding="utf-8"))
    data["sources"][0]["url"] = GUIDE_URL
    (corpus / "sources.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    settings = Settings(data_dir=root / "data", corpus_dir=corpus)
    run_ingest(settings, embedder=embedder, progress=False)
    return build_assistant(settings, embedder=embedder)


def _citations(assistant: Assistant, question: str, source_title: str) -> list[dict]:
    view = answer_view(assistant.ask(question))
    ChatResponse.model_validate(view)  # what /api/chat sends, field for field
    cited = [c for c in view["citations"] if c["source_title"] == source_title]
    assert cited, (question, [c["source_title"] for c in view["citations"]])
    return cited


def test_a_citation_from_a_source_with_a_page_carries_its_url(assistant: Assistant) -> None:
    cited = _citations(assistant, "open source feature store", "A Tiny Guide to Production ML")
    assert all(c["url"] == GUIDE_URL for c in cited)


def test_a_citation_from_a_source_without_a_page_has_no_url(assistant: Assistant) -> None:
    cited = _citations(assistant, "a tool to detect data drift", "Monitoring notes")
    assert all(c["url"] is None for c in cited)


def test_the_citations_panel_links_the_source_title_only_where_it_has_a_page(
    assistant: Assistant,
) -> None:
    answers = [assistant.ask(q) for q in ("open source feature store", "detect data drift")]
    html = render_citations([c for a in answers for c in a.citations])
    rows = re.findall(r"<li .*?</li>", html)
    linked = [row for row in rows if "<a " in row.split("<q>")[0]]  # a link before the passage
    plain = [row for row in rows if row not in linked]
    assert linked and all(f'<a href="{GUIDE_URL}"' in row for row in linked)
    assert all("A Tiny Guide to Production ML</a>" in row for row in linked)
    assert plain and all("Monitoring notes" in row for row in plain)
