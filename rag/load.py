"""Load stage: find article files and read them as text, skipping bad files with a reason."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BadDocumentError
from rag.types import Article

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
BINARY_SIGNATURES = (b"\x89PNG", b"PK\x03\x04", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")


@dataclass(frozen=True)
class Skipped:
    """A file that was not loaded, and why."""

    source: str
    reason: str


def find_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield supported files under ``paths`` (walked recursively, sorted, each once).

    Symlinked folders are followed once: a link loop cannot make the walk run forever.
    """
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            candidates: Iterable[Path] = [path]
        elif path.is_dir():
            candidates = _walk(path)
        else:
            raise FileNotFoundError(f"No such file or folder: {path}")
        for candidate in candidates:
            real = candidate.resolve()
            if real not in seen and candidate.suffix.lower() in SUPPORTED_SUFFIXES:
                seen.add(real)
                yield candidate


def _walk(root: Path) -> Iterator[Path]:
    visited: set[Path] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        real = Path(folder).resolve()
        if real in visited:
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(folder) / name


def source_name(path: Path) -> str:
    """The path shown to users and hashed into the document id: relative to the working folder."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def document_id(source: str) -> str:
    """A stable id per source file: the same file keeps its id when its content changes."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def decode(data: bytes) -> str:
    """Decode article bytes: UTF-8 (with or without BOM), else Latin-1 (never fails on text)."""
    if not data.strip():
        raise BadDocumentError("empty file")
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data[:8192]:
        raise BadDocumentError("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > len(text[:8192]) * 0.05:
        raise BadDocumentError("undecodable: neither UTF-8 nor Latin-1 text")
    return text


def load_file(path: Path, max_bytes: int | None = None) -> Article:
    """Read one file into an :class:`Article` with raw text; raise BadDocumentError if unusable.

    A file over ``max_bytes`` is refused before it is read, so memory stays bounded.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise BadDocumentError("not a regular file (a pipe, socket or device)")
        size = info.st_size
        if max_bytes is not None and size > max_bytes:
            raise BadDocumentError(
                f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit for one article "
                "(split it into articles, or raise RAG_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocumentError(f"unreadable: {exc.strerror or exc}") from exc
    text = decode(data)
    source = source_name(path)
    return Article(
        doc_id=document_id(source),
        source=source,
        text=text,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def load(paths: Iterable[Path], max_bytes: int | None = None) -> Iterator[Article | Skipped]:
    """Load every supported file under ``paths``; a bad or oversized file becomes :class:`Skipped`."""
    for path in find_files(paths):
        try:
            yield load_file(path, max_bytes)
        except BadDocumentError as exc:
            yield Skipped(source_name(path), str(exc))
