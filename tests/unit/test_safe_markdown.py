"""Answer text quotes users' documents: HTML in it is made harmless on the server."""

from __future__ import annotations

from ui.render import safe_markdown


def test_scripts_handlers_frames_and_script_links_are_removed() -> None:
    text = (
        'Read this <img src=x onerror="alert(1)"> and <iframe src="javascript:alert(1)"></iframe>'
        "<script>alert(2)</script> or [click](javascript:alert(3)) [1]"
    )
    shown = safe_markdown(text)
    for bad in ("<img", "onerror", "<iframe", "<script", "javascript:", "alert(2)"):
        assert bad not in shown.lower(), bad
    assert shown.startswith("Read this") and "click" in shown and shown.endswith("[1]")


def test_markdown_and_plain_text_stay_as_written() -> None:
    text = "**Feast** is free: see [the docs](https://docs.feast.dev) and `pip install`.\n\n- one"
    assert safe_markdown(text) == text
    assert safe_markdown("a < b & c") == "a &lt; b &amp; c"  # entities: shown as written
