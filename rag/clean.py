"""Clean stage: strip web-page boilerplate, keep the headline as title, find the date."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from rag.sources.web import is_url
from rag.types import Article

HTML_SUFFIXES = (".html", ".htm")

BOILERPLATE_LINES = re.compile(
    r"^(top of page|bottom of page|featured review|tag cloud|skip to (main )?content|"
    r"advertisement|supported by|share this article|share|tweet|email|print|"
    r"related articles?|read more|continue reading.*|sign up.*newsletter.*|"
    r"subscribe( now)?|log ?in|menu|search|back to top|comments?)$",
    re.IGNORECASE,
)
PHOTO_CREDIT = re.compile(
    r"(Credit\.\.\.|^\s*(photo|image|picture|credit)s?\s*(:|by\b)|"
    r"\b(Getty Images|Associated Press|Reuters|AFP)\s*$)",
    re.IGNORECASE,
)
COPYRIGHT = re.compile(r"^\s*(\(c\)|©|copyright\b)", re.IGNORECASE)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
DATE_PATTERNS = (
    (re.compile(rf"\b(?:{MONTHS})\.? \d{{1,2}}, \d{{4}}\b"), ("%B %d, %Y", "%b %d, %Y")),
    (re.compile(rf"\b\d{{1,2}} (?:{MONTHS})\.? \d{{4}}\b"), ("%d %B %Y", "%d %b %Y")),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), ("%Y-%m-%d",)),
)
DATE_SEARCH_LINES = 8
DATELINE_CHARS = 120
"""A dateline opens its line: a date further into a paragraph is a date in the story, not the article's."""
MAX_TITLE_CHARS = 200


def parse_date(text: str) -> str:
    """Return the first date in ``text`` as ISO ``YYYY-MM-DD``, or "" if none is found."""
    found: list[tuple[int, date]] = []
    for pattern, formats in DATE_PATTERNS:
        for match in pattern.finditer(text):
            raw = match.group(0).replace(".", "").replace("Sept ", "Sep ")
            for fmt in formats:
                try:
                    found.append((match.start(), datetime.strptime(raw, fmt).date()))
                    break
                except ValueError:
                    continue
    return min(found)[1].isoformat() if found else ""


def is_boilerplate(line: str) -> bool:
    """True for a line of page furniture rather than article text."""
    stripped = line.strip()
    return bool(BOILERPLATE_LINES.match(stripped) or PHOTO_CREDIT.search(stripped) or COPYRIGHT.match(stripped))


def normalise(text: str) -> str:
    """NFC, no control characters, unix newlines, trimmed lines, at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = CONTROL_CHARS.sub("", text).replace("\u00a0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass(frozen=True)
class Page:
    """What trafilatura finds in a web page."""

    text: str
    title: str = ""
    date: str = ""
    author: str = ""
    site: str = ""
    url: str = ""


def extract_html(html: str, url: str = "") -> Page:
    """Main text and metadata of an HTML page, through trafilatura.

    When its extractor finds no main text (odd or broken markup), all visible text is kept.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=False, as_dict=False
    )
    if doc is None or not (doc.text or "").strip():
        return Page(trafilatura.html2txt(html) or "")
    return Page(
        doc.text or "",
        doc.title or "",
        doc.date or "",
        doc.author or "",
        doc.sitename or doc.hostname or "",
        doc.url or "",
    )


def url_date(url: str) -> str:
    """The date a link's path carries (``/2021/06/28/``, ``2024-03-05-story``) as ISO, or ""."""
    if not is_url(url):
        return ""
    from htmldate.extractors import extract_url_date
    from htmldate.utils import Extractor

    options = Extractor(False, datetime(2100, 1, 1), datetime(1900, 1, 1), False, "%Y-%m-%d")
    return extract_url_date(url, options) or ""


def find_title(lines: list[str]) -> str:
    """The headline: a leading Markdown heading, else the first short line without a full stop."""
    for line in lines[:5]:
        heading = re.match(r"^#{1,2}\s+(.+)$", line)
        if heading:
            return heading.group(1).strip()
    first = lines[0] if lines else ""
    if first and len(first) <= MAX_TITLE_CHARS and not first.endswith((".", "?", "!", "”", '"')):
        return first
    return ""


def clean(article: Article) -> Article:
    """Return the article with clean text, title, date and source metadata.

    The offsets of chunks refer to this text. A date comes from, in turn, what the loader found
    (an export's column, a PDF's or a feed's metadata), the page's metadata, the link's path,
    and a dateline at the top of the text.
    """
    text, title, when, found_by = article.text, article.title, article.date, article.date_source
    url, author, site = article.url, article.author, article.site
    is_html = article.kind == "html" or (not article.kind and article.source.lower().endswith(HTML_SUFFIXES))
    if is_html:
        page = extract_html(text, url)
        text, title = page.text, title or page.title
        url, author, site = url or page.url, author or page.author, site or page.site
        if not when and page.date:
            when, found_by = page.date, "html"
    if not when and (linked := url_date(url)):
        when, found_by = linked, "url"
    lines = [line for line in normalise(text).split("\n") if not is_boilerplate(line)]
    text = normalise("\n".join(lines))
    paragraphs = [line for line in text.split("\n") if line]
    title = title or find_title(paragraphs)
    if title.startswith("#"):
        title = title.lstrip("# ").strip()
    given = parse_date(when)
    if given:
        when = given
    else:
        when = parse_date("\n".join(line[:DATELINE_CHARS] for line in paragraphs[:DATE_SEARCH_LINES]))
        found_by = "text" if when else ""
    if not title:
        title = paragraphs[0][:80].rsplit(" ", 1)[0] + "…" if paragraphs else ""
    return dataclasses.replace(
        article,
        text=text,
        title=title,
        date=when,
        date_source=found_by,
        url=url,
        author=author,
        site=site or site_of(url),
        kind="",
    )


def site_of(url: str) -> str:
    """The host of a link, without ``www.`` ("" for a path)."""
    return (urlsplit(url).hostname or "").removeprefix("www.") if is_url(url) else ""
