"""Evals stage: the user's-own-documents suite (labeled questions over added documents)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.datasets import DATASETS_DIR, SPLITS, DatasetError
from ingest.catalog import read_yaml_list
from ingest.loading import user_doc_id

if TYPE_CHECKING:
    from assistant.ranker import Ranker
    from assistant.service import Assistant
    from assistant.settings import Settings
    from evals.datasets import OutOfScopeCase
    from ingest.embedding import Embedder

DOCUMENTS_FILE = DATASETS_DIR / "documents.yaml"
TOP = 3  # the bar: the right document in the top 3


@dataclass(frozen=True)
class DocumentCase:
    """A question that one added document answers."""

    id: str
    split: str
    query: str
    document: Path

    @property
    def doc_id(self) -> str:
        """The document's id in the index (as `mlsd ingest --add` names it)."""
        return user_doc_id(self.document)


def load_document_cases(path: Path = DOCUMENTS_FILE) -> list[DocumentCase]:
    """The labeled questions, validated: known fields, a split, an existing document."""
    folder = path.parent / "documents"
    cases: list[DocumentCase] = []
    for index, raw in enumerate(read_yaml_list(path, "questions", DatasetError)):
        where = f"{path.name}: entry #{index + 1}"
        if not isinstance(raw, dict) or set(raw) != {"id", "split", "document", "query"}:
            raise DatasetError(f"{where}: expected the fields id, split, document, query")
        if raw["split"] not in SPLITS:
            raise DatasetError(f"{where}: split '{raw['split']}' is not one of {SPLITS}")
        document = folder / str(raw["document"])
        if not document.is_file():
            raise DatasetError(f"{where}: no document {document}")
        cases.append(DocumentCase(str(raw["id"]), raw["split"], str(raw["query"]), document))
    return cases


def document_files(cases: list[DocumentCase]) -> list[Path]:
    """Every document the cases name, once, in a stable order."""
    return sorted({case.document for case in cases})


def with_documents(
    settings: Settings,
    embedder: Embedder,
    scratch: Path,
    documents: list[Path],
    ranker: Ranker | None = None,
) -> Assistant:
    """An assistant over the configured index plus `documents`, built in `scratch`.

    The embedded index is copied first, so only the documents are embedded; a Chroma server's
    collection is left alone and the whole corpus is ingested into the scratch store instead.
    """
    from assistant.service import build_assistant
    from assistant.storage import Storage
    from ingest.pipeline import run_ingest

    local = settings.model_copy(update={"data_dir": scratch / "data", "chroma_host": None})
    if settings.chroma_host is None and settings.chroma_dir.is_dir():
        shutil.copytree(settings.chroma_dir, local.chroma_dir)
    run_ingest(local, add=documents, embedder=embedder, progress=False)
    storage = Storage(scratch / "documents-sessions.sqlite3")
    return build_assistant(local, embedder, storage, ranker)


def run_documents(
    assistant: Assistant, cases: list[DocumentCase], out_of_scope: list[OutOfScopeCase]
) -> dict[str, Any]:
    """Hit rate of the right document in the top 3 (search, then `ask`), and out-of-scope
    accuracy with the documents added."""
    rows: list[dict[str, Any]] = []
    for case in cases:
        found = [hit.resource.id for hit in assistant.search(case.query, k=10).hits]
        answer = assistant.ask(case.query, k=5)
        asked = [item.resource.id for item in answer.items]
        rows.append(
            {
                "id": case.id,
                "query": case.query,
                "document": case.document.name,
                "got": found[:TOP],
                "hit": case.doc_id in found[:TOP],
                "in_answer": case.doc_id in asked[:TOP],
            }
        )
    refused = [
        case.id
        for case in out_of_scope
        if assistant.search(case.query, k=5).parsed.intent == "out_of_scope"
    ]
    return {
        "questions": len(rows),
        "documents": len({r["document"] for r in rows}),
        "hit_rate@3": round(sum(r["hit"] for r in rows) / len(rows), 4) if rows else 0.0,
        "answer_hit_rate@3": round(sum(r["in_answer"] for r in rows) / len(rows), 4)
        if rows
        else 0.0,
        "out_of_scope_accuracy": round(len(refused) / len(out_of_scope), 4)
        if out_of_scope
        else 0.0,
        "out_of_scope_cases": len(out_of_scope),
        "rows": rows,
    }
