"""Web pages and RSS/Atom feeds, fetched with trafilatura and read with feedparser.

Downloads have a timeout, a size limit and a user agent. Addresses on the local network are
refused unless ``allow_private`` is set: a shared server must not be turned into a probe of
the machines behind it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rag.errors import BadDocumentError
from rag.timeframe import metadata_date
from rag.types import Article, Skipped, document_id

log = logging.getLogger(__name__)

SUMMARY_ONLY_CHARS = 600
"""A feed entry with no full content and a summary shorter than this gets its linked page fetched.
Some feeds put the whole story in the summary; those are used as they are."""


def is_url(target: object) -> bool:
    """True for an ``http://`` or ``https://`` address."""
    return isinstance(target, str) and target.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class Fetcher:
    """Downloads pages and feeds with trafilatura, within limits."""

    timeout_s: int = 20
    max_bytes: int = 10 * 2**20
    user_agent: str = "newsrag/0.1 (article indexer)"
    allow_private: bool = False

    def config(self) -> ConfigParser:
        """Trafilatura's settings for these limits."""
        from trafilatura.settings import DEFAULT_CONFIG

        config = ConfigParser()
        config.read_dict({"DEFAULT": dict(DEFAULT_CONFIG["DEFAULT"])})
        config["DEFAULT"].update(
            {
                "DOWNLOAD_TIMEOUT": str(self.timeout_s),
                "MAX_FILE_SIZE": str(self.max_bytes),
                "MIN_FILE_SIZE": "1",
                "USER_AGENTS": self.user_agent,
                "SSRF_PROTECTION": "off" if self.allow_private else "on",
                "INSECURE_SSL_FALLBACK": "off",
                "MAX_REDIRECTS": "3",
            }
        )
        return config

    def get(self, url: str) -> tuple[bytes, str]:
        """The body of ``url`` and the address it was finally served from.

        Raises BadDocumentError when the download fails, is refused, times out or is too large.
        """
        from trafilatura.downloads import fetch_response

        response = fetch_response(url, decode=False, config=self.config())
        if response is None:
            raise BadDocumentError(
                f"could not download it (unreachable, timed out after {self.timeout_s} s, larger than "
                f"{self.max_bytes / 2**20:g} MB, or a local address{'' if self.allow_private else ' (refused)'})"
            )
        if response.status != 200:
            raise BadDocumentError(f"the server answered HTTP {response.status}")
        if not response.data:
            raise BadDocumentError("the page is empty")
        return bytes(response.data), str(response.url or url)


def load_url(url: str, fetcher: Fetcher) -> Article:
    """A web page as an :class:`Article` of raw HTML (``kind="html"``); the URL is its source and link."""
    data, final_url = fetcher.get(url)
    return Article(
        doc_id=document_id(url),
        source=url,
        text=data.decode("utf-8", errors="replace"),
        content_hash=hashlib.sha256(data).hexdigest(),
        url=final_url,
        kind="html",
    )


def load_feed(
    feed: str,
    fetcher: Fetcher,
    is_unchanged: Callable[[str, str], bool] = lambda doc_id, content_hash: False,
) -> Iterator[Article | Skipped]:
    """Each entry of an RSS or Atom feed (a URL or a local file) as an :class:`Article`.

    An entry that carries only a short summary gets its linked page fetched, unless the entry
    is unchanged since the last ingest (``is_unchanged``), which is checked first so a re-run
    downloads only new or changed entries. An entry that cannot be read comes as
    :class:`Skipped`, named by its link.
    """
    import feedparser

    if is_url(feed):
        data, _ = fetcher.get(feed)
        parsed = feedparser.parse(data)
    else:
        try:
            parsed = feedparser.parse(Path(feed).read_bytes())
        except OSError as exc:
            raise BadDocumentError(f"unreadable: {exc.strerror or exc}") from exc
    if parsed.bozo and not parsed.entries:
        raise BadDocumentError(f"not an RSS or Atom feed ({parsed.get('bozo_exception', 'unreadable')})")
    site = parsed.feed.get("title", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        entries = [dict(entry) for entry in parsed.entries]
    for entry in entries:
        link = entry.get("link", "")
        source = link or f"{feed}#{entry.get('id') or entry.get('title', '')}"
        content = " ".join(part.get("value", "") for part in entry.get("content", []))
        summary = entry.get("summary", "")
        fingerprint = {k: entry.get(k, "") for k in ("id", "title", "updated", "published", "summary")}
        content_hash = hashlib.sha256(
            json.dumps(fingerprint | {"content": content}, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()
        doc_id = document_id(source)
        if is_unchanged(doc_id, content_hash):
            yield Article(doc_id=doc_id, source=source, text="", content_hash=content_hash)
            continue
        html = content or summary
        if link and is_url(link) and not content and len(summary) < SUMMARY_ONLY_CHARS:
            try:
                data, _ = fetcher.get(link)
                html = data.decode("utf-8", errors="replace")
            except BadDocumentError as exc:
                log.warning("Feed entry %s: using its summary, the page failed: %s", link, exc)
        if not html.strip():
            yield Skipped(source, "feed entry without text or a page to fetch")
            continue
        if not html.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            html = f"<html><body><article>{html}</article></body></html>"
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        when = date(*published[:3]).isoformat() if published else metadata_date(entry.get("published", ""))
        yield Article(
            doc_id=doc_id,
            source=source,
            text=html,
            title=entry.get("title", ""),
            date=when,
            date_source="metadata" if when else "",
            content_hash=content_hash,
            url=link,
            author=entry.get("author", ""),
            site=site,
            kind="html",
        )
