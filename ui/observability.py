"""UI adapter: Prometheus metrics at `/metrics` and the server's log format."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge, Info
from prometheus_fastapi_instrumentator import Instrumentator

from assistant.settings import Settings


def instrument(app: FastAPI, chunks: Callable[[], int], resources: Callable[[], int]) -> None:
    """Request counts and latency histograms per route, index size and version, at /metrics.

    Each app gets its own registry, so tests can build several apps in one process.
    """
    registry = CollectorRegistry()
    Instrumentator(
        registry=registry,
        excluded_handlers=["/metrics"],
        should_group_untemplated=True,  # UI assets and unknown paths count as one handler
    ).instrument(app).expose(app, include_in_schema=False)
    Gauge("mlsd_index_chunks", "Chunks in the loaded index.", registry=registry).set_function(
        chunks
    )
    Gauge(
        "mlsd_catalog_resources", "Resources in the loaded catalog.", registry=registry
    ).set_function(resources)
    Info("mlsd", "The running MLSD Assistant.", registry=registry).info({"version": app.version})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging config, as JSON lines when `MLSD_JSON_LOGS` is set; our own
    `mlsd.*` loggers (the API's error log) go to the same place."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["mlsd"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    if settings.json_logs:
        for formatter in config["formatters"].values():
            formatter.clear()
            formatter["()"] = "ui.observability.JsonFormatter"
    return config
