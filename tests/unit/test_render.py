"""The web UI's HTML for answers: real catalog resources, escaping, links and citations."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from assistant.compose import RELATED, Answer, Citation, Recommendation
from ingest.catalog import load_catalog
from ui.render import answer_cards, chat_text, describe_query, render_cards, render_citations

REAL_CORPUS = Path(__file__).resolve().parents[2] / "corpus"


class _Collect(HTMLParser):
    """Tags, attributes and text of a fragment, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> _Collect:
    parser = _Collect()
    parser.feed(fragment)
    return parser


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REAL_CORPUS)


def test_a_card_links_the_title_and_carries_its_facts(catalog):
    with_url = next(r for r in catalog.resources.values() if r.url)
    html = render_cards([Recommendation(with_url, 1.0, "Covers feature stores.", 2, "")])
    parsed = parse(html)
    links = [attrs for tag, attrs in parsed.tags if tag == "a"]
    assert links[0]["href"] == with_url.url and links[0]["rel"] == "noopener noreferrer"
    assert links[1]["href"] == "#mlsd-cite-2"  # the reason points at its citation
    card = next(attrs for tag, attrs in parsed.tags if attrs.get("class") == "mlsd-card")
    assert card["data-resource-id"] == with_url.id and card["data-kind"] == with_url.kind
    assert with_url.title in "".join(parsed.text)
    assert "not on the topic" not in "".join(parsed.text)
    # A resource the answer lists as related says so on its card too.
    related = parse(render_cards([Recommendation(with_url, 1.0, "why", 1, "", group=RELATED)]))
    assert "related, not on the topic asked" in "".join(related.text)
    card = next(attrs for tag, attrs in related.tags if attrs.get("class") == "mlsd-card")
    assert card["data-group"] == RELATED


def test_text_from_the_corpus_or_a_user_cannot_inject_markup(catalog):
    resource = next(iter(catalog.resources.values()))
    hostile = resource.model_copy(update={"title": '<script>alert(1)</script>"><img src=x>'})
    reason = "<b onmouseover=alert(1)>why</b>"
    citation = Citation(1, "c1", "<i>source</i>", "o", "<h1>", 'see [x](javascript:alert(1)) "q"')
    html = render_cards([Recommendation(hostile, 1.0, reason, 1, "")]) + render_citations(
        [citation]
    )
    tags = {tag for tag, _ in parse(html).tags}
    assert tags <= {"div", "h4", "span", "p", "a", "ol", "li", "b", "q"}
    assert "script" not in tags and "img" not in tags and "i" not in tags and "h1" not in tags
    assert all("javascript:" not in (attrs.get("href") or "") for _, attrs in parse(html).tags)
    assert all("onmouseover" not in attrs for _, attrs in parse(html).tags)


def test_citations_turn_markdown_links_into_links_and_keep_their_numbers():
    citation = Citation(3, "c", "Blog", "o", "Tools", "Try [Feast](https://feast.dev) today.")
    parsed = parse(render_citations([citation]))
    item = next(attrs for tag, attrs in parsed.tags if tag == "li")
    assert item["id"] == "mlsd-cite-3" and item["data-number"] == "3"
    link = {"href": "https://feast.dev", "target": "_blank", "rel": "noopener noreferrer"}
    assert ("a", link) in parsed.tags
    assert "No citations yet." in render_citations([])
    assert "No resources yet." in render_cards([])


def test_the_understood_query_reads_as_one_line():
    line = describe_query(
        {"intent": "recommend", "topics": ["feature-stores"], "kinds": ["course"],
         "free_only": True, "follow_up": "narrow", "restrict_to": ["a", "b"], "text": "x",
         "avoided_topics": ["ml-theory"]}
    )  # fmt: skip
    assert line.startswith("**Understood:** intent: recommend · topics: feature-stores")
    assert "kinds: course" in line and "free only" in line
    assert "leaving out: ml-theory" in line
    assert "follow-up: narrow (among the 2 from before)" in line
    assert line.endswith("**Searched for:** “x”")


def test_a_role_said_in_the_message_is_no_stored_profile():
    said = describe_query({"intent": "learning_path", "role": "sre", "profile": {"role": "sre"}})
    assert "role: sre" in said and "your profile" not in said
    stored = {"intent": "recommend", "role": "sre", "profile": {"role": "sre", "level": "beginner"}}
    assert "personalized to your profile" in describe_query(stored)
    # "Something easier?" after a path for an SRE: the level was said too, not stored.
    easier = {"intent": "learning_path", "role": "sre", "level": "beginner",
              "profile": {"role": "sre", "level": "beginner"}}  # fmt: skip
    assert "your profile" not in describe_query(easier)
    free = {"intent": "learning_path", "free_only": True, "profile": {"budget": "free"}}
    assert "your profile" not in describe_query(free)
    stored_level = {"intent": "learning_path", "level": "beginner",
                    "profile": {"level": "advanced"}}  # fmt: skip
    assert "personalized to your profile" in describe_query(stored_level)


def test_the_chat_bubble_keeps_text_and_numbers_not_reasons_or_passages():
    text = (
        "Here are 2 resources for feature stores, in study order:\n\n"
        "**Go deeper**\n"
        "1. **Feature Store for Machine Learning** (paper). A Tecton paper. Best for: x. [1]\n\n"
        "**Try hands-on**\n"
        "2. **[Feast](https://feast.dev/)** by A B (tool). Open-source store. Best for: y. [2]\n\n"
        "Sources:\n[1] Guide: passage one\n[2] Guide: passage two"
    )
    assert chat_text(text) == (
        "Here are 2 resources for feature stores, in study order:\n\n"
        "**Go deeper**\n"
        "1. **Feature Store for Machine Learning** (paper) [1]\n\n"
        "**Try hands-on**\n"
        "2. **[Feast](https://feast.dev/)** by A B (tool) [2]"
    )


def test_with_none_of_the_kind_the_cards_are_the_resources_named_with_their_caveats() -> None:
    # "Any papers on ...?" with none: the answer names resources in other formats; they are the
    # cards, and one no public record confirms says so on its card as any card would.
    catalog = load_catalog(REAL_CORPUS)
    unverified = catalog.resources["feature-store-for-machine-learning-paper"]
    blog = catalog.resources["eugene-yan-blog"]
    answer = Answer(text="The catalog has no course on feature stores. ...", intent="recommend",
                    items=[], citations=[], query_used={"text": "a course on feature stores?"},
                    elsewhere=[unverified, blog])  # fmt: skip
    cards = answer_cards(answer, catalog.sources)
    assert [c.resource.id for c in cards] == [unverified.id, blog.id]
    assert "no public record confirms it" in cards[0].reason
    assert "no public record" not in cards[1].reason
    # With items of its own, the cards are those items.
    listed = Answer(text="", intent="recommend", items=cards[1:], citations=[], query_used={},
                    elsewhere=[unverified])  # fmt: skip
    assert answer_cards(listed, catalog.sources) == cards[1:]
