"""The BM25 index imports bm25s without numba (memory) and ranks as bm25s with numba does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def _search(before: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SEARCH.replace("BEFORE", before), str(SOURCES)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_bm25_leaves_numba_unloaded_and_ranks_as_with_it() -> None:
    alone = _search("")
    with_numba = _search("import numba")  # bm25s then imports it, as it would by itself
    assert alone["numba_loaded"] is False
    assert with_numba["numba_loaded"] is True
    assert alone["found"] == with_numba["found"]
    assert any(alone["found"])  # type: ignore[arg-type]
