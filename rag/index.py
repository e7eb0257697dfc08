"""Index stage: chunks in Chroma (dense) and bm25s (lexical), kept in step, ingested idempotently."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import bm25s
import httpx
import numpy as np
from filelock import FileLock, Timeout

from rag.chunk import chunk
from rag.clean import clean
from rag.dedupe import WireCopies
from rag.embed import ChromaEmbeddingFunction, Embedder
from rag.errors import EmbeddingMismatchError, IndexBusyError, IndexMissingError, IndexUnavailableError, UserError
from rag.load import Skipped, load, source_name
from rag.settings import Settings
from rag.sources.web import Fetcher, is_url
from rag.timeframe import day_number, from_day_number
from rag.types import Article, Chunk, Filters

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))

DOCUMENT_FIELDS = ("doc_id", "title", "date", "date_source", "source", "url", "site")
FLUSH_CHUNKS = 256
MIN_OVERFETCH_SHARE = 0.05
"""A filter passing fewer chunks than this share is searched exactly, not by over-fetching."""
OVERFETCH_MARGIN = 2.0
"""Fetch this many times the nearest chunks a filter's share suggests, so that ``k`` pass."""
EXACT_GATHER_SHARE = 0.3
"""Below this share of passing chunks, only their rows are read for the exact search."""
PART_SEPARATOR = "\n\n"
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class IngestSummary:
    """Counts of what one ``rag ingest`` did, per file."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    removed: int = 0
    merged: int = 0
    chunks_written: int = 0
    skipped_files: list[Skipped] = field(default_factory=list)

    def line(self) -> str:
        """One human-readable summary line."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed, {self.removed} removed, {self.merged} merged as wire copies "
            f"({self.chunks_written} chunks written)"
        )


