"""Archive exports: CSV, JSON Lines and JSON files holding one article per row.

Rows are read one at a time (a JSON array is read whole, within the size limit for one file), so
a large CSV or JSONL export runs in bounded memory. Column names are matched to article fields
case-insensitively; ``fields`` overrides the match (``{"text": "body", "date": "pubDate"}``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rag.errors import BadDocumentError
from rag.timeframe import metadata_date
from rag.types import Article, Skipped, document_id

EXPORT_SUFFIXES = frozenset({".csv", ".jsonl", ".ndjson", ".json"})
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "body", "content", "article", "article_text", "full_text", "story", "description"),
    "title": ("title", "headline", "heading", "name"),
    "date": ("date", "published", "published_at", "publishedat", "pubdate", "publish_date", "datetime", "time"),
    "url": ("url", "link", "permalink", "href"),
    "author": ("author", "authors", "byline", "creator"),
    "site": ("source", "site", "publisher", "outlet", "sitename", "source_name"),
    "id": ("id", "guid", "uuid", "article_id"),
}
"""The columns looked for, per article field, in order of preference."""
FIELD_NAMES = tuple(COLUMN_NAMES)


def parse_field_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["text=body", "date=pubDate"]`` as ``{"text": "body", "date": "pubDate"}``; a bad pair is an error."""
    overrides = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field = field.strip().lower()
        if not sep or not column.strip() or field not in COLUMN_NAMES:
            raise ValueError(f"--field {pair!r}: write FIELD=COLUMN, FIELD one of {', '.join(FIELD_NAMES)}")
        overrides[field] = column.strip()
    return overrides


def column_map(columns: list[str], overrides: Mapping[str, str]) -> dict[str, str]:
    """Which column holds each article field, from the overrides, else from the common names."""
    by_lower = {name.strip().lower(): name for name in columns if isinstance(name, str)}
    mapping: dict[str, str] = {}
    for field, candidates in COLUMN_NAMES.items():
        if field in overrides:
            mapping[field] = overrides[field]
            continue
        found = next((by_lower[c] for c in candidates if c in by_lower), None)
        if found is not None:
            mapping[field] = found
    return mapping


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(row number, row)`` for each row, counted from 1; an unreadable row comes as its error text."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _jsonl_rows(path)
    else:
        yield from _json_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BadDocumentError(f"unreadable CSV header ({exc})") from exc
        number = 0
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield number, f"malformed CSV ({exc})"
                continue
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                yield number, f"{len(values)} values for {len(header)} columns"
                continue
            yield number, dict(zip(header, values, strict=True))


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg})"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise BadDocumentError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise BadDocumentError("JSON export must be a list of articles, or an object holding one")
    for number, row in enumerate(data, start=1):
        yield number, row if isinstance(row, dict) else "not a JSON object"


def text_value(value: Any) -> str:
    """A cell as text: lists (of authors, say) joined, ``None`` as ""."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(text_value(v) for v in value)
    if isinstance(value, dict):
        return text_value(value.get("name") or value.get("title") or "")
    return str(value).strip()


def load_export(path: Path, source: str, overrides: Mapping[str, str]) -> Iterator[Article | Skipped]:
    """Each row as an :class:`Article`, or :class:`Skipped` (``file.csv row 7``) for a row that cannot be one.

    Columns are matched once for a CSV, and for each set of keys in a JSON export, whose rows
    need not share their keys.

    A row's document id comes from its id column, else its url, else its content (and, for a
    row repeating an earlier one, how many times it was seen), so an export read again keeps
    the ids of the rows it had.
    """
    mappings: dict[tuple[str, ...], dict[str, str]] = {}
    repeats: Counter[str] = Counter()
    for number, row in read_rows(path):
        if isinstance(row, str):
            yield Skipped(f"{source} row {number}", row)
            continue
        columns = tuple(map(str, row))
        mapping = mappings.get(columns) or mappings.setdefault(columns, column_map(list(columns), overrides))
        if "text" not in mapping:
            reason = f"no text column among {', '.join(columns) or 'none'} (name one with --field text=COLUMN)"
            if path.suffix.lower() == ".csv":
                raise BadDocumentError(reason)
            yield Skipped(f"{source} row {number}", reason)
            continue
        values = {field: text_value(row.get(column)) for field, column in mapping.items()}
        if not values.get("text"):
            yield Skipped(f"{source} row {number}", f"empty {mapping['text']!r}")
            continue
        content = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
        content_hash = hashlib.sha256(content).hexdigest()
        key = values.get("id") or values.get("url")
        if not key:
            repeats[content_hash] += 1
            key = content_hash[:16] + (f"~{repeats[content_hash]}" if repeats[content_hash] > 1 else "")
        row_source = f"{source}#{key}"
        when = metadata_date(values.get("date", ""))
        text = values["text"]
        title = values.get("title", "")
        if title and not text.startswith(title):
            text = f"{title}\n\n{text}"
        yield Article(
            doc_id=document_id(row_source),
            source=row_source,
            text=text,
            title=title,
            date=when,
            date_source="metadata" if when else "",
            content_hash=content_hash,
            url=values.get("url", ""),
            author=values.get("author", ""),
            site=values.get("site", ""),
            kind="text",
        )
