"""Assistant stage: the LangChain face of the assistant (a retriever, and the LCEL answer chain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from assistant.compose import CANDIDATES_PER_SLOT, Answer
from assistant.conversation import Turn
from assistant.hybrid import Hit
from assistant.query import ParsedQuery


def hit_document(hit: Hit) -> Document:
    """A hit as a LangChain document: the evidence snippet, with the resource as metadata."""
    resource = hit.resource
    metadata: dict[str, Any] = {
        "id": resource.id,
        "title": resource.title,
        "kind": resource.kind,
        "url": resource.url or "",
        "authors": list(resource.authors),
        "score": hit.score,
    }
    if hit.evidence is not None:
        metadata |= {"source": hit.evidence.source_title, "chunk_id": hit.evidence.id}
    return Document(page_content=hit.snippet or resource.summary, metadata=metadata)


class ResourceRetriever(BaseRetriever):
    """Hybrid retrieval with query understanding, usable anywhere LangChain takes a retriever."""

    search: Callable[..., Any]
    k: int = 10

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [hit_document(hit) for hit in self.search(query, k=self.k).hits]


def build_answer_chain(
    understand: Callable[[str, Turn | None], tuple[ParsedQuery, str]],
    retrieve: Callable[..., Any],
    compose: Callable[..., Answer],
    generate: Callable[[Answer, str], Answer] | None = None,
) -> Runnable[dict[str, Any], Answer]:
    """understand | retrieve | compose (| generate).

    Input: {"message", "previous" (the last turn), "k", "learner" (profile and feedback)}.
    """

    def _understand(inputs: dict[str, Any]) -> dict[str, Any]:
        parsed, topic_text = understand(inputs["message"], inputs.get("previous"))
        return {**inputs, "parsed": parsed, "topic_text": topic_text}

    def _retrieve(state: dict[str, Any]) -> Any:
        # More candidates than slots: the composer's relevance floor and study order choose.
        k = state.get("k", 5) * CANDIDATES_PER_SLOT
        return retrieve(state["parsed"], state["topic_text"], k=k, learner=state.get("learner"))

    def _compose(state: dict[str, Any]) -> Answer:
        result = state["result"]
        return compose(
            result.parsed,
            result.hits,
            result.topic_text,
            result.personal,
            limit=state.get("k", 5),
            elsewhere=result.elsewhere,
        )

    def _finish(state: dict[str, Any]) -> Answer:
        answer: Answer = state["answer"]
        return generate(answer, state["message"]) if generate is not None else answer

    chain: Runnable[dict[str, Any], Answer] = (
        RunnableLambda(_understand)
        | RunnablePassthrough.assign(result=RunnableLambda(_retrieve))
        | RunnablePassthrough.assign(answer=RunnableLambda(_compose))
        | RunnableLambda(_finish)
    )
    return chain.with_config(run_name="mlsd_answer")
