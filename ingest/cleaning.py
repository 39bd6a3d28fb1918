"""Ingest stage: strip boilerplate (shop buttons, bios, fake reviews) and find section headings."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lines that only sell: never useful evidence, and they pollute keyword retrieval.
_SHOP_LINE = re.compile(
    r"(get it from amazon|check price on amazon|free returns|buy (it )?now|"
    r"as an amazon associate|affiliate link|add to cart)",
    re.IGNORECASE,
)
# Headings of sections that are about the page, not the subject: dropped up to the next heading.
_BOILERPLATE_HEADING = re.compile(
    r"^(author profile|about the author|about me|latest entries|recent posts|related posts|"
    r"share this|tweet|(gemini|chatgpt|gpt[-\w.]*|claude)\b.*\bprompt\b.*)$",
    re.IGNORECASE,
)
# A testimonial signed with a (made-up) name, as on affiliate pages: "... —Megan Foster".
_SIGNED_REVIEW = re.compile(r"\s[\u2014\u2013-]\s?[A-Z][a-z]+ [A-Z][a-z]+\s*$")
_SOCIAL_EMBED = re.compile(r"(\(@\w+\)\s+\w+ \d{1,2}, \d{4}|https?://t\.co/\S+)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# "Link: github.com/x", "Where to join: mlops.community": a label with a single address.
_LABEL_LINE = re.compile(r"^[A-Za-z][\w ]{0,20}:\s*(https?://)?[\w.-]+\.[a-z]{2,}\S*$")
_NUMBERED = re.compile(r"^\d+[.)]\s")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_LIST_OR_TABLE = re.compile(r"^\s*([-*+•|]|\d+[.)]\s)")


@dataclass(frozen=True)
class Section:
    """A run of body text under one heading."""

    heading: str
    body: str


def _is_markdown(lines: list[str]) -> bool:
    return sum(1 for line in lines if _MD_HEADING.match(line)) >= 2


def _is_paragraph(line: str) -> bool:
    return len(line) >= 80 and line.rstrip()[-1:] in '.!?")'


def _plain_heading(lines: list[str], i: int, depth: int = 0) -> bool:
    """A short title-like line followed by a paragraph, a list, a table or another heading."""
    text = lines[i].strip()
    if not text or len(text) > 100 or text.startswith(("-", "*", "|")):
        return False
    if text[-1] in ",;:!?" or (text.endswith(".") and not text.endswith("et al.")):
        return False
    if _LABEL_LINE.match(text) or text.lower().startswith(("http", "www.")):
        return False
    j = next((k for k in range(i + 1, len(lines)) if lines[k].strip()), None)
    if j is None:
        return False
    follow = lines[j].strip()
    if _is_paragraph(follow):
        return True
    if _NUMBERED.match(text):
        # "5. Some Title" is a heading only over its own paragraph; otherwise a list item.
        return False
    if _LIST_OR_TABLE.match(follow):
        return True
    return depth < 1 and _plain_heading(lines, j, depth + 1)


def _headings(lines: list[str]) -> list[str | None]:
    """The heading text of each line, or None for body lines."""
    markdown = _is_markdown(lines)
    found: list[str | None] = []
    for i, line in enumerate(lines):
        md = _MD_HEADING.match(line.strip())
        if md:
            found.append(md.group(2).strip())
        elif not markdown and _plain_heading(lines, i):
            found.append(line.strip())
        else:
            found.append(None)
    return found


def remove_boilerplate(text: str) -> str:
    """Drop front matter, shop buttons, signed testimonials, social embeds, about-the-page parts."""
    lines = _FRONT_MATTER.sub("", text).splitlines()
    headings = _headings(lines)
    kept: list[str] = []
    dropping = False
    for line, heading in zip(lines, headings, strict=True):
        stripped = line.strip()
        if _BOILERPLATE_HEADING.match(_MD_HEADING.sub(r"\2", stripped)):
            dropping = True  # unambiguous even as a short line, so no heading test needed
            continue
        if dropping and heading is not None:
            dropping = False
        if dropping:
            continue
        if _SHOP_LINE.search(stripped) and len(stripped) < 200:
            continue
        if _SIGNED_REVIEW.search(stripped) and len(stripped) > 200:
            continue
        if _SOCIAL_EMBED.search(stripped):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def split_sections(text: str) -> list[Section]:
    """Split cleaned text into sections; a heading with no body of its own becomes a parent."""
    lines = text.splitlines()
    sections: list[Section] = []
    heading = ""
    body: list[str] = []
    for line, found in zip(lines, _headings(lines), strict=True):
        if line.strip() in ("---", "***"):
            continue
        if found is None:
            body.append(line)
            continue
        content = "\n".join(body).strip()
        if content:
            sections.append(Section(heading=heading, body=content))
            heading = found
        else:
            heading = f"{heading} > {found}" if heading else found
        body = []
    content = "\n".join(body).strip()
    if content:
        sections.append(Section(heading=heading, body=content))
    return sections
