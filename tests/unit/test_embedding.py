"""The ONNX query encoder against the ingest encoder (sentence-transformers), both real."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.settings import get_settings
from ingest.embedding import (
    Embedder,
    EmbedderError,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
    model_spec,
)
from ingest.onnx_export import GRAPH, MANIFEST, export_dir

REPO = Path(__file__).resolve().parents[2]
MODEL = "all-MiniLM-L6-v2"
# Agreement bar: issue 16 asked for cosine >= 0.999 (the int8 export it first used measured
# 0.9988 at the lowest). The float32 export of the same weights measured 0.9999999 at the lowest
# on the eval questions (2026-12-02): only float rounding differs, so the bar is far tighter.
MIN_COSINE = 0.99999


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    embedder = make_embedder(MODEL, encoder="onnx")
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


def sample_texts() -> list[str]:
    """A fixed sample: every eval question (short, as users type them) and the fixture
    corpus's chunks (long: past the tokenizer file's 128 tokens, up to the model's 256)."""
    dataset = yaml.safe_load((REPO / "evals" / "datasets" / "queries.yaml").read_text())
    questions = [q["query"] for q in dataset["queries"] if q["query"].strip()]
    sources = sorted((REPO / "tests" / "fixtures" / "corpus" / "sources").iterdir())
    texts = [path.read_text(encoding="utf-8") for path in sources]
    passages = [text[start : start + 900] for text in texts for start in range(0, len(text), 900)]
    return questions + passages


def cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    return [sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True)]


def test_onnx_agrees_with_the_ingest_encoder(embedder: Embedder, onnx: Embedder) -> None:
    texts = sample_texts()
    assert len(texts) > 100 and max(map(len, texts)) > 800
    reference = embedder.embed(texts)
    one_by_one = [onnx.embed([text])[0] for text in texts]  # the query path: one at a time
    # A batch runs one text at a time (ingest.embedding.ONNX_RUN: memory), so nothing is padded
    # and each vector is exactly the one the text gets alone.
    assert onnx.embed(texts) == one_by_one
    assert min(cosines(reference, one_by_one)) >= MIN_COSINE
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-4 for v in one_by_one)  # unit length
    assert len(one_by_one[0]) == onnx.dimension == embedder.dimension


def test_the_factory_picks_the_encoder_and_both_name_the_indexed_model(onnx: Embedder) -> None:
    assert isinstance(onnx, OnnxEmbedder)
    assert isinstance(make_embedder(MODEL), SentenceTransformerEmbedder)  # ingest's default
    # The index records the model it was built with; the ONNX export is that model's weights.
    assert onnx.name == make_embedder(MODEL).name == model_spec(MODEL).name
    assert onnx.variant == "onnx-fp32"
    with pytest.raises(EmbedderError, match="unknown encoder 'tf'; use onnx or sentence"):
        make_embedder(MODEL, encoder="tf")  # type: ignore[arg-type]


@pytest.fixture
def export_copy(tmp_path: Path, onnx: OnnxEmbedder) -> Path:
    """A copy of the checkout's export under tmp_path (onnxruntime refuses weights linked from
    outside the graph's folder)."""
    onnx.load()  # exports once if the checkout has no export yet
    target = export_dir(tmp_path, onnx.name)
    shutil.copytree(export_dir(get_settings().onnx_dir, onnx.name), target)
    return target


def _rewrite_manifest(folder: Path, **changes: Any) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(manifest | changes))


def test_the_export_loads_from_any_directory_and_gives_the_same_vectors(
    export_copy: Path, onnx: Embedder
) -> None:
    copy = OnnxEmbedder(MODEL, export_copy.parent)
    assert copy.embed(["feature stores"]) == onnx.embed(["feature stores"])


def test_altered_onnx_weights_are_refused_before_loading(export_copy: Path) -> None:
    files = json.loads((export_copy / MANIFEST).read_text())["files"]
    _rewrite_manifest(export_copy, files=files | {GRAPH: "0" * 64})
    with pytest.raises(EmbedderError, match=r"expected 0{64}: the model files are not the offi"):
        OnnxEmbedder(MODEL, export_copy.parent).embed(["feature stores"])
    with (export_copy / GRAPH).open("ab") as handle:  # the recorded sum, the file changed
        handle.write(b"\0")
    _rewrite_manifest(export_copy, files=files)
    with pytest.raises(EmbedderError, match=r"official ones; export it again with `python -m"):
        OnnxEmbedder(MODEL, export_copy.parent).embed(["feature stores"])


def test_an_export_of_other_weights_is_refused(export_copy: Path) -> None:
    _rewrite_manifest(export_copy, source_sha256="1" * 64)
    with pytest.raises(EmbedderError, match=r"exported from weights with sha256 1{64}, not"):
        OnnxEmbedder(MODEL, export_copy.parent).embed(["feature stores"])
    (export_copy / MANIFEST).write_text("{not json")
    with pytest.raises(EmbedderError, match=r"export\.json is unreadable"):
        OnnxEmbedder(MODEL, export_copy.parent).embed(["feature stores"])


def test_a_missing_export_that_cannot_be_written_says_what_to_run(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with pytest.raises(EmbedderError, match=r"exporting .* to ONNX failed \(.*\); run `make inst"):
        OnnxEmbedder(MODEL, blocked / "models").embed(["feature stores"])
    with pytest.raises(EmbedderError, match="unknown embedding model 'gpt-embed'"):
        OnnxEmbedder("gpt-embed", tmp_path)


def test_the_onnx_encoder_needs_no_torch(fresh_python: Callable[..., Any]) -> None:
    # A fresh interpreter: this test process has torch loaded already (the ingest encoder).
    code = (
        "import json, sys\n"
        "from ingest.embedding import make_embedder\n"
        f"vector = make_embedder({MODEL!r}, encoder='onnx').embed(['feature stores'])[0]\n"
        "heavy = [m for m in ('torch', 'sentence_transformers') if m in sys.modules]\n"
        "print(json.dumps({'dimension': len(vector), 'heavy': heavy}))\n"
    )
    assert fresh_python(code) == {"dimension": 384, "heavy": []}


def test_a_batch_costs_the_query_encoder_little_memory(fresh_python: Callable[..., Any]) -> None:
    # A fresh interpreter, so resident memory reflects this encoder alone. Runs of 64 texts on
    # a second session took +359 MB for 200 texts (issue 16 part B); one at a time, +30 MB.
    code = (
        "import json\n"
        "from pathlib import Path\n"
        "from ingest.embedding import make_embedder\n"
        "def rss():\n"
        "    status = Path('/proc/self/status').read_text().splitlines()\n"
        "    return next(int(l.split()[1]) // 1024 for l in status if l.startswith('VmRSS'))\n"
        f"encoder = make_embedder({MODEL!r}, encoder='onnx')\n"
        "encoder.embed(['warm up'])\n"
        "before = rss()\n"
        "encoder.embed([f'{n} feature stores serve features online and offline. ' * 20\n"
        "               for n in range(64)])\n"
        "print(json.dumps({'added_mb': rss() - before}))\n"
    )
    assert fresh_python(code)["added_mb"] < 60
