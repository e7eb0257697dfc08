"""Retrieve stage: dense (Chroma) and BM25 candidates fused by reciprocal rank, as a LangChain retriever."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.cite import is_about
from rag.index import Index
from rag.timeframe import TimeFrame, day_number, from_day_number
from rag.types import Chunk, Filters


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


@dataclass(frozen=True)
class TimeWeights:
    """How much an article's date moves it up the fused ranking (0: not at all).

    ``recency`` multiplies the score of an article published on the question's as-of date by
    ``1 + recency``, halving every ``half_life_days`` before it, for questions about the
    present ("currently", "this week"); ``unmarked_recency`` does the same for questions that
    name no time at all. ``period`` multiplies by ``1 + period`` an article dated in the period
    a question names ("in 2021", "last month"), or that mentions a year it names.
    ``superseded_days``: see :func:`out_of_time`.
    """

    recency: float = 0.0
    unmarked_recency: float = 0.0
    half_life_days: float = 30.0
    period: float = 0.0
    period_slack_days: int = 7
    superseded_days: int = 90


def time_boost(chunk: Chunk, frame: TimeFrame, weights: TimeWeights) -> float:
    """The factor by which ``chunk``'s date raises its score for a question in ``frame``."""
    day = from_day_number(day_number(chunk.date))
    boost = 1.0
    if frame.start is not None and frame.end is not None:
        in_period = day is not None and frame.start <= day <= frame.end + timedelta(days=weights.period_slack_days)
        if in_period or any(year in chunk.text for year in frame.named_years):
            boost += weights.period
    if frame.named or day is None or frame.asked_on is None:
        return boost
    weight = weights.recency if frame.recent else weights.unmarked_recency
    age_days = max(0, (frame.asked_on - day).days)
    return boost + weight * 0.5 ** (age_days / weights.half_life_days)


def out_of_time(question: str, passages: Sequence[Chunk], frame: TimeFrame, weights: TimeWeights) -> set[int]:
    """The passages (by position) from the wrong time, once passages from the right time answer.

    For a question naming a period ("in 2020"), passages dated outside it, unless they mention
    a year it names; for one implying a period ("last year", "this week"), passages from before
    it (a report on last year comes out this year). For a question about how things stand,
    passages of articles more than ``superseded_days`` older than the newest article about the
    question: a newer telling of the story supersedes them. Nothing is excluded while no passage
    about the question is dated in the right time, and undated passages never are.
    """
    slack = timedelta(days=weights.period_slack_days)
    if frame.start is not None and frame.end is not None:
        start = frame.start
        end = frame.end + slack if frame.named or frame.asked_on is None else max(frame.end, frame.asked_on)

        def dated_in_time(chunk: Chunk) -> bool:
            day = from_day_number(day_number(chunk.date))
            return day is not None and start <= day <= end

        def in_time(chunk: Chunk) -> bool:
            return dated_in_time(chunk) or any(year in chunk.text for year in frame.named_years)

    elif frame.about_present:
        dated = [c.date for c in passages if c.date and is_about(question, c.text)]
        if not dated:
            return set()
        newest = date.fromisoformat(max(dated))

        def dated_in_time(chunk: Chunk) -> bool:
            return (newest - date.fromisoformat(chunk.date)).days <= weights.superseded_days

        in_time = dated_in_time
    else:
        return set()
    if not any(c.date and dated_in_time(c) and is_about(question, c.text) for c in passages):
        return set()
    return {i for i, c in enumerate(passages) if c.date and not in_time(c)}


def hybrid_search(
    index: Index,
    query: str,
    top_k: int,
    candidate_k: int,
    rrf_k: int,
    *,
    filters: Filters = Filters(),
    frame: TimeFrame = TimeFrame(),
    weights: TimeWeights = TimeWeights(),
) -> list[Hit]:
    """The ``top_k`` chunks for ``query`` by fused dense and BM25 rank, weighted by date.

    Only chunks that pass ``filters`` are candidates, on both sides: Chroma applies its
    ``where`` clause and BM25 the same filter as a mask.
    """
    index.ensure_bm25()
    embedding = index.embedder.encode_query(query)
    allowed = index.allowed(filters)
    dense = index.dense_search(embedding, candidate_k, filters, allowed)
    lexical = index.bm25.search(query, candidate_k, allowed)
    fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in lexical]], rrf_k)
    chunks = {c.chunk_id: c for c in index.chunks([i for i, _ in fused])}
    weighted = sorted(
        ((i, score * time_boost(chunks[i], frame, weights)) for i, score in fused if i in chunks),
        key=lambda pair: -pair[1],
    )[:top_k]
    dense_scores, bm25_scores = dict(dense), dict(lexical)
    return [Hit(chunks[i], score, dense_scores.get(i, 0.0), bm25_scores.get(i, 0.0)) for i, score in weighted]


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
    return Hit(Chunk.from_metadata(chunk_id, document.page_content, meta), **scores)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an :class:`Index`: dense + BM25, fused with RRF."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    top_k: int = 4
    candidate_k: int = 20
    rrf_k: int = 60
    weights: TimeWeights = TimeWeights()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        """``filters`` (:class:`Filters`) and ``frame`` (:class:`TimeFrame`) may come as keywords."""
        top_k = int(kwargs.get("top_k", self.top_k))
        hits = hybrid_search(
            self.index,
            query,
            top_k,
            max(self.candidate_k, top_k),
            self.rrf_k,
            filters=kwargs.get("filters") or Filters(),
            frame=kwargs.get("frame") or TimeFrame(),
            weights=self.weights,
        )
        return [hit_to_document(hit) for hit in hits]
