"""Loading a user's files: real txt, md, html and pdf files; every bad file says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loading import SkippedFile, load_file, user_doc_id

MAX = 1_000_000

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feature stores explained</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/blog">Blog</a></li>
<li><a href="/pricing">Pricing</a></li><li><a href="/login">Sign in</a></li></ul></nav>
<main><article>
<h1>Feature stores explained</h1>
<p>A feature store keeps the same feature definitions for offline training and online serving,
so the model sees identical inputs in both places and training-serving skew disappears.</p>
<p>Point-in-time correct joins stop future values from leaking into the training set.</p>
</article></main>
<footer><p>Copyright 2026 Example Corp. All rights reserved.</p>
<p><a href="/newsletter">Subscribe to our newsletter</a> | <a href="/privacy">Privacy</a></p>
</footer>
</body></html>
"""


def test_loads_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Feature stores serve features online.\nAnd offline, too.\n", encoding="utf-8")
    doc = load_file(path, MAX)
    assert doc.text == "Feature stores serve features online.\nAnd offline, too.\n"
    assert doc.format == "text"
    assert doc.title == "notes.txt"
    assert doc.origin == "notes.txt"  # citations name the file, never a server path
    assert doc.trust == "user"
    assert doc.doc_id == user_doc_id(path)
    assert doc.doc_id.startswith("user:notes-")


def test_loads_markdown_and_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "My Reading List.md"
    path.write_bytes(b"\xef\xbb\xbf# Reading\n\n- Designing Machine Learning Systems\n")
    doc = load_file(path, MAX)
    assert doc.format == "markdown"
    assert doc.text.startswith("# Reading")  # the BOM is gone
    assert doc.doc_id.startswith("user:my-reading-list-")


def test_user_doc_ids_differ_by_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert user_doc_id(tmp_path / "a" / "x.md") != user_doc_id(tmp_path / "b" / "x.md")
    assert user_doc_id(tmp_path / "a" / "x.md") == user_doc_id(tmp_path / "a" / "x.md")


def test_loads_html_article_without_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    doc = load_file(path, MAX)
    assert doc.format == "html"
    assert "feature store keeps the same feature definitions" in doc.text
    assert "Point-in-time correct joins" in doc.text
    for boilerplate in ("Pricing", "Sign in", "Copyright 2026", "Subscribe", "<p>", "<nav>"):
        assert boilerplate not in doc.text


def test_loads_pdf_text_layer(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "slides.pdf"
    fig = plt.figure()
    fig.text(0.1, 0.5, "Feature stores serve features online")
    fig.savefig(path)
    plt.close(fig)
    assert path.read_bytes().startswith(b"%PDF")
    doc = load_file(path, MAX)
    assert doc.format == "pdf"
    assert "Feature stores serve features online" in doc.text


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "max_bytes", "reason"),
    [
        ("binary.txt", b"PK\x03\x04\x00\x00\x08\x00 some zip", MAX, "looks binary (NUL bytes)"),
        ("empty.txt", b"", MAX, "no text in it"),
        ("blank.md", b"  \n\t\n   \n", MAX, "no text in it"),
        ("latin1.txt", "caf\u00e9 na\u00efve".encode("latin-1"), MAX, "not UTF-8 text"),
        ("huge.md", b"feature store " * 200, 1_000, "too large (2,800 bytes"),
        ("report.docx", b"plain words in a docx name", MAX, "unsupported type '.docx'"),
        ("README", b"no suffix at all", MAX, "unsupported type '(none)'"),
        ("fake.pdf", b"<html>not a pdf</html>", MAX, "has a .pdf name but is not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", MAX, "not a readable PDF"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(
    tmp_path: Path, name: str, data: bytes, max_bytes: int, reason: str
) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(SkippedFile) as caught:
        load_file(path, max_bytes)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert reason in message


def test_missing_file_and_directory_are_skipped(tmp_path: Path) -> None:
    missing = tmp_path / "gone.md"
    with pytest.raises(SkippedFile, match="no such file") as caught:
        load_file(missing, MAX)
    assert str(missing) in str(caught.value)
    folder = tmp_path / "folder.md"
    folder.mkdir()
    with pytest.raises(SkippedFile, match="not a regular file"):
        load_file(folder, MAX)


def test_pdf_without_text_layer_is_skipped(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "scan.pdf"
    fig = plt.figure()
    fig.add_axes((0, 0, 1, 1)).axis("off")
    fig.savefig(path)
    plt.close(fig)
    with pytest.raises(SkippedFile, match="no text in it"):
        load_file(path, MAX)
