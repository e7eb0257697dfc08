"""Chunk stage: split a cleaned article on paragraph and sentence boundaries, keeping offsets."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.types import Article, Chunk

ABBREVIATIONS = (
    r"Mr",
    r"Mrs",
    r"Ms",
    r"Dr",
    r"Gen",
    r"Maj",
    r"Col",
    r"Lt",
    r"Sgt",
    r"Capt",
    r"St",
    r"Sen",
    r"Rep",
    r"Gov",
    r"Prof",
    r"Jr",
    r"Sr",
    r"No",
    r"U\.S",
    r"U\.N",
    r"[A-Z]",
    r"Rev",
    r"Hon",
    r"Adm",
    r"Cpl",
    r"Pvt",
    r"Det",
    r"Supt",
    r"Atty",
    r"Mt",
    r"Ft",
    r"vs",
    r"Jan",
    r"Feb",
    r"Mar",
    r"Apr",
    r"Jun",
    r"Jul",
    r"Aug",
    r"Sep",
    r"Sept",
    r"Oct",
    r"Nov",
    r"Dec",
    r"[ap]\.m",
)
"""Words whose dot is not a sentence's end: titles before a name, months as news style shortens
them ("Aug. 17") and times of day ("9 a.m. ET", "8 p.m. Tuesday"), which would otherwise cut a
date or time in two."""
NOT_AFTER_ABBREVIATION = "".join(rf"(?<!\b{a}\.)" for a in ABBREVIATIONS)
AFTER_CLOSING_QUOTE = r"(?<=[.!?][\"”’)])\s+"
SENTENCE_END = rf"(?<=[.!?]){NOT_AFTER_ABBREVIATION}\s+(?=[\"“‘(\[]?[A-Z0-9])|{AFTER_CLOSING_QUOTE}"
LOWERCASE_SENTENCE_END = rf"(?<=[.!?])\s+(?=[\"“‘(\[]?[a-z0-9])|{AFTER_CLOSING_QUOTE}"
"""In text written all in lower case (some archive exports), a sentence may start with any letter."""
MIN_CAPITALS_SHARE = 0.005
"""Below this share of capital letters, text is taken as written all in lower case."""


def is_lowercase_text(text: str) -> bool:
    """True for text with next to no capital letters, where they cannot mark sentence starts."""
    letters = sum(c.isalpha() for c in text)
    return letters >= 40 and sum(c.isupper() for c in text) < MIN_CAPITALS_SHARE * letters


def sentence_end(text: str) -> str:
    """The pattern of the space between two sentences of ``text``."""
    return LOWERCASE_SENTENCE_END if is_lowercase_text(text) else SENTENCE_END


@lru_cache(maxsize=8)
def splitter(
    chunk_size: int, chunk_overlap: int, sentence_pattern: str = SENTENCE_END
) -> RecursiveCharacterTextSplitter:
    """A LangChain splitter that prefers paragraphs, then sentences, then clauses, then words."""
    return RecursiveCharacterTextSplitter(
        separators=["\n\n", "\n", sentence_pattern, r"(?<=[;:,])\s+", r"\s+", ""],
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_id(doc_id: str, content_hash: str, start: int, text: str) -> str:
    """Content-derived id: the same article text always yields the same chunk ids."""
    digest = hashlib.sha256(f"{doc_id}\x1f{content_hash}\x1f{start}\x1f{text}".encode())
    return f"{doc_id}-{digest.hexdigest()[:16]}"


def chunk(article: Article, chunk_size: int = 600, chunk_overlap: int = 100, offset: int = 0) -> list[Chunk]:
    """Split ``article`` into chunks whose ``text == article.text[start - offset:end - offset]``.

    ``offset`` is where this part of a large article starts in the whole cleaned text.
    """
    if not article.text.strip():
        return []
    pieces = splitter(chunk_size, chunk_overlap, sentence_end(article.text)).create_documents([article.text])
    chunks: list[Chunk] = []
    cursor = 0
    for piece in pieces:
        text = piece.page_content
        start = piece.metadata.get("start_index", -1)
        if start < 0 or article.text[start : start + len(text)] != text:
            start = article.text.find(text, max(0, cursor - chunk_size))
            if start < 0:
                continue
        cursor = start + len(text)
        chunks.append(
            Chunk(
                chunk_id=chunk_id(article.doc_id, article.content_hash, offset + start, text),
                doc_id=article.doc_id,
                text=text,
                start=offset + start,
                end=offset + start + len(text),
                title=article.title,
                date=article.date,
                source=article.source,
                content_hash=article.content_hash,
                date_source=article.date_source,
                url=article.url,
                author=article.author,
                site=article.site,
                page=article.page,
            )
        )
    return chunks


MAX_GAP = 3
"""Characters (white space) that may separate a sentence from the one it continues."""
REFERS_BACK = re.compile(
    r"^\W*(he|she|they|his|her|their|its)\b"
    r"|[,”\"’']\s*(he|she|they|it|the \w+) (said|says|added|told|wrote|stated|announced|warned)\b",
    re.IGNORECASE,
)
"""A sentence that continues the one before it, where its speaker or subject is named: it opens
with "he", "they" or a possessive, or ends a quote with "he said" or "the group said"."""


def leads_into(earlier: Chunk, later: Chunk) -> bool:
    """Whether ``later`` starts inside ``earlier`` or at most ``MAX_GAP`` characters after it, in one article."""
    return earlier.doc_id == later.doc_id and earlier.start < later.start <= earlier.end + MAX_GAP


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (shifted by ``offset``)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer(rf"\n+|{sentence_end(text)}", text):
        if text[start : match.start()].strip():
            spans.append((offset + start, offset + match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans
