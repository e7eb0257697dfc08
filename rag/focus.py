"""Focus stage: narrow retrieved passages to the sentences that answer the question.

On a 2-core CPU the local model reads about 90 prompt tokens a second, so every sentence in the
prompt costs time. Ranking sentences and keeping the best few, within a character budget,
gives the model a short, sharp context and leaves citations pointing at exact excerpts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunk import MAX_GAP, REFERS_BACK, leads_into, split_sentences
from rag.cite import content_terms, is_about
from rag.embed import Embedder
from rag.types import Chunk

LEXICAL_WEIGHT = 0.15
NUMBER_WEIGHT = 0.1
ASKS_FOR_NUMBER = re.compile(
    r"\b(how (many|much|long|old|far|large)|what (year|percentage|number|share)|when)\b",
    re.IGNORECASE,
)
HAS_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|"
    r"millions?|billions?|January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
    re.IGNORECASE,
)
CARRY = 0.9


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage: ``start``/``end`` are offsets into that passage."""

    passage: int
    start: int
    end: int
    text: str
    score: float


def rank_sentences(
    question: str,
    passages: Sequence[Chunk],
    embedder: Embedder,
    timeliness: Sequence[float] = (),
    time_weight: float = 0.0,
    out_of_time: Collection[int] = (),
) -> list[Sentence]:
    """All sentences of ``passages``, best first: cosine similarity plus shared content words.

    A question asking "how many" or "when" also favours sentences that hold a number or a date.
    ``timeliness`` (one factor per passage, from ``rag.retrieve.time_boost``) lowers sentences
    of articles from the wrong time by ``time_weight`` times their shortfall from the best-timed
    passage about the question: asked how things stand now, last year's sentence loses to this
    year's nearly equal one, while a newer article on another subject gains nothing. Passages
    numbered in ``out_of_time`` (see ``rag.retrieve.out_of_time``) give no sentences at all.
    A sentence that refers back to the one before it takes a share of that one's score (see
    ``carried_back``).
    """
    spans = [
        (i, start, end, chunk.text[start:end])
        for i, chunk in enumerate(passages)
        for start, end in split_sentences(chunk.text)
    ]
    if not spans:
        return []
    question_vector = embedder.encode_query(question)
    similarity = embedder.encode_cached([text for *_, text in spans]) @ question_vector
    query_terms = set(content_terms(question))
    overlap = np.array([len(query_terms & set(content_terms(text))) / max(len(query_terms), 1) for *_, text in spans])
    scores = similarity + LEXICAL_WEIGHT * overlap
    if ASKS_FOR_NUMBER.search(question):
        scores += NUMBER_WEIGHT * np.array([bool(HAS_NUMBER.search(text)) for *_, text in spans])
    if time_weight and len(timeliness) == len(passages):
        relevant = [t for t, chunk in zip(timeliness, passages, strict=True) if is_about(question, chunk.text)]
        best = max(relevant or timeliness)
        shortfall = np.array([max(0.0, 1.0 - timeliness[i] / best) for i, *_ in spans])
        scores -= time_weight * shortfall
    scores = carried_back(scores, spans, passages)
    if out_of_time:
        keep = [k for k, (i, *_) in enumerate(spans) if i not in out_of_time]
        spans, scores = [spans[k] for k in keep], scores[keep]
    ranked = sorted(range(len(spans)), key=lambda i: -scores[i])
    return [Sentence(*spans[i], score=float(scores[i])) for i in ranked]


def carried_back(
    scores: np.ndarray, spans: Sequence[tuple[int, int, int, str]], passages: Sequence[Chunk]
) -> np.ndarray:
    """``scores`` where a sentence that refers back scores at least ``CARRY`` times its predecessor.

    News puts the subject in one sentence and what it said in the next: "The group X said four
    of its fighters had been killed." then "'We will go to open war,' the group said." The
    second never names X, so asked what X said, it ranks low on its own words. A sentence
    opening with "he", "she", "they" or a possessive, or ending a quote with "he said" or "the
    <noun> said", continues the sentence just before it in the article, found among the
    retrieved passages even when a passage boundary falls between the two.
    """
    at = [(passages[i].doc_id, passages[i].start + start, passages[i].start + end) for i, start, end, _ in spans]
    carried = scores.copy()
    for k in sorted(range(len(spans)), key=lambda k: (at[k][0], at[k][1])):
        if not REFERS_BACK.search(spans[k][3]):
            continue
        doc_id, start, _ = at[k]
        before = [j for j in range(len(spans)) if at[j][0] == doc_id and 0 <= start - at[j][2] <= MAX_GAP]
        if before:
            carried[k] = max(carried[k], CARRY * max(carried[j] for j in before))
    return carried


