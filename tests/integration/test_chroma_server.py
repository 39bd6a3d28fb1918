"""Ingest into a real Chroma server process over HTTP, and a clear error when there is none."""

from __future__ import annotations

import pytest

from ingest.pipeline import run_ingest
from ingest.store import StoreUnavailable, open_store

pytestmark = pytest.mark.integration


def test_ingest_into_a_chroma_server(chroma_server, settings_factory, fixture_corpus, embedder):
    host, port = chroma_server
    settings = settings_factory(corpus_dir=fixture_corpus, chroma_host=host, chroma_port=port)

    first = run_ingest(settings, embedder=embedder, progress=False)
    assert first.store == f"Chroma server {host}:{port}"
    assert first.embedded == first.chunks == 9
    assert not settings.chroma_dir.exists()  # nothing went to the embedded store

    store = open_store(settings)
    hits = store.query(embedder.embed(["open source feature store"])[0], 3)
    assert len(hits) == 3
    assert hits == sorted(hits, key=lambda hit: -hit[1])
    chunks = {chunk.id: chunk for chunk in store.chunks()}
    top = [chunks[chunk_id] for chunk_id, _ in hits]
    assert any(
        "feast" in chunk.resource_ids and (chunk.kind == "card" or "| Feast |" in chunk.text)
        for chunk in top
    ), [(c.id, c.heading) for c in top]

    second = run_ingest(settings, embedder=embedder, progress=False)
    assert (second.embedded, second.deleted, second.unchanged) == (0, 0, first.chunks)


def test_unreachable_server_is_a_clear_error(settings_factory, unused_port: int):
    port = unused_port
    settings = settings_factory(chroma_host="127.0.0.1", chroma_port=port)
    with pytest.raises(StoreUnavailable) as caught:
        open_store(settings)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "unreachable" in message
    assert f"chroma run --path DIR --host 127.0.0.1 --port {port}" in message
    assert "unset MLSD_CHROMA_HOST" in message
