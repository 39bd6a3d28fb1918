"""Assistant stage: the errors a caller can fix, shared by every part of the assistant."""

from __future__ import annotations


class InvalidInput(ValueError):
    """A request the assistant cannot answer as given; the message says what to fix."""


def check_message(message: str | None, max_chars: int) -> str:
    """The message stripped, or `InvalidInput` when it is empty or longer than `max_chars`.

    A plain function so the CLI can refuse a bad message before it loads the model.
    """
    text = (message or "").strip()
    if not text:
        raise InvalidInput("the message is empty: ask a question")
    if len(text) > max_chars:
        raise InvalidInput(
            f"the message has {len(text)} characters; the limit is {max_chars} "
            "(MLSD_MAX_MESSAGE_CHARS)"
        )
    return text
