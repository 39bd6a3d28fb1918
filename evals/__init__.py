"""Retrieval evals: labeled datasets, pipelines side by side, metrics, report and gate."""
