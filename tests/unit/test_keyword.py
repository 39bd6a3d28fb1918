"""The BM25 index imports bm25s without numba (memory) and ranks as bm25s with numba does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "tests" / "fixtures" / "corpus" / "sources"

SEARCH = """
import json, sys
BEFORE
from pathlib import Path
from assistant.keyword import Bm25Index
texts = [p.read_text(encoding="utf-8") for p in sorted(Path(sys.argv[1]).iterdir())]
index = Bm25Index([str(i) for i in range(len(texts))], texts)
found = [index.search(q, 5) for q in ("feature store", "monitoring drift", "the", "rollback")]
loaded = "numba" in sys.modules
import numba  # still importable afterwards
print(json.dumps({"found": found, "numba_loaded": loaded}))
"""


def test_bm25_leaves_numba_unloaded_and_ranks_as_with_it(fresh_python: Callable[..., Any]) -> None:
    alone = fresh_python(SEARCH.replace("BEFORE", ""), str(SOURCES))
    # With numba imported first, bm25s imports it too, as it would by itself.
    with_numba = fresh_python(SEARCH.replace("BEFORE", "import numba"), str(SOURCES))
    assert alone["numba_loaded"] is False
    assert with_numba["numba_loaded"] is True
    assert alone["found"] == with_numba["found"]
    assert any(alone["found"])  # type: ignore[arg-type]


def test_each_thread_stems_with_its_own_stemmer() -> None:
    # PyStemmer's stemmers are not thread-safe; requests are served from several threads.
    from concurrent.futures import ThreadPoolExecutor

    from assistant.keyword import english_stemmer

    assert english_stemmer() is english_stemmer()
    words = ["stores", "serving", "pipelines", "monitoring", "features", "recommendations"] * 300
    expected = english_stemmer().stemWords(words)
    with ThreadPoolExecutor(max_workers=4) as pool:
        owners = list(pool.map(lambda _: id(english_stemmer()), range(8)))
        results = list(pool.map(lambda _: english_stemmer().stemWords(words), range(8)))
    assert id(english_stemmer()) not in owners  # a pool thread never gets this thread's one
    assert all(result == expected for result in results)
