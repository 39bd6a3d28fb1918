"""The assistant stage: settings, retrieval, ranking, personalization, conversation, answers."""
