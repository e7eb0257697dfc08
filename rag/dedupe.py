"""Wire copies: the same story republished by several outlets is kept once in retrieval.

Between clean and chunk, each article's lead (the first ``lead_words`` words after its
headline, dateline and byline) is cut into
five-word shingles and summarised by a MinHash (``datasketch``). An article whose lead is
at least ``threshold`` similar (estimated Jaccard) to an indexed one is not indexed again: it
is recorded as "also published" beside that article and shown with its citations.

Only the lead is compared because pages of one site share their furniture (menus, tickers,
"most read" lists) further down: over whole texts, unrelated stories of the same news site
scored up to 0.83 on the India news export, while over the first 300 words no unrelated pair
reached 0.8. Measured on the two news CSVs, see ``evals/ingest_bench.py``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.types import Article

log = logging.getLogger(__name__)

SHINGLE_WORDS = 5
HEAD_LINES = 4
HEAD_LINE_CHARS = 80
"""Up to ``HEAD_LINES`` opening lines shorter than this (headline, dateline, byline) are not compared."""
MINHASH_SCHEME = "affine32"
"""Fixed, so signatures stored by one datasketch version compare with those of the next."""
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Copy:
    """An article found to be a copy of an indexed one, and where it appeared."""

    doc_id: str
    original: str
    """The doc_id of the indexed article it copies."""
    source: str
    title: str = ""
    date: str = ""
    url: str = ""
    site: str = ""
    content_hash: str = ""
    similarity: float = 0.0

    def where(self) -> str:
        """Where it was published, for "also published in/at": the link, else the site, else the file."""
        place = self.url or self.site or self.source
        return f"{place} ({self.date})" if self.date else place


def body(article: Article) -> str:
    """The text without its opening lines: outlets give the same story their own headline, dateline and byline."""
    paragraphs = article.text.split("\n")
    skipped = 0
    while skipped < HEAD_LINES and len(paragraphs) > skipped + 1:
        line = paragraphs[skipped].strip()
        if line and line != article.title and len(line) >= HEAD_LINE_CHARS:
            break
        skipped += 1
    return "\n".join(paragraphs[skipped:])


def shingles(text: str, lead_words: int) -> set[bytes]:
    """The five-word shingles of the first ``lead_words`` words, lower-cased."""
    words = WORD.findall(text.lower())[:lead_words]
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}


class WireCopies:
    """The MinHash signatures of indexed articles and the copies merged into them.

    Stored beside the index (``copies.json`` and ``signatures.npz``) and written only under
    the index's write lock.
    """

    def __init__(self, folder: Path, threshold: float, lead_words: int, num_perm: int = 128) -> None:
        self.folder = folder
        self.threshold = threshold
        self.lead_words = lead_words
        self.num_perm = num_perm
        self.copies: dict[str, Copy] = {}
        self.signatures: dict[str, np.ndarray] = {}
        self.dates: dict[str, str] = {}
        self._lsh: Any = None
        self._loaded_at: float | None = None

    # ---- storage -----------------------------------------------------------------------------
    @property
    def _copies_file(self) -> Path:
        return self.folder / "copies.json"

    @property
    def _signatures_file(self) -> Path:
        return self.folder / "signatures.npz"

    def load(self) -> None:
        """Read what is stored (a damaged file is treated as empty, with a warning)."""
        self.copies, self.signatures, self.dates, self._lsh = {}, {}, {}, None
        try:
            if self._copies_file.exists():
                self.copies = {c["doc_id"]: Copy(**c) for c in json.loads(self._copies_file.read_text("utf-8"))}
            if self._signatures_file.exists():
                with np.load(self._signatures_file) as stored:
                    ids = stored["ids"].tolist()
                    self.signatures = dict(zip(ids, stored["values"], strict=True))
                    self.dates = dict(zip(ids, stored["dates"].tolist(), strict=True))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Wire-copy records at %s are damaged (%s); starting them afresh.", self.folder, exc)
            self.copies, self.signatures, self.dates = {}, {}, {}
        self._loaded_at = self._stamp()

    def refresh(self) -> None:
        """Load again if another process changed the records."""
        if self._loaded_at is None or self._stamp() != self._loaded_at:
            self.load()

    def _stamp(self) -> float:
        return self._copies_file.stat().st_mtime if self._copies_file.exists() else 0.0

    def save(self) -> None:
        """Write the records atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        ids = sorted(self.signatures)
        values = np.stack([self.signatures[i] for i in ids]) if ids else np.zeros((0, self.num_perm), np.uint32)
        temporary = self._signatures_file.with_suffix(".tmp.npz")
        dates = np.array([self.dates.get(i, "") for i in ids], dtype=str)
        np.savez(temporary, ids=np.array(ids, dtype=str), values=values, dates=dates)
        os.replace(temporary, self._signatures_file)
        temporary = self._copies_file.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(c) for c in self.copies.values()], ensure_ascii=False), "utf-8")
        os.replace(temporary, self._copies_file)
        self._loaded_at = self._stamp()

    # ---- matching ----------------------------------------------------------------------------
    def _index(self) -> Any:
        from datasketch import MinHashLSH

        if self._lsh is None:
            self._lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
            for doc_id, values in self.signatures.items():
                self._lsh.insert(doc_id, self._stored(values), check_duplication=False)
        return self._lsh

    def _stored(self, values: np.ndarray) -> Any:
        """A stored signature as a MinHash."""
        from datasketch import MinHash

        return MinHash(num_perm=self.num_perm, hashvalues=values, scheme=MINHASH_SCHEME)

    def original_of(self, article: Article) -> Copy | None:
        """The copy record if ``article`` (cleaned) repeats an indexed article; else ``None``, and it is noted."""
        from datasketch import MinHash

        minhash = MinHash(num_perm=self.num_perm, scheme=MINHASH_SCHEME)
        minhash.update_batch(list(shingles(body(article), self.lead_words)))
        lsh = self._index()
        best: tuple[float, str] | None = None
        for candidate in lsh.query(minhash):
            if candidate == article.doc_id or self._earlier(article.date, self.dates.get(candidate, "")):
                continue
            similarity = minhash.jaccard(self._stored(self.signatures[candidate]))
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, candidate)
        self.forget([article.doc_id], with_copies=False)
        if best is None:
            self.signatures[article.doc_id] = minhash.hashvalues.astype(np.uint32)
            self.dates[article.doc_id] = article.date
            lsh.insert(article.doc_id, minhash, check_duplication=False)
            return None
        copy = Copy(
            doc_id=article.doc_id,
            original=best[1],
            source=article.source,
            title=article.title,
            date=article.date,
            url=article.url,
            site=article.site,
            content_hash=article.content_hash,
            similarity=round(best[0], 3),
        )
        self.copies[article.doc_id] = copy
        return copy

    @staticmethod
    def _earlier(date: str, original_date: str) -> bool:
        """True when both are dated and ``date`` comes first.

        A copy published before the indexed article stays an article of its own: merged into
        a later one, it would vanish from questions asked as of a date between the two.
        """
        return bool(date and original_date and date < original_date)

    def forget(self, doc_ids: Iterable[str], with_copies: bool = True) -> None:
        """Drop these articles' signatures and copy records and, ``with_copies``, the copies of them.

        Copies of a removed article are not in the index; the next ingest of their files
        indexes them in its place.
        """
        gone = {d for d in doc_ids if d in self.signatures or d in self.copies}
        for doc_id in [d for d in gone if d in self.signatures]:
            del self.signatures[doc_id]
            self.dates.pop(doc_id, None)
            if self._lsh is not None and doc_id in self._lsh:
                self._lsh.remove(doc_id)
        if not gone:
            return
        for doc_id in [d for d, c in self.copies.items() if d in gone or (with_copies and c.original in gone)]:
            del self.copies[doc_id]

    def unchanged_copy(self, doc_id: str, content_hash: str) -> bool:
        """True when ``doc_id`` is a recorded copy whose content has not changed."""
        copy = self.copies.get(doc_id)
        return copy is not None and copy.content_hash == content_hash

    def copies_of(self, doc_id: str) -> list[Copy]:
        """The copies merged into ``doc_id``."""
        return [c for c in self.copies.values() if c.original == doc_id]
