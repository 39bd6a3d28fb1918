"""Assistant stage: correct typos without rewriting English or names (symspellpy + wordfreq).

The dictionary is the common English words of wordfreq, the corpus vocabulary and the catalog's
names. A word that is ordinary English or a known name is never rewritten; an unknown word is
replaced by the closest dictionary word, preferring one that forms a phrase the corpus uses with
its neighbour ("feture stor" -> "feature store") and then words of the corpus.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Iterable
from typing import Any

# wordfreq's Zipf scale: 3.0 is about once per million words. At or above it a word is English
# ("bread" 4.5, "thank" 5.5, "imbalance" 3.5); the dev typos sit below it ("stor" 2.35,
# "recomend" 2.1, "feture" 0).
ENGLISH_ZIPF = 3.0
# How many of wordfreq's most frequent English words may be suggested as corrections: enough
# for everyday words, few enough that the dictionary builds in about a second.
ENGLISH_WORDS = 20_000
# Shorter words are left alone: at one edit, most three-letter strings are another word.
MIN_LENGTH = 4
# The corpus's words outrank ordinary English among equally close candidates: a typo in a question
# here is likelier "feature" than "future". Added to a count of frequency x 1e9, this equals a
# word with Zipf 6 (frequency 1e-3), above all but the commonest English words.
CORPUS_BOOST = 1_000_000
# A rare English word ("parallelism", Zipf 2.6) is rewritten only when a correction is far likelier
# than the word itself: the noisy-channel rule with about one typo per hundred letters typed, so
# each edit costs a factor of 100 (2 on the Zipf scale). "recomend" (2.1) -> "recommend" (4.6) at
# one edit passes; "parallelism" -> "parallels" (3.6) at two edits does not.
ZIPF_PER_EDIT = 2.0
# Rarer words than this are treated as unknown (wordfreq's long tail holds many typos: "desgin"
# 1.1, "infrastucture" 1.3), and are not kept in memory.
RARE_ZIPF = 1.5

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def words_of(text: str) -> list[str]:
    """The lower-case words of a text, as the corrector sees them."""
    return _WORD.findall(text.lower())


def _english_frequencies() -> dict[str, float]:
    """wordfreq's English word frequencies (its whole list, read once from its data file)."""
    import wordfreq

    # One dictionary read instead of a `zipf_frequency` call per word (about 1 s for 48,000
    # calls, most of a fresh `mlsd ask`); for single words the two agree (checked on the list's
    # first 60,000 words).
    return dict(wordfreq.get_frequency_dict("en"))


class SpellCorrector:
    """Fixes likely typos; returns the corrected text and what was changed.

    Knowing a word costs set lookups; the SymSpell index that suggests corrections is built on
    the first unknown word (about a second), so a question without typos never pays for it.
    A server builds it at start-up (`prepare`).
    """

    def __init__(self, corpus_texts: Iterable[str], names: Iterable[str]) -> None:
        import wordfreq

        corpus: set[str] = set()
        self._bigrams: set[tuple[str, str]] = set()
        for text in corpus_texts:
            words = words_of(text)
            corpus.update(words)
            self._bigrams.update(itertools.pairwise(words))
        self._names = {w for name in names for w in words_of(name)}
        self._corpus = corpus | self._names
        # Everything needed from wordfreq is read here, then its caches are dropped: its whole
        # English list (321,180 words) stays cached once read, about 33 MB resident (measured,
        # issue 16), to answer for the 29,000 words at or above ENGLISH_ZIPF.
        frequencies = _english_frequencies()
        bar = 10 ** (ENGLISH_ZIPF - 9)  # Zipf is log10 of the frequency per billion words
        self._english = frozenset(
            w for w, f in frequencies.items() if f >= bar and w.isascii() and w.isalpha()
        )
        # The Zipf of rarer English words, tenths as ints (shared small ints), for the
        # noisy-channel test: about 120,000 words.
        rare = 10 ** (RARE_ZIPF - 9)
        self._rare = {
            w: round(10 * (math.log10(f) + 9))
            for w, f in frequencies.items()
            if rare <= f < bar and len(w) >= MIN_LENGTH and w.isascii() and w.isalpha()
        }
        english = [w for w in wordfreq.top_n_list("en", ENGLISH_WORDS) if w.isalpha()]
        dictionary = {*english, *(w for w in self._corpus if w.isalpha() and len(w) > 2)}
        self._counts = {w: int(frequencies.get(w, 0.0) * 1e9) + 1 for w in dictionary}
        for cached in (wordfreq.get_frequency_dict, wordfreq.get_frequency_list):
            cached.cache_clear()
        self._symspell: Any = None
        self._lock = threading.Lock()

    @property
    def prepared(self) -> bool:
        """Whether the correction index is built."""
        return self._symspell is not None

    def prepare(self) -> None:
        """Build the correction index now (a server does, so no request waits for it)."""
        with self._lock:
            if self._symspell is not None:
                return
            from symspellpy import SymSpell

            # prefix_length 5 keeps the build near one second; edits past the fifth letter
            # still match through the prefix (symspellpy's documented trade-off).
            symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=5)
            for word, count in self._counts.items():
                symspell.create_dictionary_entry(
                    word, count + (CORPUS_BOOST if word in self._corpus else 0)
                )
            self._symspell = symspell

    def is_known(self, word: str) -> bool:
        """English (by wordfreq), a corpus word or a name: never rewritten."""
        if word in self._corpus or word in self._english:
            return True
        if word.isascii() and word.isalpha():
            return False  # such a word at or above ENGLISH_ZIPF is in self._english
        from wordfreq import zipf_frequency

        return zipf_frequency(word, "en") >= ENGLISH_ZIPF

    def _candidates(self, word: str) -> dict[str, int]:
        """Dictionary words closest to an unknown word, with their counts."""
        from symspellpy import Verbosity

        distance = 1 if len(word) <= 5 else 2
        self.prepare()
        found = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        zipf = self._rare.get(word)
        if zipf is not None:  # a rare English word: only a far likelier word replaces it
            # (by English frequency, without the corpus boost: "regularization" is not a typo
            # of the corpus's "regularisation")
            found = [
                s
                for s in found
                if math.log10(self._counts[s.term]) - zipf / 10 >= ZIPF_PER_EDIT * s.distance
            ]
        return {s.term: s.count for s in found}

    def correct(self, text: str) -> tuple[str, dict[str, str]]:
        """The text with typos fixed, and {typo: correction} for each change."""
        tokens = re.split(r"([a-z][a-z'-]*[a-z])", text)
        # Each word's possible readings: itself when known, else its closest dictionary words.
        options: dict[int, dict[str, int]] = {}
        for i in range(1, len(tokens), 2):
            word = tokens[i]
            unknown = len(word) >= MIN_LENGTH and word.isalpha() and not self.is_known(word)
            options[i] = (self._candidates(word) or {word: 0}) if unknown else {word: 0}

        def in_context(i: int, term: str) -> bool:
            before = options.get(i - 2, {})
            after = options.get(i + 2, {})
            return any((b, term) in self._bigrams for b in before) or any(
                (term, a) in self._bigrams for a in after
            )

        corrections: dict[str, str] = {}
        for i, choices in options.items():
            best = max(choices, key=lambda term: (in_context(i, term), choices[term]))
            if best != tokens[i]:
                corrections[tokens[i]] = best
                tokens[i] = best
        return "".join(tokens), corrections