def tokenize_for_bm25(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words."""
    return bm25s.tokenize(texts, lower=True, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        return None


def fingerprint(ids: Iterable[str]) -> str:
    """Order-free digest of a set of chunk ids: equal digests mean BM25 and Chroma agree."""
    digest = hashlib.sha256()
    for chunk_id in sorted(ids):
        digest.update(chunk_id.encode())
    return digest.hexdigest()


class BM25Store:
    """A bm25s index over every chunk in the collection, persisted beside the Chroma data.

    Beside each chunk id it keeps the article's day (``YYYYMMDD``, 0 when undated, -1 when
    stored before days were recorded) and source, so that date and source filters apply to
    the lexical side exactly as Chroma's ``where`` does to the dense side; and the chunk's
    embedding (memory-mapped), so that a filter passing few chunks is searched exactly.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self.position: dict[str, int] = {}
        self.days = np.zeros(0, dtype=np.int64)
        self.sources: list[str] = []
        self.source_names: list[str] = []
        self.source_codes = np.zeros(0, dtype=np.int64)
        self.fingerprint = ""
        self.retriever: Any = None
        self.vectors: np.ndarray | None = None
        self.loaded = False

    def load(self) -> bool:
        """Load the saved index; False if missing, unreadable or saved without days and sources."""
        try:
            meta = json.loads((self.folder / "ids.json").read_text())
            self.ids, self.fingerprint = meta["ids"], meta["fingerprint"]
            self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
            self.days, self.sources = np.asarray(meta["days"], dtype=np.int64), meta["sources"]
            self._index_sources()
            self.retriever = bm25s.BM25.load(str(self.folder / "bm25")) if self.ids else None
            self.vectors = self._load_vectors()
            self.loaded = True
            return True
        except Exception as exc:  # noqa: BLE001 (any damage to the files means: rebuild)
            log.debug("BM25 index unreadable: %s", exc)
            self.loaded = False
            return False

    def _load_vectors(self) -> np.ndarray | None:
        """The stored embeddings, one row per id, or ``None`` (an index saved before they were kept)."""
        path = self.folder / "vectors.npy"
        if not path.exists():
            return None
        vectors = np.load(path, mmap_mode="r")
        return vectors if vectors.shape[0] == len(self.ids) else None

    def build(
        self,
        ids: list[str],
        texts: list[str],
        days: list[int],
        sources: list[str],
        vectors: np.ndarray | None = None,
    ) -> None:
        """Index ``texts`` from scratch and save; a crash mid-save leaves the old files usable."""
        self.ids, self.fingerprint = list(ids), fingerprint(ids)
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self.days, self.sources = np.asarray(days, dtype=np.int64), list(sources)
        self._index_sources()
        self.retriever = None
        staging = self.folder.with_name(self.folder.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if ids:
            self.retriever = bm25s.BM25()
            self.retriever.index(tokenize_for_bm25(texts), show_progress=False)
            self.retriever.save(str(staging / "bm25"))
        meta = {"ids": self.ids, "fingerprint": self.fingerprint, "days": self.days.tolist(), "sources": self.sources}
        if vectors is not None and len(vectors) == len(ids):
            np.save(staging / "vectors.npy", np.asarray(vectors, dtype=np.float32))
        (staging / "ids.json").write_text(json.dumps(meta))
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)
        self.vectors = self._load_vectors()
        self.loaded = True

    def _index_sources(self) -> None:
        """The distinct sources, and each chunk's source as a number, for fast source filters."""
        names, codes = np.unique(np.asarray(self.sources, dtype=str), return_inverse=True)
        self.source_names, self.source_codes = [str(n) for n in names], codes

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Chunk ids and BM25 scores of the best ``k`` matches (positive scores only).

        ``allowed`` is a boolean mask over the stored chunks: only those may be returned.
        """
        if self.retriever is None or not self.ids:
            return []
        tokens = tokenize_for_bm25([query])
        if not tokens or not tokens[0]:
            return []
        known = [t for t in tokens[0] if t in self.retriever.vocab_dict]
        if not known:
            return []
        mask = None if allowed is None else allowed.astype(np.float32)
        rows, scores = self.retriever.retrieve([known], k=min(k, len(self.ids)), show_progress=False, weight_mask=mask)
        return [(self.ids[int(row)], float(score)) for row, score in zip(rows[0], scores[0], strict=True) if score > 0]


def reaching_chroma(method: Callable[P, R]) -> Callable[P, R]:
    """Turn a lost Chroma server into :class:`IndexUnavailableError`, which says what to do.

    The HTTP client reconnects on the next call, so service resumes once the server is back.
    """

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (httpx.TransportError, ConnectionError) as exc:
            settings = args[0].settings  # type: ignore[attr-defined]
            raise IndexUnavailableError(settings.chroma_host, settings.chroma_port, exc) from exc

    return wrapper


class Index:
    """The Chroma collection plus its BM25 twin; the single place that reads or writes them."""

    def __init__(self, settings: Settings, embedder: Embedder, create: bool = False) -> None:
        self.settings = settings
        self.embedder = embedder
        self.folder = Path(settings.index_dir)
        if not create and settings.chroma_host is None and not (self.folder / "chroma").exists():
            raise IndexMissingError(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.client = open_client(settings)
        self.collection = self._open_collection()
        self.bm25 = BM25Store(self.folder / "bm25")
        self.wire_copies = WireCopies(
            self.folder / "wire-copies",
            threshold=settings.wire_copy_threshold,
            lead_words=settings.wire_copy_lead_words,
        )
        self._chunk_cache: dict[str, Chunk] = {}
        self._checked_at = 0.0

    @reaching_chroma
    def _open_collection(self) -> Any:
        """The collection, created with a note of the embedder that fills it, checked when reopened."""
        collection = self.client.get_or_create_collection(
            self.settings.collection,
            embedding_function=ChromaEmbeddingFunction(self.embedder),
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.embedder.name, "embedding_backend": self.embedder.backend},
        )
        built = collection.metadata or {}
        where = self.settings.chroma_host or self.folder
        if built.get("embedding_model", self.embedder.name) != self.embedder.name:
            raise EmbeddingMismatchError(where, built["embedding_model"], self.embedder.name)
        if built.get("embedding_backend", self.embedder.backend) != self.embedder.backend:
            log.warning(
                "The index at %s was embedded with the %s backend and is searched with %s. Their vectors "
                "agree closely; re-create the index for exact results.",
                where,
                built["embedding_backend"],
                self.embedder.backend,
            )
        return collection

    # ---- reading -------------------------------------------------------------------------
    @reaching_chroma
    def count(self) -> int:
        """Number of chunks stored."""
        return self.collection.count()

    def all_records(self, include: Iterable[str] = ("metadatas",)) -> Iterator[dict[str, Any]]:
        """Every stored chunk as ``{"id", "metadata", "document"?}``, paged."""
        page = self.client.get_max_batch_size()
        offset = 0
        while True:
            got = self.collection.get(include=list(include), limit=page, offset=offset)
            if not got["ids"]:
                return
            for i, chunk_id in enumerate(got["ids"]):
                yield {
                    "id": chunk_id,
                    "metadata": got["metadatas"][i] if got.get("metadatas") else {},
                    "document": got["documents"][i] if got.get("documents") else None,
                    "embedding": got["embeddings"][i] if got.get("embeddings") is not None else None,
                }
            offset += len(got["ids"])

    @reaching_chroma
    def ensure_bm25(self) -> None:
        """Load the BM25 index, rebuilding it from Chroma if it is missing, corrupt or stale.

        A running app checks every ``index_refresh_s`` whether another process (an ingest, or
        another app instance on the same Chroma server) changed the number of chunks.
        """
        if self.bm25.loaded:
            if time.monotonic() - self._checked_at < self.settings.index_refresh_s:
                return
            self._checked_at = time.monotonic()
            if len(self.bm25.ids) == self.count():
                return
            log.warning("The index changed in another process; rebuilding the BM25 index.")
            self._chunk_cache.clear()
            self.rebuild_bm25()
            return
        self._checked_at = time.monotonic()
        if not self.bm25.load():
            if (self.folder / "bm25").exists():
                log.warning("BM25 index at %s is damaged; rebuilding it from Chroma.", self.folder)
            elif self.count():
                log.warning("BM25 index at %s is missing; rebuilding it from Chroma.", self.folder)
            self.rebuild_bm25()
        elif self.bm25.fingerprint != fingerprint(self._all_ids()):
            log.warning("BM25 index at %s is out of step with Chroma; rebuilding it.", self.folder)
            self.rebuild_bm25()

    @reaching_chroma
    def rebuild_bm25(self) -> None:
        """Re-create the BM25 index from every chunk text (and its day and source) stored in Chroma."""
        ids, texts, days, sources, vectors = [], [], [], [], []
        for record in self.all_records(include=("documents", "metadatas", "embeddings")):
            ids.append(record["id"])
            texts.append(record["document"] or "")
            days.append(int(record["metadata"].get("day", -1)))
            sources.append(str(record["metadata"].get("source", "")))
            vectors.append(record["embedding"])
        matrix = np.asarray(vectors, dtype=np.float32) if vectors else np.zeros((0, 0), np.float32)
        self.bm25.build(ids, texts, days, sources, matrix)
        if ids and int(self.bm25.days.min()) < 0:
            log.warning(
                "The index at %s was built before article dates were stored for filtering; date filters "
                "and as-of dates are ignored until you run `rag ingest` again.",
                self.settings.chroma_host or self.folder,
            )

    @property
    def dated(self) -> bool:
        """True when every stored chunk carries its article's day, so date filters can apply."""
        return not len(self.bm25.days) or int(self.bm25.days.min()) >= 0

    def newest_day(self) -> date | None:
        """The date of the newest dated article: what "now" means when no as-of date is given."""
        self.ensure_bm25()
        return from_day_number(int(self.bm25.days.max())) if len(self.bm25.days) else None

    def matching_sources(self, pattern: str) -> list[str]:
        """The stored sources that ``pattern`` names.

        A glob (``*.html``, ``cnn/2023-*``) matches the end of a source's path; other text is
        a folder, file name or site that occurs in it.
        """
        self.ensure_bm25()
        wanted = pattern.strip().lower()
        glob = any(ch in wanted for ch in "*?[")

        def matches(source: str) -> bool:
            if not glob:
                return wanted in source
            return fnmatch.fnmatch(source, wanted) or fnmatch.fnmatch(source, "*/" + wanted)

        return [source for source in self.bm25.source_names if matches(source.lower())]

    def where(self, filters: Filters) -> dict[str, Any] | None:
        """The Chroma ``where`` clause for ``filters`` (``None`` when nothing is filtered).

        Undated articles have day 0, so ``as_of`` never excludes them; ``since`` does.
        """
        conditions: list[dict[str, Any]] = []
        if self.dated:
            first, last = self._day_range(filters)
            if last is not None:
                conditions.append({"day": {"$lte": last}})
            if first is not None:
                conditions.append({"day": {"$gte": first}})
        if filters.source:
            conditions.append({"source": {"$in": self.matching_sources(filters.source) or [""]}})
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    @staticmethod
    def _day_range(filters: Filters) -> tuple[int | None, int | None]:
        """The first and last allowed ``day`` numbers (``None``: unbounded).

        ``as_of`` bounds only the last day, so undated articles (day 0) stay; a ``since`` or
        ``until`` range asks for dated articles, so it starts at day 1 at the earliest.
        """
        last = min((d for d in (filters.as_of, filters.until) if d), default=None)
        first = filters.since or (date.min if filters.until else None)
        return (
            None if first is None else max(1, day_number(first.isoformat())),
            None if last is None else day_number(last.isoformat()),
        )

    def allowed(self, filters: Filters) -> np.ndarray | None:
        """The same filter as :meth:`where`, as a mask over the BM25 chunks (``None``: all)."""
        self.ensure_bm25()
        mask = np.ones(len(self.bm25.ids), dtype=bool)
        if self.dated:
            first, last = self._day_range(filters)
            if last is not None:
                mask &= self.bm25.days <= last
            if first is not None:
                mask &= self.bm25.days >= first
        if filters.source:
            wanted = set(self.matching_sources(filters.source))
            codes = [i for i, name in enumerate(self.bm25.source_names) if name in wanted]
            mask &= np.isin(self.bm25.source_codes, codes)
        return None if mask.all() else mask

    @reaching_chroma
    def dense_search(
        self,
        query_embedding: np.ndarray,
        k: int,
        filters: Filters,
        allowed: np.ndarray | None,
    ) -> list[tuple[str, float]]:
        """Chunk ids and cosine similarities of the ``k`` nearest chunks that pass ``filters``.

        Chroma's ``where`` scans the metadata of every chunk (about 300 ms at 100k chunks), so a
        filtered search asks the vector index for the nearest chunks unfiltered, as many as the
        filter's share of chunks suggests, and keeps those the BM25 side's mask lets through.
        When too few pass (a narrow filter), the passing chunks are scored exactly from the
        stored embeddings; Chroma filters itself only for an index saved before those were kept.
        ``allowed`` is :meth:`allowed` for ``filters``, which the caller also hands to BM25.
        """
        total = self.count()
        if total == 0:
            return []
        if allowed is None:
            return self._nearest(query_embedding, min(k, total), None)
        share = float(allowed.mean()) if len(allowed) else 0.0
        if share >= MIN_OVERFETCH_SHARE:
            fetch = min(total, max(2 * k, int(OVERFETCH_MARGIN * k / share)))
            nearest = self._nearest(query_embedding, fetch, None)
            position = self.bm25.position
            passing = [(cid, score) for cid, score in nearest if cid in position and allowed[position[cid]]]
            if len(passing) >= k or fetch == total:
                return passing[:k]
        if self.bm25.vectors is not None and len(self.bm25.ids) == total:
            return self._exact_nearest(query_embedding, k, allowed)
        return self._nearest(query_embedding, min(k, total), self.where(filters))

    def _exact_nearest(self, query_embedding: np.ndarray, k: int, allowed: np.ndarray) -> list[tuple[str, float]]:
        """The ``k`` passing chunks most similar to the query, scored from the stored embeddings."""
        rows = np.flatnonzero(allowed)
        if not len(rows):
            return []
        vectors = self.bm25.vectors
        query = np.asarray(query_embedding, dtype=np.float32)
        if len(rows) < EXACT_GATHER_SHARE * len(allowed):
            scores = np.asarray(vectors[rows] @ query)
        else:
            scores = np.asarray(vectors @ query)[rows]
        best = np.argpartition(-scores, min(k, len(rows)) - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self.bm25.ids[rows[i]], float(scores[i])) for i in best]

    def _nearest(self, query_embedding: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        got = self.collection.query(
            query_embeddings=[query_embedding.tolist()],
            n_results=k,
            include=["distances"],
            where=where,
        )
        return [(cid, 1.0 - float(d)) for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    @reaching_chroma
    def chunks(self, ids: list[str]) -> list[Chunk]:
        """The stored chunks for ``ids``, in the same order (unknown ids are left out)."""
        missing = [i for i in ids if i not in self._chunk_cache]
        if missing:
            for chunk in self._get_chunks(ids=missing):
                self._chunk_cache[chunk.chunk_id] = chunk
        return [self._chunk_cache[i] for i in ids if i in self._chunk_cache]

    @reaching_chroma
    def document_chunks(self, doc_ids: list[str], limit: int = 1000) -> list[Chunk]:
        """The stored chunks of the documents ``doc_ids`` (at most ``limit``), in document order.

        Chroma fails on a request for tens of thousands of chunks ("too many SQL variables"),
        which one huge file can hold; ``limit`` keeps every request within bounds.
        """
        if not doc_ids:
            return []
        found = self._get_chunks(where={"doc_id": {"$in": list(doc_ids)}}, limit=limit)
        return sorted(found, key=lambda c: (c.doc_id, c.start))

    @reaching_chroma
    def following_chunks(self, passages: list[Chunk], max_gap: int) -> list[Chunk]:
        """The chunks that start inside, or at most ``max_gap`` characters after, each passage."""
        if not passages:
            return []
        clauses: list[dict[str, Any]] = [
            {"$and": [{"doc_id": p.doc_id}, {"start": {"$gt": p.start}}, {"start": {"$lte": p.end + max_gap}}]}
            for p in passages
        ]
        where = clauses[0] if len(clauses) == 1 else {"$or": clauses}
        return self._get_chunks(where=where)

    def _get_chunks(self, **query: Any) -> list[Chunk]:
        """The chunks a Chroma ``get`` with ``query`` (ids, where, limit) returns."""
        got = self.collection.get(include=["documents", "metadatas"], **query)
        return [
            Chunk.from_metadata(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    @reaching_chroma
    def documents(self) -> list[dict[str, Any]]:
        """One row per known article, newest first.

        Indexed articles: doc_id, title, date, how the date was found, source, url, site,
        passages, and the places their wire copies appeared (``also_published``). Wire copies
        merged into another article have no passages and name it in ``copy_of``.
        """
        docs: dict[str, dict[str, Any]] = {}
        for record in self.all_records():
            meta = record["metadata"]
            row = docs.setdefault(
                meta["doc_id"],
                {k: meta.get(k, "") for k in DOCUMENT_FIELDS} | {"passages": 0, "copy_of": "", "also_published": []},
            )
            row["passages"] += 1
        self.wire_copies.refresh()
        for copy in self.wire_copies.copies.values():
            if copy.original in docs:
                docs[copy.original]["also_published"].append(copy.where())
            docs[copy.doc_id] = {k: getattr(copy, k, "") for k in DOCUMENT_FIELDS} | {
                "date_source": "",
                "passages": 0,
                "copy_of": copy.original,
                "also_published": [],
            }
        return sorted(docs.values(), key=lambda r: (r["date"], r["title"]), reverse=True)

    def also_published(self, doc_id: str) -> tuple[str, ...]:
        """Where the wire copies of ``doc_id`` appeared."""
        self.wire_copies.refresh()
        return tuple(copy.where() for copy in self.wire_copies.copies_of(doc_id))

    def resolve(self, target: str, ids_only: bool = False) -> list[dict[str, Any]]:
        """The documents ``target`` names: a doc_id, a URL, a file (every row of an export) or a folder."""
        wanted = target.strip()
        if not wanted:
            return []
        if ids_only:
            return [row for row in self.documents() if row["doc_id"] == wanted]
        path = Path(wanted)
        names = {wanted, wanted.rstrip("/")}
        if not is_url(wanted) and path.exists():
            names.add(source_name(path).rstrip("/"))

        def named(row: dict[str, Any]) -> bool:
            source = str(row["source"])
            return (
                row["doc_id"] == wanted
                or (row["url"] and row["url"] == wanted)
                or any(source == n or source.startswith((n + "#", n + "/")) for n in names)
            )

        return [row for row in self.documents() if named(row)]

    @reaching_chroma
    def remove(self, target: str, ids_only: bool = False) -> list[dict[str, Any]]:
        """Remove the documents ``target`` names (see :meth:`resolve`) from Chroma and BM25 together.

        Runs under the write lock. Returns the rows removed; none when nothing matches.
        """
        with self.writing():
            self.wire_copies.load()
            rows = self.resolve(target, ids_only)
            doc_ids = [row["doc_id"] for row in rows]
            indexed = [row["doc_id"] for row in rows if row["passages"]]
            for i in range(0, len(indexed), 100):
                self.collection.delete(where={"doc_id": {"$in": indexed[i : i + 100]}})
            self.wire_copies.forget(doc_ids)
            self.wire_copies.save()
            if indexed:
                self.rebuild_bm25()
            self._chunk_cache.clear()
        return rows

    # ---- writing -------------------------------------------------------------------------
    @contextmanager
    def writing(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold the index's write lock; another writer waits, then gets IndexBusyError."""
        lock = FileLock(str(self.folder / "ingest.lock"))
        try:
            lock.acquire(timeout=self.settings.ingest_wait_s if wait_s is None else wait_s)
        except Timeout as exc:
            raise IndexBusyError(self.folder) from exc
        try:
            yield
        finally:
            lock.release()

    @reaching_chroma
    def ingest(
        self,
        paths: Sequence[Path | str],
        prune: bool = False,
        progress: bool = False,
        *,
        fields: Mapping[str, str] | None = None,
        feeds: Sequence[str] = (),
    ) -> IngestSummary:
        """Bring the index in step with the files, web pages and feeds given.

        ``paths`` holds files, folders and URLs. Unchanged articles are skipped by content hash,
        changed ones have their chunks replaced, and with ``prune`` documents whose file (or
        export row) is gone are removed. A document counts as stored only when all its chunks
        are, so an interrupted run is finished by the next one.
        """
        for path in paths:
            if not is_url(path) and not Path(path).exists():
                raise UserError(f"No such file or folder: {path}")
        summary = IngestSummary()
        with self.writing():
            self.wire_copies.load()
            stored = self._stored_documents()
            seen: set[str] = set()
            pending: list[tuple[Chunk, int]] = []
            stale_ids: list[str] = []
            undated_ids: list[str] = []
            document: _DocumentInProgress | None = None

            def unchanged(doc_id: str, content_hash: str) -> bool:
                """Stored complete with this content, or recorded as a wire copy of it."""
                old = stored.get(doc_id)
                if old and old["hash"] == content_hash and old["complete"]:
                    return True
                return self.wire_copies.unchanged_copy(doc_id, content_hash)

            items = load(
                paths,
                max_bytes=int(self.settings.max_file_mb * 2**20),
                max_html_bytes=int(self.settings.max_html_mb * 2**20),
                section_bytes=int(self.settings.read_section_mb * 2**20),
                fields=fields,
                feeds=feeds,
                fetcher=fetcher_from(self.settings),
                is_unchanged=unchanged,
            )
            bar = _progress_bar(progress)
            for item in items:
                if isinstance(item, Skipped):
                    if document and document.source == item.source:
                        pending = [(c, n) for c, n in pending if c.doc_id != document.doc_id]
                        self._delete(sorted(document.new_ids - document.old_ids))
                        document = None
                    self._skip(summary, item, bar)
                    continue
                if item.part == 0:
                    if item.doc_id in seen:
                        self._skip(
                            summary, Skipped(item.source, "the same id as an earlier article; kept the first"), bar
                        )
                        document = None
                        continue
                    seen.add(item.doc_id)
                    old = stored.get(item.doc_id)
                    if unchanged(item.doc_id, item.content_hash):
                        if old and not old["dated"]:
                            undated_ids.extend(old["ids"])
                        summary.unchanged += 1
                        document = None
                        bar.update()
                        continue
                    document = _DocumentInProgress(item.doc_id, item.source, old)
                elif document is None or document.doc_id != item.doc_id:
                    continue
                pending.extend(document.take(self._prepare(item, document)))
                if len(pending) >= FLUSH_CHUNKS:
                    summary.chunks_written += self._write(pending)
                    pending = []
                if not item.last_part:
                    continue
                if document.copy_of:
                    summary.merged += 1
                    stale_ids.extend(sorted(document.old_ids))
                    document = None
                    bar.update()
                    continue
                if document.n_chunks == 0:
                    self._skip(summary, Skipped(item.source, "no article text after cleaning"), bar)
                    document = None
                    continue
                pending.extend(document.finish())
                if document.old:
                    summary.updated += 1
                    stale_ids.extend(sorted(document.old_ids - document.new_ids))
                else:
                    summary.added += 1
                document = None
                bar.update()
            summary.chunks_written += self._write(pending)
            bar.close()
            if prune:
                under = [_source_prefix(Path(p)) for p in paths if not is_url(p)]
                sources = {d: info["source"] for d, info in stored.items()}
                sources |= {c.doc_id: c.source for c in self.wire_copies.copies.values()}
                gone = [d for d, src in sources.items() if d not in seen and any(src.startswith(u) for u in under)]
                stale_ids.extend(i for doc_id in gone if doc_id in stored for i in stored[doc_id]["ids"])
                self.wire_copies.forget(gone)
                summary.removed += len(gone)
            self.wire_copies.save()
            self._delete(stale_ids)
            self._add_days(undated_ids)
            self.bm25.loaded = False
            if summary.chunks_written or stale_ids or undated_ids:
                self.rebuild_bm25()
            else:
                self.ensure_bm25()
        self._chunk_cache.clear()
        return summary

    @staticmethod
    def _skip(summary: IngestSummary, skipped: Skipped, bar: Any) -> None:
        summary.failed += 1
        summary.skipped_files.append(skipped)
        log.warning("Skipped %s: %s", skipped.source, skipped.reason)
        bar.update()

    def _prepare(self, article: Article, document: _DocumentInProgress) -> list[Chunk]:
        """Clean and chunk one part of a document; later parts keep the title and date of the first.

        A one-part article that repeats an indexed one (a wire copy) is recorded beside it
        and gives no chunks.
        """
        cleaned = clean(article)
        if article.part == 0 and article.last_part and self.settings.merge_wire_copies and cleaned.text:
            copy = self.wire_copies.original_of(cleaned)
            if copy is not None:
                document.copy_of = copy.original
                return []
        if article.part == 0:
            document.title, document.date, document.date_source = cleaned.title, cleaned.date, cleaned.date_source
        else:
            cleaned = replace(cleaned, title=document.title, date=document.date, date_source=document.date_source)
        chunks = chunk(cleaned, self.settings.chunk_size, self.settings.chunk_overlap, document.offset)
        document.offset += len(cleaned.text) + len(PART_SEPARATOR)
        return chunks

    def _write(self, pending: list[tuple[Chunk, int]]) -> int:
        if not pending:
            return 0
        batch = self.client.get_max_batch_size()
        for i in range(0, len(pending), batch):
            part = pending[i : i + batch]
            texts = [c.text for c, _ in part]
            self.collection.upsert(
                ids=[c.chunk_id for c, _ in part],
                documents=texts,
                embeddings=self.embedder.encode_cached(texts),
                metadatas=[c.metadata() | {"n_chunks": n} for c, n in part],
            )
        return len(pending)

    def _add_days(self, ids: list[str]) -> None:
        """Give chunks stored before days were recorded their ``day``, without embedding them again."""
        batch = self.client.get_max_batch_size()
        for i in range(0, len(ids), batch):
            got = self.collection.get(ids=ids[i : i + batch], include=["metadatas"])
            metadatas = [meta | {"day": day_number(str(meta.get("date", "")))} for meta in got["metadatas"]]
            self.collection.update(ids=got["ids"], metadatas=metadatas)

    def _delete(self, ids: list[str]) -> None:
        batch = self.client.get_max_batch_size()
        for i in range(0, len(ids), batch):
            self.collection.delete(ids=ids[i : i + batch])

    def _all_ids(self) -> list[str]:
        return [r["id"] for r in self.all_records(include=())]

    def _stored_documents(self) -> dict[str, dict[str, Any]]:
        """Per stored doc_id: its content hash, chunk ids, source and whether it is complete."""
        docs: dict[str, dict[str, Any]] = {}
        for record in self.all_records():
            meta = record["metadata"]
            info = docs.setdefault(
                meta["doc_id"],
                {
                    "hash": meta["content_hash"],
                    "ids": [],
                    "source": meta["source"],
                    "expected": 0,
                    "hashes": set(),
                },
            )
            info["ids"].append(record["id"])
            info["dated"] = info.get("dated", True) and "day" in meta
            info["hashes"].add(meta["content_hash"])
            info["expected"] = max(info["expected"], int(meta.get("n_chunks", 0)))
        for info in docs.values():
            info["complete"] = len(info["hashes"]) == 1 and len(info["ids"]) == info["expected"]
        return docs


@dataclass
class _DocumentInProgress:
    """One document while its parts are chunked and written.

    Its last chunk is held back and written last, carrying the document's chunk count: an
    ingest killed before that write leaves the document incomplete, to be redone next run.
    """

    doc_id: str
    source: str
    old: dict[str, Any] | None
    title: str = ""
    date: str = ""
    date_source: str = ""
    offset: int = 0
    n_chunks: int = 0
    new_ids: set[str] = field(default_factory=set)
    held: Chunk | None = None
    copy_of: str = ""

    @property
    def old_ids(self) -> set[str]:
        return set(self.old["ids"]) if self.old else set()

    def take(self, chunks: list[Chunk]) -> list[tuple[Chunk, int]]:
        """Chunks ready to write now (count 0, "not the last"), holding back the newest."""
        if not chunks:
            return []
        self.n_chunks += len(chunks)
        self.new_ids.update(c.chunk_id for c in chunks)
        ready = [self.held, *chunks[:-1]] if self.held else chunks[:-1]
        self.held = chunks[-1]
        return [(c, 0) for c in ready]

    def finish(self) -> list[tuple[Chunk, int]]:
        """The held-back last chunk, with the document's chunk count."""
        return [(self.held, self.n_chunks)] if self.held else []


def _progress_bar(show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(desc="Ingesting", unit="file", disable=not show)


def _source_prefix(path: Path) -> str:
    """The prefix shared by the sources of every file under ``path``."""
    name = source_name(path)
    if path.is_file():
        return name
    return "" if name == "." else name.rstrip("/") + "/"


def fetcher_from(settings: Settings) -> Fetcher:
    """The downloader for web pages and feeds, within the settings' limits."""
    return Fetcher(
        timeout_s=int(settings.fetch_timeout_s),
        max_bytes=int(settings.max_html_mb * 2**20),
        user_agent=settings.user_agent,
        allow_private=settings.fetch_private_addresses,
    )


def open_client(settings: Settings) -> Any:
    """An embedded persistent Chroma client, or an HTTP client when a server host is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:
            raise UserError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({exc}). Start it with `chroma run` or drop --chroma-host."
            ) from exc
    return chromadb.PersistentClient(path=str(Path(settings.index_dir) / "chroma"), settings=chroma_settings)
