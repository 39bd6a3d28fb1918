"""Settings: the one typed configuration object, read from `MLSD_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository root when running from a checkout or an editable install; the corpus lives there.
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Everything configurable, with defaults that work on a laptop with no extra services."""

    model_config = SettingsConfigDict(env_prefix="MLSD_", extra="ignore")

    data_dir: Path = Field(default=Path(".mlsd"), description="Index, sessions, users, reports.")
    corpus_dir: Path = Field(default=_PROJECT_ROOT / "corpus", description="Sources + catalog.")

    # Store: embedded Chroma unless a server host is given.
    chroma_host: str | None = None
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    collection: str = Field(default="mlsd", min_length=3, max_length=63)

    # Embedding model: ingest and retrieval both take it from here.
    embedding_model: Literal["all-MiniLM-L6-v2"] = "all-MiniLM-L6-v2"
    embed_batch_size: int = Field(default=64, ge=1, le=1024)

    # Chunking and the files a user may add.
    chunk_size: int = Field(default=900, ge=200, le=8000, description="Characters per chunk.")
    chunk_overlap: int = Field(default=120, ge=0, le=2000)
    max_file_bytes: int = Field(default=5_000_000, ge=1_000)

    # Optional LLM generator; "none" means answers are composed from evidence by code.
    llm_provider: Literal["none", "openai", "ollama"] = "none"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = Field(default=60.0, gt=0)

    # Server.
    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    max_message_chars: int = Field(default=2000, ge=10, le=100_000)
    # A server that starts before its Chroma server (or an index) is ready keeps trying.
    ready_retry_s: float = Field(default=10.0, gt=0, le=3600)

    # Issue 12 (retrieval v2): how often a running assistant checks the store's index version
    # and picks up a new ingest. One small read of the store; 2 s keeps it off every request
    # while a new ingest shows within a couple of seconds.
    index_check_s: float = Field(default=2.0, ge=0, le=3600)

    # Issue 16: what answers a query. The query encoder runs the index's model: "onnx" (its own
    # weights exported to ONNX, no torch: fast to load and per query) or "sentence-transformers"
    # (what ingest uses).
    query_encoder: Literal["onnx", "sentence-transformers"] = "onnx"
    # `mlsd ask/search/recommend/chat` answer through a running server when one answers /readyz:
    # this URL, else MLSD_HOST:MLSD_PORT if it serves this index; MLSD_USE_SERVER=false never does.
    server_url: str | None = None
    use_server: bool = True

    # Team service (issue 14): shared state, limits, logs.
    # Unset: a SQLite file in data_dir. For a team: postgresql://user:password@host:5432/mlsd.
    database_url: str | None = Field(default=None, description="Sessions, users and feedback.")
    # 1 MB: a 2,000-character message with a full profile is under 10 KB; 100x leaves room.
    max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    # 16 KB: the header limit most proxies use (nginx large_client_header_buffers: 4 x 8 KB).
    max_header_bytes: int = Field(default=16_384, ge=1_024)
    # Per client address on the API routes; the format is the limits library's ("60/minute").
    rate_limit: str = "120/minute"
    # How long a client waits before trying again when the store or database is down.
    retry_after_s: int = Field(default=10, ge=1, le=3600)
    access_log: bool = False  # uvicorn's line per request; off: the metrics count requests
    json_logs: bool = False

    # Issue 16 (part B): where `python -m ingest.onnx_export` (run by `make install`) writes the
    # query encoder's ONNX export of `embedding_model`. Built from the installed packages, not
    # the data, so one per checkout, shared by every data dir.
    onnx_dir: Path = Field(default=_PROJECT_ROOT / ".models", description="ONNX exports.")
    # Issue 16: the web UI (Gradio, about 90 MB) is built on the first page request, so a server
    # used only through the API never loads it; `make run` sets it to build at start-up instead,
    # so a person opening the page does not wait.
    ui_at_start: bool = Field(default=False, description="Build the web UI at start-up.")

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse  # what slowapi parses it with

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a rate; write it like '120/minute'") from None
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("MLSD_CHUNK_OVERLAP must be smaller than MLSD_CHUNK_SIZE")
        if self.llm_provider != "none" and not (self.llm_base_url and self.llm_model):
            raise ValueError(
                f"MLSD_LLM_PROVIDER={self.llm_provider} needs MLSD_LLM_BASE_URL and MLSD_LLM_MODEL"
            )
        return self

    @property
    def chroma_dir(self) -> Path:
        """Directory of the embedded Chroma database."""
        return self.data_dir / "chroma"

    @property
    def sources_dir(self) -> Path:
        """Where the corpus source documents live."""
        return self.corpus_dir / "sources"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
