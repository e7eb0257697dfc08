"""Load stage: find articles and read them, skipping bad files and rows with a reason.

Sources: text, Markdown and HTML files; PDFs, page by page; archive exports (CSV, JSON Lines,
JSON) with one article per row; web pages by URL; RSS and Atom feeds. The readers for the
last four live in :mod:`rag.sources`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from rag.errors import BadDocumentError
from rag.sources.exports import EXPORT_SUFFIXES, load_export
from rag.sources.pdf import load_pdf
from rag.sources.web import Fetcher, is_url, load_feed, load_url
from rag.types import Article, Skipped, document_id

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
FEED_SUFFIXES = frozenset({".rss", ".atom"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | EXPORT_SUFFIXES | FEED_SUFFIXES
BINARY_SIGNATURES = (b"\x89PNG", b"PK\x03\x04", b"%PDF", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b")


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
    """The path shown to users and hashed into the document id: relative to the working folder.

    The path is normalised first, so every spelling of one file ("../data/a.txt",
    "/work/data/a.txt", "data/./a.txt") names one document and a re-ingest never duplicates it.
    """
    absolute = Path(os.path.normpath(path.absolute()))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def refuse_binary(data: bytes) -> None:
    """Raise BadDocumentError if ``data`` starts like an image, archive or other binary file."""
    if data.startswith(BINARY_SIGNATURES) or b"\x00" in data[:8192]:
        raise BadDocumentError("binary content, not text")


def utf8_or_latin1(data: bytes) -> tuple[str, bool]:
    """The text of ``data`` as UTF-8 (a BOM dropped), else as Latin-1; and whether it was UTF-8."""
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("latin-1"), False


def decode(data: bytes) -> str:
    """Decode article bytes: UTF-8 (with or without BOM), else Latin-1 (never fails on text)."""
    if not data.strip():
        raise BadDocumentError("empty file")
    refuse_binary(data)
    text, is_utf8 = utf8_or_latin1(data)
    if is_utf8:
        return text
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > len(text[:8192]) * 0.05:
        raise BadDocumentError("undecodable: neither UTF-8 nor Latin-1 text")
    return text


def file_size(path: Path, max_bytes: int | None) -> int:
    """The size of a regular file; a pipe, socket or device, or a file over ``max_bytes``, is refused."""
    try:
        info = path.stat()
    except OSError as exc:
        raise BadDocumentError(f"unreadable: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise BadDocumentError("not a regular file (a pipe, socket or device)")
    if max_bytes is not None and info.st_size > max_bytes:
        raise BadDocumentError(
            f"{info.st_size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit for one file "
            "(split it, or raise the limit)"
        )
    return info.st_size


def load_file(path: Path, max_bytes: int | None = None) -> Article:
    """Read one whole file into an :class:`Article` with raw text; raise BadDocumentError if unusable.

    A file over ``max_bytes`` is refused before it is read.
    """
    file_size(path, max_bytes)
    return _read_whole(path)


def _read_whole(path: Path) -> Article:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocumentError(f"unreadable: {exc.strerror or exc}") from exc
    source = source_name(path)
    return Article(
        doc_id=document_id(source),
        source=source,
        text=decode(data),
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def read_sections(path: Path, section_bytes: int) -> Iterator[bytes]:
    """The bytes of a file in pieces of about ``section_bytes``.

    Each piece ends at a paragraph break where there is one in its second half, else at a line
    break, else at a space, and never inside a UTF-8 character.
    """
    carry = b""
    with path.open("rb") as handle:
        while block := handle.read(section_bytes):
            data = carry + block
            cut = _break_point(data)
            yield data[:cut]
            carry = data[cut:]
    if carry:
        yield carry


def _break_point(data: bytes) -> int:
    half = len(data) // 2
    for separator in (b"\n\n", b"\n", b" "):
        found = data.rfind(separator, half)
        if found >= 0:
            return found + len(separator)
    cut = len(data)
    while cut > half and data[cut - 1] & 0xC0 == 0x80:
        cut -= 1
    if cut > half and data[cut - 1] >= 0xC0:
        cut -= 1
    return cut


def hash_file(path: Path, block_bytes: int = 2**20) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()


def load_sections(path: Path, section_bytes: int) -> Iterator[Article]:
    """A large text file as consecutive :class:`Article` parts of about ``section_bytes`` each.

    Memory stays bounded by the section size, whatever the size of the file. Each part is decoded
    on its own (UTF-8, else Latin-1); the first is checked for binary content.
    """
    source = source_name(path)
    try:
        content_hash = hash_file(path)
        pieces = read_sections(path, section_bytes)
        current = next(pieces, b"")
        refuse_binary(current)
        part = 0
        for following in pieces:
            yield _part(source, content_hash, current, part, last=False)
            current, part = following, part + 1
        yield _part(source, content_hash, current, part, last=True)
    except OSError as exc:
        raise BadDocumentError(f"unreadable: {exc.strerror or exc}") from exc


def _part(source: str, content_hash: str, data: bytes, part: int, last: bool) -> Article:
    return Article(
        doc_id=document_id(source),
        source=source,
        text=utf8_or_latin1(data)[0],
        content_hash=content_hash,
        part=part,
        last_part=last,
    )


def load(
    paths: Iterable[Path | str],
    max_bytes: int | None = None,
    max_html_bytes: int | None = None,
    section_bytes: int | None = None,
    *,
    fields: Mapping[str, str] | None = None,
    feeds: Iterable[str] = (),
    fetcher: Fetcher | None = None,
    is_unchanged: Callable[[str, str], bool] | None = None,
) -> Iterator[Article | Skipped]:
    """Load every article under ``paths`` (files, folders and URLs) and in ``feeds``.

    A bad or oversized file, row, page or feed entry becomes :class:`Skipped` and the rest go on.
    A text file larger than ``section_bytes`` comes as several parts (see :func:`load_sections`);
    HTML has to be parsed whole, so it has its own, lower size limit ``max_html_bytes``.
    ``fields`` maps article fields to an export's columns where the common names do not fit.
    ``is_unchanged(doc_id, content_hash)`` lets a feed skip downloading pages it already has.
    """
    fetcher = fetcher or Fetcher()
    unchanged = is_unchanged or (lambda doc_id, content_hash: False)
    for target in paths:
        if is_url(target):
            yield from _guarded(str(target), lambda url=str(target): iter([load_url(url, fetcher)]))
            continue
        for path in find_files([Path(target)]):
            yield from _load_path(path, max_bytes, max_html_bytes, section_bytes, fields or {}, fetcher, unchanged)
    for feed in feeds:
        yield from _guarded(feed, lambda feed=feed: load_feed(feed, fetcher, unchanged))


def _load_path(
    path: Path,
    max_bytes: int | None,
    max_html_bytes: int | None,
    section_bytes: int | None,
    fields: Mapping[str, str],
    fetcher: Fetcher,
    unchanged: Callable[[str, str], bool],
) -> Iterator[Article | Skipped]:
    suffix = path.suffix.lower()
    source = source_name(path)
    if suffix in FEED_SUFFIXES:
        yield from _guarded(source, lambda: load_feed(str(path), fetcher, unchanged))
        return
    if suffix in EXPORT_SUFFIXES:
        yield from _guarded(source, lambda: load_export(path, source, fields))
        return
    is_html = suffix in HTML_SUFFIXES
    try:
        size = file_size(path, max_html_bytes if is_html and max_html_bytes else max_bytes)
        if suffix in PDF_SUFFIXES:
            yield from load_pdf(path, source, document_id(source), hash_file(path))
        elif section_bytes and size > section_bytes and not is_html:
            yield from load_sections(path, section_bytes)
        else:
            yield _read_whole(path)
    except BadDocumentError as exc:
        yield Skipped(source, str(exc))


def _guarded(source: str, items: Callable[[], Iterator[Article | Skipped]]) -> Iterator[Article | Skipped]:
    """The items, or :class:`Skipped` for ``source`` when reading it fails part way."""
    try:
        yield from items()
    except (BadDocumentError, OSError, UnicodeError) as exc:
        yield Skipped(source, str(exc))
