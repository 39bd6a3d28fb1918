"""Assistant stage: the errors a caller can fix, shared by every part of the assistant."""

from __future__ import annotations


class InvalidInput(ValueError):
    """A request the assistant cannot answer as given; the message says what to fix."""
