"""Ingest stage (build step): export the embedding model's own weights to ONNX for the query path.

`python -m ingest.onnx_export` (run by `make install`, or once by the query encoder when the
export is missing) loads the sha256-verified safetensors with transformers and writes
`<dir>/<model>/model.onnx` plus its weights beside it, and `export.json` with every file's sha256:
the query encoder checks those before it loads. Needs torch and onnx; the query path needs neither.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# The ONNX opset torch's TorchScript exporter writes; 17 has LayerNormalization as one op, which
# onnxruntime fuses (SkipLayerNormalization).
OPSET = 17
GRAPH = "model.onnx"
# Weights in a file of their own: onnxruntime memory-maps external data instead of copying it
# out of the parsed graph. Measured (issue 16, one session, 3 runs): 72 MB RSS against 140 MB for
# the same weights inside model.onnx, and 170 MB for the int8 file it replaces (onnxruntime
# folds int8 weights back to float32 at load, so that file holds both).
WEIGHTS = "model.onnx.data"
MANIFEST = "export.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"


def export_dir(directory: Path, name: str) -> Path:
    """Where the export of a model (by its full name, e.g. sentence-transformers/...) lives."""
    return directory / f"{name.rsplit('/', 1)[-1]}-onnx-fp32"


def export(model: str, directory: Path) -> Path:
    """Export `model` (a key of ingest.embedding.MODELS) under `directory`; returns its folder.

    Written to a temporary folder and renamed into place, so a reader never sees half an export
    and two exports at once leave one whole.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from ingest.embedding import SentenceTransformerEmbedder, model_spec, sha256_of

    spec = model_spec(model)
    directory.mkdir(parents=True, exist_ok=True)  # before the slow load: a bad dir fails at once
    source = SentenceTransformerEmbedder(spec)
    source.load()  # verifies the safetensors' sha256 first
    target = export_dir(directory, spec.name)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".export-") as scratch:
        staging = Path(scratch) / target.name
        staging.mkdir()
        _write_onnx(source.transformer(), staging)
        manifest = {
            "model": spec.name,
            "source_sha256": spec.sha256,
            "files": {name: sha256_of(staging / name) for name in (GRAPH, WEIGHTS)},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)  # a stale or altered export; this one replaces it
        try:
            staging.rename(target)
        except OSError:
            if not (target / MANIFEST).is_file():  # not another process's finished export
                raise
    return target


def _write_onnx(transformer: Any, staging: Path) -> None:
    import onnx
    import torch

    class LastHiddenState(torch.nn.Module):
        """The transformer with positional inputs and one output, as ONNX wants them."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = torch.ones((1, 8), dtype=torch.int64)
    single = staging / "single.onnx"
    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    with torch.no_grad():
        # dynamo=False: the TorchScript exporter takes a traced BERT as is; the dynamo
        # exporter also needs onnxscript.
        torch.onnx.export(
            LastHiddenState(transformer.eval()),
            (example, example, torch.zeros_like(example)),
            str(single),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    graph = onnx.load(str(single))
    onnx.save_model(
        graph,
        str(staging / GRAPH),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS,
        size_threshold=1024,  # onnx's default: small constants stay in the graph
    )
    single.unlink()


def main(argv: list[str] | None = None) -> None:
    """Export the configured embedding model for the query encoder (or the one named)."""
    from assistant.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m ingest.onnx_export")
    parser.add_argument("--model", default=settings.embedding_model)
    parser.add_argument("--dir", type=Path, default=settings.onnx_dir)
    args = parser.parse_args(argv)
    print(f"ONNX export of {args.model}: {export(args.model, args.dir)}")


if __name__ == "__main__":
    main()
