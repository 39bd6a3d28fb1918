"""Ingest stage: repair broken text encoding (mojibake) before anything else reads it."""

from __future__ import annotations

import re

import ftfy

# UTF-8 read through a Thai single-byte code page (cp874/TIS-620): the lead bytes of emoji and
# curly punctuation became Thai letters and the bytes that code page lacks were dropped. ftfy
# does not consider that code page, and the dropped bytes mean it cannot be undone exactly.
_THAI_RUN = re.compile(r"[\u0e00-\u0e7f][\u0e00-\u0e7f\ufe0f\u200d\u00a0]*")
_UTF8_LEAD_BYTES = frozenset(range(0xE0, 0xF5))


def _looks_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    ascii_letters = sum(1 for c in letters if c.isascii())
    return ascii_letters / len(letters) > 0.9


def _undo_thai_codepage_run(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        raw = run.encode("cp874")
    except UnicodeEncodeError:
        return run  # not code-page residue; leave genuine text alone
    if not raw or raw[0] not in _UTF8_LEAD_BYTES:
        return run
    recovered = raw.decode("utf-8", errors="ignore")
    if recovered:
        return recovered
    # A lone E2 lead inside a word was a curly apostrophe; touching one word, a curly quote.
    before = match.string[match.start() - 1 : match.start()]
    after = match.string[match.end() : match.end() + 1]
    if raw == b"\xe2" and before.isalnum() and after.isalnum():
        return "'"
    if raw == b"\xe2" and (before.isalnum() or after.isalnum()):
        return '"'
    return ""  # a symbol emoji or dash whose bytes are gone


def repair_text(text: str) -> str:
    """Fix mojibake and odd Unicode with ftfy, then drop code-page residue ftfy cannot undo."""
    fixed = ftfy.fix_text(text, normalization="NFC")
    if _looks_latin(fixed) and _THAI_RUN.search(fixed):
        fixed = _THAI_RUN.sub(_undo_thai_codepage_run, fixed)
        # Residue at line starts leaves stray leading spaces; tidy them without touching layout.
        fixed = re.sub(r"(?m)^[ \t]+(?=\S)", "", fixed)
        fixed = re.sub(r"[ \t]{2,}", " ", fixed)
    return fixed
