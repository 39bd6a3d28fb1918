"""Assistant stage: find the concepts a question asks about (by name, else by meaning)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Collection, Mapping

import numpy as np

from assistant.hybrid import split_sentences
from assistant.keyword import Bm25Index
from ingest.concepts import Concept
from ingest.embedding import Embedder
from ingest.linking import normalize

# Cosine similarity between a question and a concept (the mean of its TOP_VIEWS best views:
# name with aliases, definition, learners' questions) above which an explain question is taken
# to be about that concept. Tuned on the dev split of evals/datasets/concept_questions.yaml
# (`python -m evals.concept_matching`), which asks mostly without the concept's name: every
# floor from 0.32 to 0.38 gets 43 of 46 right with 3 wrong concepts, 0.4 gets 41. Of those,
# 0.38 names the fewest wrong concepts for the glossary's held-out example questions (121 of
# 664, against 136 at 0.34) and no concept for "how do hash maps work?" (one partitioning
# question about hashing keys reached 0.43 alone, which is why the floor is on two views and
# not the best one: on the best view at 0.42, dev got 42 right). Below it, the answer is a
# reading list rather than a wrong definition.
MIN_SIMILARITY = 0.38

# The lower floor for a concept the catalog's retrieval agrees with: an explain question that
# names no concept ("making sure the numbers a model sees live match what it saw when it was
# fit") may reach its concept only weakly by meaning, while the resources retrieval ranks first
# for it are ones the glossary says teach that concept. Two independent signals that agree are
# evidence, as two agreeing views are. Holding out each of the glossary's 672 example questions
# in turn (`python -m evals.concept_matching --retrieval`), 449 find their concept and 114 a
# wrong one without it; with it, 472 and 117 at 0.30, 468 and 116 at 0.32, 462 and 115 at 0.34
# (dev's 46 concept questions: 43 right at each). Lowering MIN_SIMILARITY to 0.30 for every
# question instead names a wrong concept 30 times for 44 right. Below 0.3 MiniLM's cosine says
# little about meaning.
SUPPORTED_FLOOR = 0.30
# How many of retrieval's first resources count as its answer to the question.
SUPPORT_DEPTH = 5
# The largest share of the glossary's concepts a resource may teach and still be evidence for
# one of them: a survey that teaches a third of them (Designing Machine Learning Systems, 27 of
# 84) is found for almost any question and says nothing about which concept it means ("what
# does the privacy review ask about location data in features?" is not about edge deployment).
# At a tenth, the three broadest resources are left out: held out in turn with retrieval, the
# example questions find their concept 473 times and a wrong one 114 (475 and 114 with every
# resource as evidence), and the dataset questions about the user's own documents ("what does
# the onboarding doc say about on-call?") keep from being given a definition.
SPECIFIC_SHARE = 0.1

# Subtracted from a question view's cosine: two questions share their form ("what do you call
# ...?", "why would ...?"), so a learner's question sits closer to every concept's example
# questions than to any definition. Swept on the dev split of concept_questions.yaml (`python -m
# evals.concept_matching`, "discounts"): with eight example questions a concept, 0 to 0.05 get
# 43 of 46 and 0.06 and up 41 (with four, 0.04 to 0.07 were best, 43 against 41 with none).
QUESTION_DISCOUNT = 0.05

# Weight of the lexical score when an explain question picks its concept: each concept's BM25
# score over its name, aliases, definition and example questions (assistant/keyword.py's
# Bm25Index, stemmed, without stop words), divided by the best concept's score for the question,
# is added to its best views' mean cosine. The exact (stemmed) words a question shares with one
# concept's text then separate neighbours MiniLM places about as close. It only reorders: the
# floor still applies to the winner's cosine, and `similarities`, `nearest` and the scope check
# use the cosine alone. Swept with `python -m evals.concept_matching` ("lexical weight"),
# eight example questions a concept: every weight from 0.15 to 0.5 gets 43 of 46 dev questions
# right (39 at 0, the cosine alone). Holding out each of the glossary's 664 example questions
# in turn, the right concept peaks at 0.35 (438, against 363 at 0) while wrong ones keep
# falling, from 236 at 0 to 121 at 0.35, 120 at 0.4 (436 right) and 113 at 0.5 (434). Dev's
# explain answers (`mlsd eval`) set the weight: above 0.4, "I can never remember which
# hyperparameters produced which result" is given to experiment tracking on its words, whose
# meaning stays below the floor, and gets no definition; up to 0.4 it is defined as
# hyperparameter tuning, the near concept its meaning reaches. (At four questions a concept,
# 0.2 to 0.35 were best on dev and 0.5 lost two.)
LEXICAL_WEIGHT = 0.4

# How many of a concept's best views (name, definition, example questions) are averaged when an
# explain question picks its concept: with eight example questions a concept, the single best
# view is often one incidental question of a neighbour ("what happens when the features at
# training time differ from the ones the live model sees?" met a data-drift question before any
# training-serving-skew one); two that agree are evidence, for the choice and for the floor.
# Measured with `python -m evals.concept_matching` ("top views"): at 1, 43 of 46 dev questions
# right with 3 wrong concepts, and of the 664 held-out example questions 454 right, 144 wrong;
# at 2, 43 with 3, and 436 with 120 (a wrong definition is worse than none); at 3, 41 with 3.
TOP_VIEWS = 2

# The lead of an explain question's best concept over the next (rank score) below which the
# next is offered too ("if that is not what you meant: ..."). Holding out each of the glossary's
# 664 example questions in turn, the 149 picks that lead by less than 0.1 are right 61 times
# and wrong 88; from 0.1 to 0.2, 112 right and 20 wrong. Of those 149, the right concept is
# first or a second that clears the floor 91 times (`python -m evals.concept_matching`).
UNSURE_MARGIN = 0.1

# Similarity to the nearest concept above which a question is about ML systems even when
# retrieval alone would call it out of scope ("how do you make a big model smaller so it runs on
# cheap hardware?"). On the dev splits of out_of_scope.yaml and intents.yaml the off-topic messages
# reach at most 0.41 (a gaming graphics card vs GPU utilization); 92% of dev concept questions
# score 0.5 or more (`python -m evals.concept_matching`, "scope").
SCOPE_SIMILARITY = 0.5

# Asking for a meaning, whatever intent the rules gave it ("what does X mean?", "define X").
_DEFINE = re.compile(
    r"^(?:(?:what does|what do)\b.*\bmean\b|(?:define|meaning of|what is meant by|eli5)\b)"
    # "Feature stores in simple terms", "explain RAG like I'm five".
    r"|\b(?:eli5|like i'?m (?:five|5)|in (?:simple|plain|layman'?s?) (?:terms|english|words))\b"
)
# "KV cache?": a concept's name alone, asked as a question.
_BARE = re.compile(r"^(?:an? |the )?(?P<name>[\w' -]+?)\s*\?+$")
# "what is", "what's", "what exactly are", "what problem does", "why do we need", "how does":
# asking what something is, what it is for or how it works.
_WHAT_IS = re.compile(
    # The longer openings first: "what's" alone would end the match before "the point of".
    r"^(?:so |and |ok |okay )?(?:what problems? (?:does|do|is|are)|"
    r"what(?:'s|s| is) the (?:point|purpose|use) of|"
    r"why (?:do|would|does) (?:we|i|you|teams|people|anyone|one) (?:need|use|want)|"
    r"how (?:does|do|is|are)|whats|what(?: exactly)?(?:'s| is| are))(?: exactly)? (?:an? |the )?"
)
# "..., what are they?", "... - what is that?": asking what the thing just named is.
_WHAT_IS_IT = re.compile(r"\bwhat(?:'s|s| is| are) (?:it|they|that|those|these|this)\W*$")
_SIDES = r"vs|versus|differences? between|compare|comparing|comparison"
# "between A and B", "A vs B", "compare A with B", "A instead of B": the two sides of a comparison.
_COMPARISON = re.compile(rf"\b({_SIDES}|instead of|rather than)\b")
_EITHER = re.compile(r"\bor\b")
# Two things set side by side in so many words; "instead of fine-tuning" only names an option.
_SIDE_BY_SIDE = re.compile(rf"\b(?:{_SIDES}|differ(?:s|ent)? from)\b")
# "How is it different from testing the model offline?": whatever its length, a comparison
# that opens with "it" sets the last subject beside what its own words name.
COMPARES_IT = re.compile(
    r"^(?:so |and |ok |okay |but )?(?:how|what) (?:is|are|does|do) (?:it|that|this|they|those) "
    r"(?:different|differ|compare)\b|^(?:is|are) (?:it|that|this) (?:different (?:from|than|to)|"
    r"the same as|(?:any )?(?:better|worse) than)\b"
)
_DIFFERS = re.compile(r"\s*\b(?:is |are |does |do )?(?:different|differs?|compared?|compares)$")
_PRONOUN = re.compile(r"(?:it|that|this|they|them|those|these|the (?:first|second|last) one)")
_ARTICLE = re.compile(r"^(?:an?|the)\s+")
# The words between the two options of a choice ("precompute overnight versus compute per
# request").
_OPTIONS = r"or|vs|versus|instead of|rather than"
# A choice between two ways of doing something, which may name neither ("should I precompute
# predictions or compute them on request?"): the two sides are compared if each means a concept.
_CHOICE = re.compile(
    r"^(?:so |and |ok |okay )?(?:(?:should|do|can|could|would) (?:i|we|you)|is it better|"
    rf"would it be better|which is better|when should (?:i|we))\b.*\s(?:{_OPTIONS})\s"
)
_ALTERNATIVES = re.compile(rf"\s+(?:{_OPTIONS})\s+")
_AFTER = re.compile(r"\b(?:between|compare|comparing|comparison of)\s+")
_SPLIT = re.compile(r"\s+(?:and|vs|versus|or|with|to|from)\s+")
_TAIL = re.compile(r"\s+(?:in|for|when|which|and why|and when)\s+.*$")
_LEAD = re.compile(
    r"^(?:(?:what's|what is|what are|whats|the|a|an|difference|differences|how|does|do|is|are|"
    r"should i use|when to use|use)\s+)+"
)


# A request's frame, which says what is wanted of the subject, not what the subject is: "explain
# the jargon around X to a newcomer", "can you walk me through X in plain English?". Its words
# mislead both signals: "explain" is a word of the responsible-AI entry (explainability), and
# the frame pulls the embedding toward every entry's example questions alike.
_AUDIENCE = (
    r"(?:to|for) (?:an? |my )?(?:newcomers?|beginners?|novices?|juniors?|laym[ae]n|layperson|"
    r"non[- ]?experts?|outsiders?|me|us|team|manager|(?:five|5)[- ]year[- ]old)"
)
_PLAINLY = r"in (?:simple|plain|layman'?s?) (?:terms|english|words)|like i'?m (?:five|5)"
_FRAME_START = re.compile(
    r"^(?:(?:so|ok|okay|please|hey|hi),?\s+)*(?:(?:can|could|would) you\s+(?:please\s+)?)?"
    r"(?:explain|describe|define|summari[sz]e|tell me (?:about|what)|help me understand|"
    r"walk me through|give me (?:an? )?(?:overview|intro(?:duction)?|primer) (?:of|on|to)|"
    rf"i (?:want|would like|'d like|need) to (?:understand|learn about|know about))\s+"
    rf"(?:{_AUDIENCE}\s+)?(?:(?:the|some|all the|a few)\s+)?(?:(?:basic|key|main|core|common)\s+)?"
    r"(?:(?:jargon|terminology|vocabulary|lingo|buzzwords?|terms?|concepts?|ideas?|basics|"
    r"fundamentals|meaning|notion)\s+(?:around|of|behind|in|for|used in|related to|"
    r"that comes? with)\s+)?"
)
# Who it is for and how plainly: at the end, or anywhere set off ("explain, like I'm five, why").
_FRAME_END = re.compile(rf"(?:\s*,?\s+(?:{_AUDIENCE}|{_PLAINLY}|simply|briefly|please))+(?=\W*$)")
_FRAME_ASIDE = re.compile(rf",\s*(?:{_AUDIENCE}|{_PLAINLY})\s*,|\s*\b(?:{_PLAINLY})\b")


def request_subject(text: str) -> str:
    """A request with its frame removed: what it asks about ("explain the jargon around
    shipping models to a newcomer" -> "shipping models"); the normalized text itself when it
    has no frame or nothing but one."""
    plain = normalize(text).strip()
    subject = _FRAME_END.sub("", _FRAME_ASIDE.sub("", plain))
    subject = _FRAME_START.sub("", subject.strip(" ,"), count=1).strip()
    return subject if subject.strip("?!. ") else plain


def _plain(text: str) -> str:
    """Normalized, with hyphens and slashes as spaces and other punctuation dropped."""
    text = normalize(text).replace("-", " ").replace("/", " ")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


class ConceptIndex:
    """The glossary, searchable by name (exact phrases) and by meaning (the shared embedder)."""

    def __init__(
        self,
        concepts: Mapping[str, Concept],
        embedder: Embedder | None = None,
        question_discount: float = QUESTION_DISCOUNT,
        lexical_weight: float = LEXICAL_WEIGHT,
        top_views: int = TOP_VIEWS,
        supported_floor: float = SUPPORTED_FLOOR,
    ) -> None:
        self.concepts = dict(concepts)
        self.supported_floor = supported_floor
        self.question_discount = question_discount
        self.lexical_weight = lexical_weight
        self.top_views = top_views
        self._embedder = embedder
        # Built here, not on the first question: bm25s is imported before requests run in
        # threads (assistant/keyword.py). Only with an embedder: it reorders cosines.
        self._words = (
            Bm25Index(
                [c.id for c in self.concepts.values()],
                [
                    " ".join([c.name, *c.aliases, c.definition, *c.questions])
                    for c in self.concepts.values()
                ],
            )
            if embedder is not None and self.concepts
            else None
        )
        # The resources specific enough to be evidence for a concept (SPECIFIC_SHARE).
        taught = Counter(rid for c in self.concepts.values() for rid in c.resources)
        self._specific = {
            rid for rid, n in taught.items() if n <= SPECIFIC_SHARE * len(self.concepts)
        }
        self._vectors: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()
        patterns: list[tuple[re.Pattern[str], str, int, int, str]] = []
        for concept in self.concepts.values():
            for name in concept.names:
                words = _plain(name).split()
                if len("".join(words)) < 2:
                    continue
                # Hyphens, slashes and spaces are one separator ("point in time", "A/B"); a
                # plural or possessive of a name counts ("feature stores", "SLOs").
                body = r"[\s\-/]+".join(re.escape(w) for w in words)
                pattern = re.compile(r"(?<![\w])" + body + r"(?:s|es|'s)?(?![\w])")
                size = len(" ".join(words))
                patterns.append((pattern, concept.id, size, len(words), words[0]))
        self._patterns = sorted(patterns, key=lambda p: -p[2])  # longest claims its span first

    def spans(
        self, text: str, min_words: int = 1, among: Collection[str] | None = None
    ) -> list[tuple[int, int, Concept]]:
        """Where a normalized text names concepts (of `among`, if given): start, end and
        concept, in text order; longer names win overlaps. `min_words=2` counts only names of
        two words or more."""
        taken: list[tuple[int, int, Concept]] = []
        for pattern, concept_id, _, words, first in self._patterns:
            if words < min_words or (among is not None and concept_id not in among):
                continue
            if first not in text:  # a substring test is far cheaper than the scan
                continue
            for match in pattern.finditer(text):
                start, end = match.span()
                if not any(start < e and s < end for s, e, _ in taken):
                    taken.append((start, end, self.concepts[concept_id]))
        return sorted(taken, key=lambda span: span[0])

    def named_in(self, text: str, min_words: int = 1) -> list[Concept]:
        """The concepts a text names, in order of first mention; longer names win overlaps.
        `min_words=2` counts only names of two words or more ("point-in-time correctness", not
        "caching"), for when a name must be evidence of the domain on its own."""
        found = self.spans(normalize(text), min_words)
        return list({concept.id: concept for _, _, concept in found}.values())

    def asked_what(self, text: str) -> Concept | None:
        """The concept a question opens by asking what it is ("what is infrastructure as code and
        why do ML teams care?"), whatever follows; None if it opens otherwise."""
        plain = normalize(text)
        found = self.spans(plain)
        if found and _WHAT_IS_IT.search(plain):
            return found[0][2]
        opening = _WHAT_IS.match(plain)
        if opening is None:
            return None
        return found[0][2] if found and found[0][0] == opening.end() else None

    @property
    def embedded(self) -> bool:
        """Whether the glossary's vectors are built."""
        return self._vectors is not None

    def similarities(self, text: str) -> dict[str, float]:
        """Each concept's cosine similarity to a text: the best of its name with aliases, its
        definition and the questions learners ask about it (a question may use the concept's
        words, describe it, or describe a symptom of it)."""
        return self._by_concept(self._view_scores(text), 1)

    def _view_scores(self, text: str) -> np.ndarray:
        """The text's cosine with every view, question views discounted (empty: no views)."""
        if self._embedder is None or not self.concepts:
            return np.empty(0)
        with self._lock:  # embedded once, on the first question that needs it
            if self._vectors is None:
                self._vectors = self._embed_views(self._embedder)
        _, _, matrix, is_question = self._vectors
        query = np.asarray(self._embedder.embed([text])[0], dtype=np.float64)
        return matrix @ query - self.question_discount * is_question  # unit vectors: cosines

    def _by_concept(self, scores: np.ndarray, views: int) -> dict[str, float]:
        """Each concept's mean over its `views` best view scores."""
        if self._vectors is None or not scores.size:
            return {}
        ids, owners, _, _ = self._vectors
        # One row per concept, its view scores padded with -inf, best first.
        counts = np.bincount(owners, minlength=len(ids))
        place = np.arange(len(owners)) - np.repeat(np.cumsum(counts) - counts, counts)
        grid = np.full((len(ids), int(counts.max())), -np.inf)
        grid[owners, place] = scores
        top = -np.sort(-grid, axis=1)[:, :views]
        taken = np.minimum(counts, views)
        kept = np.arange(top.shape[1]) < taken[:, None]
        best = np.where(kept, top, 0.0).sum(axis=1) / taken
        return {cid: float(score) for cid, score in zip(ids, best, strict=True)}

    def _embed_views(
        self, embedder: Embedder
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Every concept's views as rows, with the index of the concept each row belongs to and
        whether the row is an example question (1.0) or a name or definition (0.0)."""
        concepts = list(self.concepts.values())
        texts: list[str] = []
        owners: list[int] = []
        is_question: list[float] = []
        for row, concept in enumerate(concepts):
            views = [f"{concept.name}: {', '.join(concept.aliases)}", concept.definition]
            texts += [*views, *concept.questions]
            owners += [row] * (len(views) + len(concept.questions))
            is_question += [0.0] * len(views) + [1.0] * len(concept.questions)
        matrix = np.asarray(embedder.embed(texts), dtype=np.float64)
        return [c.id for c in concepts], np.asarray(owners), matrix, np.asarray(is_question)

    def _ranking(self, text: str, similar: dict[str, float]) -> dict[str, float]:
        """Each concept's cosine plus `lexical_weight` times its BM25 score relative to the best
        concept's for the text (0 when no concept shares a word with it)."""
        if self._words is None or not similar or self.lexical_weight == 0.0:
            return similar
        found = self._words.search(text, k=len(self.concepts))
        if not found:
            return similar
        top = found[0][1]
        ranked = dict(similar)
        for cid, score in found:
            ranked[cid] += self.lexical_weight * score / top
        return ranked

    def nearest(self, text: str) -> tuple[Concept, float] | None:
        """The concept closest in meaning to a text, with its cosine similarity."""
        similar = self.similarities(text)
        if not similar:
            return None
        best = max(similar, key=similar.__getitem__)
        return self.concepts[best], similar[best]

    def closest_sentence(self, concept: Concept, text: str) -> str:
        """The sentence of a concept's definition or why-it-matters closest in meaning to a text
        ("which is safer?": "... with zero user risk")."""
        sentences = split_sentences(f"{concept.definition.strip()} {concept.why.strip()}")
        if self._embedder is None or len(sentences) < 2:
            return sentences[0] if sentences else ""
        vectors = np.asarray(self._embedder.embed([text, *sentences]), dtype=np.float64)
        return sentences[int(np.argmax(vectors[1:] @ vectors[0]))]

    def in_scope(self, text: str) -> bool:
        """Whether a text is about a glossary concept: it names one of two words or more
        ("point-in-time correctness"; a one-word name like "caching" means other things
        elsewhere), or it is close in meaning to one."""
        if self.named_in(text, min_words=2):
            return True
        near = self.nearest(text)
        return near is not None and near[1] >= SCOPE_SIMILARITY

    def for_question(
        self,
        text: str,
        intent: str,
        floor: float = MIN_SIMILARITY,
        retrieved: Collection[str] = (),
    ) -> list[Concept]:
        """What an explain (one concept) or compare (two) question is about; [] if unsure.

        The comparison is read from the words themselves too: a spelling fix may have turned
        "difference between" into something the intent rules call an explain question.
        `retrieved` is what retrieval ranked first for the question: a concept one of those
        teaches needs only `supported_floor`.
        """
        plain = _plain(text)
        choice = bool(_CHOICE.search(plain))
        if intent not in ("explain", "compare") and not (_DEFINE.search(plain) or choice):
            return []
        # "Data drift or concept drift, which is it?" names both sides as one question does.
        either = _EITHER.search(plain) and len(self.named_in(text, min_words=2)) >= 2
        worded = bool(_COMPARISON.search(plain) or either or choice)
        if intent == "compare" or worded:
            pair = self._pair(text)
            if not pair and (choice or intent == "compare"):
                pair = self._pair_by_meaning(plain, floor)
            named = self.named_in(text)
            explicit = _SIDE_BY_SIDE.search(plain)  # not "instead of", "rather than"
            if not pair and explicit and len(named) == 1 and self.other_side(text, named[0]):
                # "MLOps vs DevOps" with no entry for DevOps: the side there is, defined,
                # and the other said to have none.
                return named
            # A comparison only the classifier saw, with no two sides found ("what happens when
            # features are computed differently in batch and in real time?"), may still be
            # about one concept.
            if pair or not (intent == "explain" or (intent == "compare" and not worded)):
                return pair
        # "What is RAG, and when would I fine-tune instead?": the concept it opens by asking
        # about, even when a longer name comes later.
        opened = self.asked_what(text)
        if opened is not None:
            return [opened]
        named = self.named_in(text, min_words=2)
        if named:  # "point-in-time correctness": a name of two words or more is unambiguous
            return [self._meant(text, named[0], floor)]
        # A one-word name ("cache", "embeddings") may be part of a question about something
        # more specific; it wins unless another concept is closer in meaning.
        short = self.named_in(text)
        # The best views' agreement with the words' evidence picks the concept; the agreement
        # alone must clear the floor.
        agreed, ranked = self._fit(text)
        near = max(ranked, key=ranked.__getitem__) if ranked else None
        if short and (near is None or ranked[near] <= ranked.get(short[0].id, 0.0)):
            return short[:1]
        if near is None:
            return short[:1]
        # A question of a few words names its subject ("what is backpropagation?"): how close
        # one unknown word comes to a concept is chance, which no resource confirms. A described
        # subject is what the lower floor is for.
        evidence = self._specific.intersection(retrieved) if len(plain.split()) > 4 else set()
        supported = not evidence.isdisjoint(self.concepts[near].resources)
        enough = min(floor, self.supported_floor) if supported else floor
        return [self.concepts[near]] if agreed[near] >= enough else short[:1]

    def bare_name(self, text: str) -> Concept | None:
        """The concept a message names and nothing else, asked as a question ("KV cache?");
        None otherwise ("experiment tracking", without the question mark, asks for a list)."""
        found = _BARE.match(normalize(text).strip())
        if found is None:
            return None
        name = _plain(found["name"])
        spans = self.spans(name)
        if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] >= len(name.rstrip()):
            return spans[0][2]
        return None

    def _meant(self, text: str, named: Concept, floor: float) -> Concept:
        """The concept a question naming `named` is about: that one, unless the question's
        meaning does not reach it (below the floor) but does reach another, or another leads it
        by more than UNSURE_MARGIN even with the named one's words counted. "How do I make my
        inference server combine requests into one batch?" names model serving in passing and
        means dynamic batching. Of the glossary's 664 example questions held out in turn, 40
        name a concept of two words or more; the name alone picked 32 wrongly, and with the
        floor check 8 of those are right and none of the right ones is lost. The lead check
        ("why would a model server wait a few milliseconds to group requests together?") takes
        the 672 from 449 right and 114 wrong to 452 and 111 (454 and 109 with any lead, which
        would overrule a name on a hair); dev's 43 of 46 are unchanged."""
        agreed, ranked = self._fit(text)
        if not ranked:
            return named
        near = max(ranked, key=ranked.__getitem__)
        incidental = agreed[named.id] < floor <= agreed[near]
        outweighed = agreed[near] >= floor and ranked[near] - ranked[named.id] > UNSURE_MARGIN
        return self.concepts[near] if incidental or outweighed else named

    def runner_up(self, text: str, best: Concept, floor: float = MIN_SIMILARITY) -> Concept | None:
        """The next concept by meaning when an explain question that names no concept leads
        with `best` by less than UNSURE_MARGIN and the next clears the floor too; the concept
        it names when its meaning chose another (see `_meant`), or the one its meaning leads
        with when the name was kept; else None."""
        if self.named_in(text):
            passed = self.named_in(text, min_words=2)
            if not passed:
                return None
            if passed[0].id != best.id:  # the name its meaning overruled
                return passed[0] if self.asked_what(text) is None else None
            # The name kept, though the question's meaning leads elsewhere ("how do
            # recommendation systems pick candidates before ranking?"): that one is next, if
            # the meaning alone prefers it too (not only the words of the rest of the question:
            # "open-source model serving frameworks" is not about model cards).
            agreed, ranked = self._fit(text)
            if not ranked:  # no embedder: names only
                return None
            near = max(ranked, key=ranked.__getitem__)
            ahead = near != best.id and agreed[near] > max(agreed[best.id], floor)
            return self.concepts[near] if ahead else None
        agreed, ranked = self._fit(text)
        order = sorted(ranked, key=ranked.__getitem__, reverse=True)[:2]
        if len(order) < 2 or order[0] != best.id:
            return None
        second = order[1]
        close = ranked[best.id] - ranked[second] < UNSURE_MARGIN
        return self.concepts[second] if close and agreed[second] >= floor else None

    def _pair_by_meaning(self, plain: str, floor: float) -> list[Concept]:
        """The two concepts a choice sets against each other without naming them: the question's
        two best concepts by meaning, both above the floor, one among the best two of each side
        of its "or" or "versus" ("show it to a few users first" / "run it silently next to the
        old one": canary and shadow deployment); [] unless it is that clear."""
        parts = _ALTERNATIVES.split(plain, maxsplit=1)
        if len(parts) != 2:
            return []
        before, after = parts
        # A side of a word or two is a name ("precision vs recall"), which `_pair` reads; only a
        # described way of doing something is matched by meaning.
        if min(len(before.split()), len(after.split())) < 3:
            return []
        best = self._best(plain, 2)
        if len(best) < 2 or any(score < floor for _, score in best):
            return []
        # A side that names a concept means that one ("a feature store or ...").
        sides = [
            {named[0].id} if (named := self.named_in(side)) else {c for c, _ in self._best(side, 2)}
            for side in (before, after)
        ]
        (a, _), (b, _) = best
        for first, second in ((a, b), (b, a)):
            if first in sides[0] and second in sides[1]:
                return [self.concepts[first], self.concepts[second]]
        return []

    def _best(self, text: str, n: int) -> list[tuple[str, float]]:
        """The `n` concepts that best fit a text by meaning and words, each with its agreement
        (the mean cosine of its best views, which the floor applies to)."""
        agreed, ranked = self._fit(text)
        return [(cid, agreed[cid]) for cid in sorted(ranked, key=ranked.__getitem__)[::-1][:n]]

    def _fit(self, text: str) -> tuple[dict[str, float], dict[str, float]]:
        """Each concept's agreement with a text (the mean cosine of its TOP_VIEWS best views,
        which the floor applies to) and its rank score (that plus the words' evidence)."""
        agreed = self._by_concept(self._view_scores(text), self.top_views)
        subject = request_subject(text)
        if subject != normalize(text).strip():
            # Either reading may be the closer: the frame can carry meaning ("describe how a
            # model is monitored"); the subject alone is not diluted by it.
            alone = self._by_concept(self._view_scores(subject), self.top_views)
            agreed = {cid: max(score, alone[cid]) for cid, score in agreed.items()}
        return agreed, self._ranking(subject, agreed)

    def _pair(self, text: str) -> list[Concept]:
        named = self.named_in(text)
        plain = _plain(text)
        after = _AFTER.search(plain)
        parts = _SPLIT.split(plain[after.end() :] if after else plain, maxsplit=1)
        if len(parts) == 2:
            a, b = _LEAD.sub("", parts[0]).strip(), _TAIL.sub("", parts[1]).strip()
            found = [self.named_in(side) for side in _distribute(a, b)]
            if all(found):
                # "A data lake or a data warehouse?": one entry that explains both sides.
                return list({c.id: c for c in (found[0][0], found[1][0])}.values())
            if len(named) < 2:
                return self._pair_by_first_words(_distribute(a, b), found)
        return named[:2] if len(named) >= 2 else []

    def other_side(self, text: str, concept: Concept) -> tuple[str, bool] | None:
        """The side of a comparison set against `concept` (named, or referred to by "it") when
        it has no glossary entry of its own: its words, and whether they name `concept` itself
        ("how is it different from retraining on a schedule?" after continual learning, whose
        entry counts retraining). None if the text sets no two sides, or the other side is
        another concept."""
        plain = _plain(text)
        if not any(p.search(plain) for p in (_COMPARISON, _SIDE_BY_SIDE, COMPARES_IT)):
            return None
        after = _AFTER.search(plain)
        parts = _SPLIT.split(plain[after.end() :] if after else plain, maxsplit=1)
        if len(parts) != 2:
            return None
        sides = [_LEAD.sub("", parts[0]).strip(), _TAIL.sub("", parts[1]).strip()]
        sides = [_ARTICLE.sub("", _DIFFERS.sub("", side)).strip() for side in sides]
        named = [{c.id for c in self.named_in(side)} for side in sides]
        for n, side in enumerate(sides):
            other, other_named = sides[1 - n], named[1 - n]
            if not side or _PRONOUN.fullmatch(side) or named[n] - {concept.id}:
                continue
            if concept.id in other_named or _PRONOUN.fullmatch(other):
                return _as_written(side, text), concept.id in named[n]
        return None

    def _pair_by_first_words(
        self, sides: tuple[str, str], found: list[list[Concept]]
    ) -> list[Concept]:
        """Sides that give only the start of a concept's name, the shared rest left out:
        "shadow and canary" (deployment). A side that names a concept (`found`) means it; of
        the concepts the others start, the pair whose names end alike; [] when there is none
        or more than one."""
        words_of = [side.split() for side in sides]
        if not all(words_of):
            return []
        starts: list[list[Concept]] = [list(f[:1]) for f in found]
        for concept in self.concepts.values():
            for name in concept.names:
                words = _plain(name).split()
                for n, side in enumerate(words_of):
                    if not found[n] and len(words) > len(side) and words[: len(side)] == side:
                        starts[n].append(concept)
        pairs = {
            (x.id, y.id)
            for x in starts[0]
            for y in starts[1]
            if x.id != y.id and _plain(x.name).split()[-1] == _plain(y.name).split()[-1]
        }
        if len(pairs) != 1:
            return []
        first, second = pairs.pop()
        return [self.concepts[first], self.concepts[second]]


def _as_written(words: str, text: str) -> str:
    """Plain words as the text writes them ("devops" in "MLOps vs DevOps?" -> "DevOps")."""
    pattern = r"[\s\-/]+".join(re.escape(w) for w in words.split())
    found = re.search(pattern, text, flags=re.IGNORECASE)
    return found.group(0) if found else words


def _distribute(a: str, b: str) -> tuple[str, str]:
    """'batch' and 'online inference' -> 'batch inference' and 'online inference'."""
    a_words, b_words = a.split(), b.split()
    if 0 < len(a_words) < len(b_words) and a_words[-1] != b_words[-1]:
        return f"{a} {b_words[-1]}", b
    return a, b
