"""The spelling corrector keeps wordfreq's verdicts but not its whole word list in memory."""

from __future__ import annotations

import itertools

import wordfreq

from assistant.spelling import ENGLISH_ZIPF, SpellCorrector


def test_english_words_are_known_exactly_as_wordfreq_rates_them_and_its_list_is_let_go() -> None:
    corrector = SpellCorrector(["a feature store serves features"], ["Feast"])
    # The caches holding wordfreq's whole list are empty once the corrector is built.
    assert wordfreq.get_frequency_dict.cache_info().currsize == 0
    assert wordfreq.get_frequency_list.cache_info().currsize == 0
    # Every ASCII word in the first 60,000 of the list: well past the bar (about 28,000).
    words = [w for w in itertools.islice(wordfreq.iter_wordlist("en"), 60_000) if w.isalpha()]
    verdicts = {w: wordfreq.zipf_frequency(w, "en") >= ENGLISH_ZIPF for w in words}
    assert sum(verdicts.values()) > 20_000 and not all(verdicts.values())
    assert {w for w in words if corrector.is_known(w)} == {w for w, v in verdicts.items() if v}
    assert corrector.is_known("feast") and corrector.is_known("don't")  # a name; not a-z only
    assert not corrector.is_known("feture")
    assert corrector.correct("feture stor") == (
        "feature store",
        {"feture": "feature", "stor": "store"},
    )


def test_the_correction_index_is_built_only_when_a_word_is_unknown() -> None:
    corrector = SpellCorrector(["a feature store serves features"], ["Feast"])
    assert corrector.correct("what is a feature store?") == ("what is a feature store?", {})
    assert not corrector.prepared  # no typo: a fresh `mlsd ask` never pays for the index
    assert corrector.correct("feture")[0] == "feature"
    assert corrector.prepared


def test_a_rare_english_word_gives_way_only_to_a_far_likelier_one() -> None:
    # The noisy-channel rule: "parallelism" (Zipf 2.6) is two edits from "parallels" (3.6), not
    # 100x likelier per edit, so it stays; "recomend" (2.1) is one edit from "recommend" (4.6).
    corrector = SpellCorrector(["a feature store serves features"], ["Feast"])
    assert corrector.correct("data parallelism") == ("data parallelism", {})
    assert corrector.correct("recomend a book") == ("recommend a book", {"recomend": "recommend"})
    assert corrector.correct("infrastucture")[0] == "infrastructure"
    # Rarer than the tail wordfreq keeps: corrected as any unknown word.
    assert corrector.correct("desgin")[0] == "design"
