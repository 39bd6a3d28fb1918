"""Files a user adds: the path they gave is remembered, symlinks stay in their folder, and
citations name the file, never a server path."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.pipeline import run_ingest
from ingest.store import open_store

NOTES = "Feast is an open source feature store; we use it for online features.\n"


def user_chunks(settings) -> list:
    return [c for c in open_store(settings).chunks() if c.doc_id.startswith("user:")]


def test_a_file_added_through_a_symlink_stays_indexed(
    settings_factory, fixture_corpus, embedder, tmp_path: Path
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "2026-feature-stores.md").write_text(NOTES, encoding="utf-8")
    link = folder / "current.md"
    link.symlink_to("2026-feature-stores.md")

    first = run_ingest(settings, add=[link], embedder=embedder, progress=False)
    assert first.added == [str(link)]
    remembered = json.loads((settings.data_dir / "user_files.json").read_text())
    assert remembered == [{"path": str(link), "follow_symlinks": False}]  # the link, as given
    chunks = user_chunks(settings)
    assert chunks and {c.origin for c in chunks} == {"current.md"}  # a name, not a path

    later = run_ingest(settings, embedder=embedder, progress=False)  # no --add
    assert (later.deleted, later.skipped) == (0, [])
    assert user_chunks(settings) == chunks


def test_a_symlink_out_of_its_folder_is_refused_unless_allowed(
    settings_factory, fixture_corpus, embedder, tmp_path: Path
) -> None:
    settings = settings_factory(corpus_dir=fixture_corpus)
    secret = tmp_path / "elsewhere" / "secret.md"
    secret.parent.mkdir()
    secret.write_text(NOTES, encoding="utf-8")
    folder = tmp_path / "notes"
    folder.mkdir()
    link = folder / "innocent.md"
    link.symlink_to(secret)

    refused = run_ingest(settings, add=[link], embedder=embedder, progress=False)
    assert refused.added == []
    (skipped,) = refused.skipped
    assert "outside" in skipped["reason"] and "--follow-symlinks" in skipped["reason"]
    assert user_chunks(settings) == []

    allowed = run_ingest(settings, add=[link], follow_symlinks=True, embedder=embedder)
    assert allowed.added == [str(link)]
    again = run_ingest(settings, embedder=embedder, progress=False)  # the permission is kept
    assert again.skipped == [] and user_chunks(settings)
