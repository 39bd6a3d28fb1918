"""Assistant stage: the keyword (BM25) index over the stored chunks, behind a narrow interface."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

_LOCAL = threading.local()


def english_stemmer() -> Any:
    """This thread's Snowball English stemmer: PyStemmer's are not thread-safe, and requests
    are served from several threads (one instance each, built on first use)."""
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer


class KeywordIndex(Protocol):
    """Ranks chunk ids by keyword relevance to a query."""

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The k best chunk ids with their scores, best first; only positive scores."""
        ...


def _import_bm25s() -> Any:
    """bm25s, imported without numba.

    bm25s imports numba whenever it is installed (ranx installs it), +52 MB resident (measured,
    issue 16), though only its "numba" backend uses it and this index runs the default "numpy"
    one. A None entry in sys.modules makes `import numba` raise ImportError (the import system's
    documented rule), which bm25s handles; the entry is removed at once, so numba stays importable
    for anything else. Called while the assistant is built, before requests run in threads.
    """
    import sys

    if "bm25s" in sys.modules or "numba" in sys.modules:
        import bm25s

        return bm25s
    sys.modules["numba"] = None  # type: ignore[assignment]
    try:
        import bm25s
    finally:
        del sys.modules["numba"]
    return bm25s


class Bm25Index:
    """bm25s adapter with English stop words and a Snowball stemmer ("stores" finds "store")."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        bm25s = _import_bm25s()
        self._bm25s = bm25s
        self._ids = list(ids)
        self._index: Any = bm25s.BM25()
        if self._ids:
            tokens = bm25s.tokenize(
                list(texts), stopwords="en", stemmer=english_stemmer(), show_progress=False
            )
            self._index.index(tokens, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """BM25 over the chunks; an empty index or a query of only stop words finds nothing."""
        if not self._ids:
            return []
        tokens = self._bm25s.tokenize(
            [query], stopwords="en", stemmer=english_stemmer(), show_progress=False
        )
        if not tokens.ids or not tokens.ids[0]:
            return []
        # n_threads=0: scored in this thread (1 starts a thread pool for each query).
        docs, scores = self._index.retrieve(
            tokens, k=min(k, len(self._ids)), show_progress=False, n_threads=0
        )
        return [
            (self._ids[int(d)], float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if float(s) > 0.0
        ]
