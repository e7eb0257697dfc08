"""Retrieve stage: dense (Chroma) and BM25 candidates fused by reciprocal rank, as a LangChain retriever."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.index import Index
from rag.types import Chunk


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each id scores ``sum(1 / (k + rank))``, rank counted from 1.

    Ties keep the order in which ids were first seen, so the result is deterministic.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with why it was retrieved (a score of 0.0: not among that retriever's candidates)."""

    chunk: Chunk
    score: float
    dense: float
    bm25: float


def hybrid_search(index: Index, query: str, top_k: int, candidate_k: int, rrf_k: int) -> list[Hit]:
    """The ``top_k`` chunks for ``query`` by fused dense and BM25 rank."""
    index.ensure_bm25()
    embedding = index.embedder.encode([query])[0]
    dense = index.dense_search(embedding, candidate_k)
    lexical = index.bm25.search(query, candidate_k)
    fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in lexical]], rrf_k)[:top_k]
    dense_scores, bm25_scores = dict(dense), dict(lexical)
    chunks = {c.chunk_id: c for c in index.chunks([i for i, _ in fused])}
    return [
        Hit(chunks[i], score, dense_scores.get(i, 0.0), bm25_scores.get(i, 0.0)) for i, score in fused if i in chunks
    ]


def hit_to_document(hit: Hit) -> Document:
    """A LangChain document carrying the chunk and its scores in metadata."""
    meta = hit.chunk.metadata() | {
        "chunk_id": hit.chunk.chunk_id,
        "score": hit.score,
        "dense": hit.dense,
        "bm25": hit.bm25,
    }
    return Document(page_content=hit.chunk.text, metadata=meta, id=hit.chunk.chunk_id)


def document_to_hit(document: Document) -> Hit:
    """Inverse of :func:`hit_to_document`."""
    meta = dict(document.metadata)
    scores = {k: float(meta.pop(k, 0.0)) for k in ("score", "dense", "bm25")}
    chunk_id = meta.pop("chunk_id", document.id or "")
    fields = {k: meta.get(k, "") for k in ("doc_id", "start", "end", "title", "date", "source", "content_hash")}
    return Hit(Chunk(chunk_id=chunk_id, text=document.page_content, **fields), **scores)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an :class:`Index`: dense + BM25, fused with RRF."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    top_k: int = 4
    candidate_k: int = 20
    rrf_k: int = 60

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        top_k = int(kwargs.get("top_k", self.top_k))
        hits = hybrid_search(self.index, query, top_k, max(self.candidate_k, top_k), self.rrf_k)
        return [hit_to_document(hit) for hit in hits]
