"""The records that flow between stages: load -> clean -> chunk -> index -> retrieve -> answer."""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import date
from typing import Any


def document_id(source: str) -> str:
    """A stable id per source (a file, an export row, a URL): it keeps its id when its content changes."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Skipped:
    """A file, export row, page or feed entry that was not loaded, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Article:
    """One news article. ``text`` is raw after loading and cleaned after ``clean``.

    A large file comes as several parts (``part`` 0, 1, ... up to the one with ``last_part``),
    so that it is never held in memory whole.
    """

    doc_id: str
    source: str
    text: str
    title: str = ""
    date: str = ""
    content_hash: str = ""
    date_source: str = ""
    """How ``date`` was found: "html" (the page's metadata), "metadata" (a PDF's, an export's
    column or a feed entry's), "url" (the link's path), "text" (the dateline), "" (undated)."""
    url: str = ""
    author: str = ""
    site: str = ""
    page: int = 0
    """The PDF page this part holds (from 1); 0 when the source has no pages."""
    kind: str = ""
    """"html" when ``text`` is a web page still to be extracted, "text" when it is text; "" to go by
    the source's file name (``.html``, ``.htm``)."""
    part: int = 0
    last_part: bool = True


@dataclass(frozen=True)
class Chunk:
    """A passage of a cleaned article; ``start``/``end`` are offsets into the article text."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    title: str = ""
    date: str = ""
    source: str = ""
    content_hash: str = ""
    date_source: str = ""
    url: str = ""
    author: str = ""
    site: str = ""
    page: int = 0

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from what Chroma stores beside it (fields stored before they existed are blank)."""
        known = {
            f.name: meta.get(f.name, "" if f.default is MISSING else f.default)
            for f in fields(cls)
            if f.name not in ("chunk_id", "text")
        }
        return cls(chunk_id=chunk_id, text=text, **known)

    def metadata(self) -> dict[str, Any]:
        """Metadata stored beside the chunk in Chroma (scalars only).

        ``day`` is the date as the integer ``YYYYMMDD`` (0 when undated), which Chroma's
        ``$lte``/``$gte`` filters compare.
        """
        from rag.timeframe import day_number

        meta = asdict(self)
        del meta["text"], meta["chunk_id"]
        return meta | {"day": day_number(self.date)}


@dataclass(frozen=True)
class Citation:
    """A passage that supports the answer, numbered as its ``[n]`` marker."""

    n: int
    doc_id: str
    title: str
    date: str
    source: str
    text: str
    start: int
    end: int
    date_source: str = ""
    url: str = ""
    author: str = ""
    site: str = ""
    page: int = 0
    also_published: tuple[str, ...] = ()
    """Where copies of the same story appeared too ("also published in/at"), merged at ingest."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``url``, ``author``, ``site``, ``page`` and ``also_published`` only when known."""
        data = asdict(self)
        data["also_published"] = list(self.also_published)
        return {k: v for k, v in data.items() if k not in OPTIONAL_CITATION_KEYS or v}


OPTIONAL_CITATION_KEYS = ("url", "author", "site", "page", "also_published")


@dataclass(frozen=True)
class Filters:
    """Which articles a question may use.

    ``as_of``: none published after it (undated articles stay). ``since``/``until``: only
    articles dated in that range. ``source``: only articles whose source (a path or URL)
    matches it: a folder, a file pattern such as ``*.html``, or a site.
    """

    as_of: date | None = None
    since: date | None = None
    until: date | None = None
    source: str = ""

    def describe(self) -> str:
        """The filters in words, for messages ("since 2021-01-01, from cnn.com")."""
        parts = [
            f"{label} {value}"
            for label, value in (("as of", self.as_of), ("since", self.since), ("until", self.until))
            if value
        ]
        if self.source:
            parts.append(f"from “{self.source}”")
        return ", ".join(parts)


@dataclass
class Reply:
    """What ``rag ask`` returns; ``to_dict`` is the JSON machine interface."""

    question: str
    answer: str
    short_answer: str = ""
    abstained: bool = False
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""
    notes: list[str] = field(default_factory=list)
    closest: list[Chunk] = field(default_factory=list)
    retrieved: list[Chunk] = field(default_factory=list)
    p_refusal: float | None = None
    withheld_by: str = ""
    """The check that withheld the answer, when there was one (see ``rag.pipeline.GATES``)."""
    as_of: str = ""
    """The date the question was asked at (ISO): the one given, else the newest article's."""

    def to_dict(self) -> dict[str, Any]:
        """The public JSON object; internal fields are left out."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notes": list(self.notes),
            "p_refusal": None if self.p_refusal is None else round(self.p_refusal, 4),
            "withheld_by": self.withheld_by,
            "as_of": self.as_of,
        }
