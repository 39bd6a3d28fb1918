"""Repair: mojibake is fixed or dropped before anything else reads the text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.repair import repair_text

SOURCES = Path(__file__).resolve().parents[2] / "corpus" / "sources"
THAI_OR_REPLACEMENT = re.compile(r"[\u0e00-\u0e7f\ufffd]")


@pytest.fixture(scope="module")
def report() -> tuple[str, str]:
    """Source 003 (emoji saved through a Thai code page): raw and repaired."""
    (path,) = SOURCES.glob("003_*.txt")
    raw = path.read_text(encoding="utf-8")
    return raw, repair_text(raw)


def test_thai_code_page_residue_is_gone(report: tuple[str, str]) -> None:
    raw, repaired = report
    assert len(THAI_OR_REPLACEMENT.findall(raw)) > 100  # the damage the test is about
    assert THAI_OR_REPLACEMENT.findall(repaired) == []


def test_the_words_survive_repair(report: tuple[str, str]) -> None:
    _, repaired = report
    for words in (
        "Designing Machine Learning Systems: An Iterative Process for Production-Ready",
        "Chip Huyen",
        "book's usefulness",  # was "bookโ€™s": a curly apostrophe with a byte lost
        "Machine Learning Engineering with Python by Andrew McMahon",
        "Data Management at Scale: Modern Data Architecture",
    ):
        assert words in repaired
    # Residue at line starts must not leave the bullets indented or glued to the next word.
    assert "\n- Practical MLOps by Noah Gift and Alfredo Deza." in repaired
    assert repaired.count("\n") == report[0].count("\n")


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        # ftfy also straightens curly quotes, which keeps keyword matching simple.
        ("I donâ€™t like it", "I don't like it"),
        ("a cafÃ© in Paris", "a caf\u00e9 in Paris"),
        ("â€œquotedâ€\x9d text", '"quoted" text'),
        ("naÃ¯ve rÃ©sumÃ©", "na\u00efve r\u00e9sum\u00e9"),
    ],
)
def test_classic_mojibake_is_fixed(broken: str, fixed: str) -> None:
    assert repair_text(broken) == fixed


def test_genuine_thai_text_is_left_alone() -> None:
    thai = "ระบบการเรียนรู้ของเครื่องต้องการข้อมูลที่ดี และการออกแบบที่รอบคอบ"
    assert repair_text(thai) == thai
    mixed = "หนังสือเล่มนี้ดีมาก: Designing Machine Learning Systems"  # mostly Thai letters
    assert repair_text(mixed) == mixed


def test_clean_text_is_unchanged() -> None:
    text = "Feature stores serve the same features online and offline.\n  - indented bullet\n"
    assert repair_text(text) == text
