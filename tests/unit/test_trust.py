"""Provenance ordering on the real catalog: verified first among similar scores, no vendor lead."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.trust import SIMILAR, prefer_verified
from ingest.catalog import Catalog, load_catalog
from ui.views import resource_detail_view, resource_view

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
AFFILIATE_ONLY = "ace-machine-learning-system-design-interviews"
UNCONFIRMED_PAPER = "feature-store-for-machine-learning-paper"
VENDOR = "infrasketch"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CORPUS)


def order(ranked: list[tuple[str, float]], catalog: Catalog, named: tuple[str, ...] = ()) -> list:
    return [rid for rid, _ in prefer_verified(ranked, catalog, named=named)]


def test_fixture_resources_have_the_provenance_the_tests_assume(catalog: Catalog) -> None:
    assert not catalog.resources[AFFILIATE_ONLY].verified
    assert not catalog.resources[UNCONFIRMED_PAPER].verified
    assert catalog.resources[VENDOR].vendor and catalog.resources[VENDOR].verified


def test_unverified_goes_behind_verified_of_similar_relevance(catalog: Catalog) -> None:
    ranked = [
        (AFFILIATE_ONLY, 1.30),
        ("system-design-interview-alex-xu", 1.29),
        ("machine-learning-system-design-interview", 1.24),
        ("designing-machine-learning-systems", 0.76),
    ]
    assert order(ranked, catalog) == [
        "system-design-interview-alex-xu",
        "machine-learning-system-design-interview",
        AFFILIATE_ONLY,
        "designing-machine-learning-systems",
    ]


def test_a_clearly_better_unverified_result_keeps_its_place(catalog: Catalog) -> None:
    gap = SIMILAR * 1.3 + 0.05  # wider than "similar" at a best score of 1.3
    ranked = [(UNCONFIRMED_PAPER, 1.3), ("hidden-technical-debt-in-ml-systems", 1.3 - gap)]
    assert order(ranked, catalog) == [UNCONFIRMED_PAPER, "hidden-technical-debt-in-ml-systems"]


def test_a_named_unverified_resource_is_not_demoted(catalog: Catalog) -> None:
    ranked = [(AFFILIATE_ONLY, 1.3), ("system-design-interview-alex-xu", 1.29)]
    assert order(ranked, catalog, named=(AFFILIATE_ONLY,))[0] == AFFILIATE_ONLY


def test_a_vendor_product_never_leads_unless_named(catalog: Catalog) -> None:
    # Scores far apart (a learning path is ordered by level, not score): still not first.
    ranked = [(VENDOR, 0.9), ("awesome-mlops-visenger", 0.3), ("bytebytego", 0.2)]
    result = order(ranked, catalog)
    assert result[0] != VENDOR and sorted(result) == sorted(r for r, _ in ranked)
    assert order(ranked, catalog, named=(VENDOR,))[0] == VENDOR


def test_nothing_is_dropped_or_rescored(catalog: Catalog) -> None:
    ranked = [(AFFILIATE_ONLY, 1.0), (VENDOR, 0.95), ("feast", 0.9), (UNCONFIRMED_PAPER, 0.1)]
    assert sorted(prefer_verified(ranked, catalog)) == sorted(ranked)
    assert prefer_verified([], catalog) == []


def test_answers_carry_the_provenance_flags(catalog: Catalog) -> None:
    view = resource_view(catalog.resources[AFFILIATE_ONLY])
    assert view["verified"] is False and view["vendor"] is False
    assert resource_view(catalog.resources[VENDOR])["vendor"] is True
    detail = resource_detail_view(catalog.resources["site-reliability-workbook"])
    assert detail["prerequisites"] == ["site-reliability-engineering"]
    assert detail["publisher"] == "O'Reilly Media" and detail["effort"] is None


def test_a_study_order_only_loses_its_vendor_lead(catalog: Catalog) -> None:
    # A learning path is ordered by level: an unverified item is not moved by score there.
    path = [(VENDOR, 0.8), ("feast", 0.8), (AFFILIATE_ONLY, 0.8), ("mlflow", 0.8)]
    assert order(path, catalog) == ["feast", "mlflow", VENDOR, AFFILIATE_ONLY]
    result = [rid for rid, _ in prefer_verified(path, catalog, study_order=True)]
    assert result == ["feast", VENDOR, AFFILIATE_ONLY, "mlflow"]
