"""The whole real corpus, ingested cold into a fresh embedded store, then a no-op run."""

from __future__ import annotations

import pytest

from ingest.catalog import load_catalog
from ingest.pipeline import corpus_documents, plan_chunks, run_ingest
from ingest.store import open_store

pytestmark = pytest.mark.integration


def test_full_corpus_ingest(settings_factory, embedder) -> None:
    settings = settings_factory()  # the real corpus, a fresh data dir
    catalog = load_catalog(settings.corpus_dir)
    planned = plan_chunks(settings, catalog, corpus_documents(settings, catalog))
    planned_ids = {c.id for chunks in planned.values() for c in chunks}

    cold = run_ingest(settings, embedder=embedder, progress=False)
    assert cold.chunks == len(planned_ids) == sum(len(c) for c in planned.values())
    assert cold.embedded == cold.chunks
    assert cold.documents == len(catalog.sources) + len(catalog.resources)
    assert cold.skipped == []

    chunks = open_store(settings).chunks()
    assert {c.id for c in chunks} == planned_ids
    assert len(chunks) == len(planned_ids)
    linked = {rid for chunk in chunks for rid in chunk.resource_ids}
    assert linked == set(catalog.resources)
    passages = {rid for c in chunks if c.kind == "passage" for rid in c.resource_ids}
    assert passages == set(catalog.resources)  # every resource is cited by a source passage
    for chunk in chunks:
        assert chunk.text.startswith(chunk.heading)
        if chunk.doc_id.startswith("source:"):
            assert chunk.trust == catalog.sources[chunk.doc_id.removeprefix("source:")].trust

    again = run_ingest(settings, embedder=embedder, progress=False)
    assert (again.embedded, again.deleted, again.unchanged) == (0, 0, cold.chunks)
