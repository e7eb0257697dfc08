"""Cite stage: parse ``[n]`` markers, keep only passages that support the answer, renumber.

Everything here is a pure function over strings and chunks, so it is tested without models.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rag.types import Chunk, Citation

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
QUOTE_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-"})
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here there
    when where why how all any both each few more most other some such no nor not only own same so
    than too very s t can will just don should now is are was were be been being have has had having
    do does did doing i me my we our you your he him his she her it its they them their what which
    who whom this that these those am would could also said says say according as""".split()
)
SUPPORT_THRESHOLD = 0.75
RELEVANCE_THRESHOLD = 0.3


def fold(text: str) -> str:
    """Lower-case, ASCII quotes and dashes, no accents: the form in which texts are compared."""
    text = unicodedata.normalize("NFKD", text.translate(QUOTE_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """Word tokens of ``text`` after folding; apostrophes inside words are kept."""
    return re.findall(r"[a-z0-9]+(?:['.-][a-z0-9]+)*", fold(text))


NUMBER_WORDS = {
    w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}


def stem(word: str) -> str:
    """A light plural/tense stem so 'militias' matches 'militia' and 'strikes' matches 'strike'.

    Number words become digits, so "four" supports "4".
    """
    word = NUMBER_WORDS.get(word, word).replace("'", "").replace(".", "")
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_terms(text: str, exclude: str = "") -> list[str]:
    """Stems of the content words of ``text`` that do not occur in ``exclude``."""
    excluded = {stem(w) for w in words(exclude)}
    return [s for w in words(text) if w not in STOPWORDS and (s := stem(w)) not in excluded]


def support(claim: str, passage: str, question: str = "") -> float:
    """Share of the claim's content words (not already in the question) found in the passage."""
    claim = strip_markers(claim)
    terms = content_terms(claim, exclude=question) or content_terms(claim)
    if not terms:
        return 0.0
    have = {stem(w) for w in words(passage)}
    return sum(t in have for t in terms) / len(terms)


def relevance(question: str, passage: str) -> float:
    """Share of the question's content words found in the passage."""
    terms = set(content_terms(question))
    if not terms:
        return 1.0
    have = {stem(w) for w in words(passage)}
    return len(terms & have) / len(terms)


HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "sir", "st", "gen", "col", "lt", "sgt", "prof", "rev", "i"})


def names_and_numbers(question: str) -> list[str]:
    """The capitalised words (past the first) and numbers of a question, possessives dropped.

    These are what a question turns on: "Who patented a steam engine in 1883?" asked of an
    article that gives 1849 must not be answered with the 1849 patentee.
    """
    tokens = re.findall(r"[\w'’.-]+", question)
    found = []
    for position, token in enumerate(tokens):
        token = re.sub(r"['’]s?$", "", token.strip(".-"))
        if not token or fold(token) in HONORIFICS:
            continue
        if any(ch.isdigit() for ch in token) or (position > 0 and token[0].isupper()):
            found.append(token)
    return found


def missing_names(question: str, passages: Sequence[str]) -> list[str]:
    """The names and numbers of ``question`` that none of ``passages`` contains."""
    have = {stem(w) for w in words(" ".join(passages))}
    return [name for name in names_and_numbers(question) if not all(stem(w) in have for w in words(name))]


def source_passages(citations: Sequence[Citation], passages: Sequence[Chunk]) -> list[str]:
    """The text of the passages the citations were cut from.

    Whole passages, not just the cited sentences: "the group said" counts as naming the group
    its passage introduced a sentence earlier.
    """
    return [
        p.text
        for p in passages
        if any(c.doc_id == p.doc_id and p.start <= c.start and c.end <= p.end for c in citations)
    ]


def strip_markers(text: str) -> str:
    """The answer text without ``[n]`` markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).strip()


def cited_numbers(text: str) -> list[int]:
    """The passage numbers the answer cites, in order of first appearance."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in numbers:
                numbers.append(n)
    return numbers


@dataclass(frozen=True)
class CitedAnswer:
    """An answer with verified citations; ``supported`` is False if no passage backs it."""

    answer: str
    citations: list[Citation]
    supported: bool


def to_citation(n: int, chunk: Chunk) -> Citation:
    """A numbered citation for ``chunk``."""
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        date=chunk.date,
        source=chunk.source,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
    )


def verify_citations(
    answer: str,
    claim: str,
    passages: Sequence[Chunk],
    question: str = "",
    threshold: float = SUPPORT_THRESHOLD,
) -> CitedAnswer:
    """Keep the cited passages that support ``claim``; cite the best one if the model cited none.

    ``claim`` is what must be found in a passage (the short answer, or the answer itself), and
    the passage must also be about the question: an answer drawn from an unrelated sentence is
    how a small model invents facts out of real words.
    Markers out of range or pointing at a passage without support are dropped; the kept ones are
    renumbered from 1 in order of appearance, and the text's markers are rewritten to match.
    """
    numbers = [n for n in cited_numbers(answer) if 1 <= n <= len(passages)]
    scores = {
        n: support(claim, chunk.text, question) if relevance(question, chunk.text) >= RELEVANCE_THRESHOLD else 0.0
        for n, chunk in enumerate(passages, start=1)
    }
    kept = [n for n in numbers if scores[n] >= threshold]
    if not kept and scores:
        best = max(scores, key=lambda n: (scores[n], -n))
        if scores[best] >= threshold:
            kept = [best]
    if not kept:
        return CitedAnswer(strip_markers(answer), [], supported=False)
    renumber = {old: new for new, old in enumerate(kept, start=1)}
    body = strip_markers(answer)
    markers = "".join(f"[{renumber[n]}]" for n in kept)
    if body and body[-1] in ".!?":
        text = f"{body[:-1]} {markers}{body[-1]}"
    else:
        text = f"{body} {markers}"
    citations = [to_citation(renumber[n], passages[n - 1]) for n in kept]
    return CitedAnswer(text, citations, supported=True)