def continuations(passages: Sequence[Chunk], article_chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks of ``article_chunks`` that carry on one of ``passages`` and were not retrieved.

    A chunk carries on a passage when it follows it in the article and its first new sentence
    refers back (see ``REFERS_BACK``): "'We will go to open war,' the group said." opens the
    chunk after the one naming the group, and no search for the group's name finds it.
    """
    have = {p.chunk_id for p in passages}
    found: list[Chunk] = []
    for passage in passages:
        following = [c for c in article_chunks if leads_into(passage, c)]
        if not following:
            continue
        chunk = min(following, key=lambda c: c.start)
        new = [(start, end) for start, end in split_sentences(chunk.text) if chunk.start + start >= passage.end]
        if chunk.chunk_id in have or not new or not REFERS_BACK.search(chunk.text[new[0][0] : new[0][1]]):
            continue
        have.add(chunk.chunk_id)
        found.append(chunk)
    return found


def excerpt(chunk: Chunk, start: int, end: int) -> Chunk:
    """The part ``chunk.text[start:end]`` as a chunk of its own, with document offsets."""
    return dataclasses.replace(chunk, text=chunk.text[start:end], start=chunk.start + start, end=chunk.start + end)


def select_excerpts(ranked: Sequence[Sentence], passages: Sequence[Chunk], budget_chars: int) -> list[Chunk]:
    """Excerpts built from the best sentences that fit in ``budget_chars``.

    The best sentence is always kept. Sentences next to each other in one passage merge into
    one excerpt; excerpts come in the order of their best sentence.
    """
    chosen: list[Sentence] = []
    used = 0
    for sentence in ranked:
        size = len(sentence.text)
        if chosen and used + size > budget_chars:
            continue
        chosen.append(sentence)
        used += size
    groups: list[list[Sentence]] = []
    for sentence in chosen:
        for group in groups:
            same = [s for s in group if s.passage == sentence.passage]
            if same and _adjacent(passages[sentence.passage], same, sentence):
                group.append(sentence)
                break
        else:
            groups.append([sentence])
    excerpts = []
    for group in groups:
        start, end = min(s.start for s in group), max(s.end for s in group)
        excerpts.append(excerpt(passages[group[0].passage], start, end))
    return excerpts


def _adjacent(passage: Chunk, group: list[Sentence], sentence: Sentence) -> bool:
    """True when only white space separates ``sentence`` from the span of ``group``."""
    start, end = min(s.start for s in group), max(s.end for s in group)
    between = passage.text[end : sentence.start] if sentence.start >= end else passage.text[sentence.end : start]
    return not between.strip()


ASKS_FOR_HEADLINE = re.compile(r"\b(headlines?|titled?|titles)\b", re.IGNORECASE)


def with_headlines(question: str, excerpts: Sequence[Chunk]) -> list[Chunk]:
    """For a question about headlines, each excerpt headed by its article's headline.

    Cleaning moves the headline out of the article text into ``title``; only a question that
    asks for it pays the extra prompt tokens, and its answer can then be verified and cited.
    """
    if not ASKS_FOR_HEADLINE.search(question):
        return list(excerpts)
    return [dataclasses.replace(c, text=f"Headline: {c.title}\n{c.text}") if c.title else c for c in excerpts]


def newest_first(excerpts: Sequence[Chunk]) -> list[Chunk]:
    """Excerpts of newer articles first (undated ones last), otherwise in the order given.

    For a question about how things stand, a small model tends to answer from the first
    excerpt that fits; when several articles tell the story at different times, that should
    be the newest one.
    """
    return sorted(excerpts, key=lambda c: c.date or "", reverse=True)
