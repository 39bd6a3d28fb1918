"""The ingest stage: load -> repair -> clean -> chunk -> link -> embed -> upsert into the store."""
