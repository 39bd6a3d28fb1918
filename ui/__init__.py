"""Thin adapters over the assistant: the `mlsd` CLI, the FastAPI app and the Gradio UI."""
