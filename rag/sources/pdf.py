"""PDF files: the text layer, page by page, through PDFium (pypdfium2).

PDFium was chosen over pypdf by measurement on two real manuals (36 and 17 pages): it read them
12 times faster (0.06 s against 0.78 s) with the same text, and it marks words hyphenated across
lines, so they can be joined again.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from pathlib import Path

from rag.errors import BadDocumentError
from rag.timeframe import metadata_date
from rag.types import Article

SOFT_HYPHEN_BREAK = re.compile(r"[\x02\u00ad-]\n(?=[a-z])")
SENTENCE_CLOSE = tuple('.!?:;"”’)')
SHORT_LINE_SHARE = 0.7
"""A line shorter than this share of the page's typical line ends its paragraph (a heading, a last line)."""


def read_pages(path: Path) -> tuple[list[str], dict[str, str]]:
    """The text of each page, reflowed into paragraphs, and the document's metadata.

    Raises BadDocumentError for an encrypted, damaged or scanned (text-less) PDF.
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        reason = str(exc).lower()
        if "password" in reason:
            raise BadDocumentError("encrypted PDF: it needs a password to open") from exc
        raise BadDocumentError(f"damaged or unreadable PDF ({exc})") from exc
    try:
        pages = []
        for number in range(len(document)):
            text_page = document[number].get_textpage()
            pages.append(reflow(text_page.get_text_bounded()))
        metadata = document.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError as exc:
        raise BadDocumentError(f"damaged PDF ({exc})") from exc
    finally:
        document.close()
    if not any(page.strip() for page in pages):
        raise BadDocumentError(
            f"no text layer in {len(pages)} page(s): a scanned PDF? Text recognition (OCR) is not supported"
        )
    return pages, metadata


def reflow(text: str) -> str:
    """Join the lines of a PDF page into paragraphs; words broken by a hyphen are made whole.

    PDFs break lines where the print layout did. A line break is kept where a line ends a
    sentence or is clearly shorter than the page's typical line.
    """
    text = SOFT_HYPHEN_BREAK.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    lengths = [len(line) for line in lines if line]
    if not lengths:
        return ""
    typical = statistics.median_high(lengths)
    out: list[str] = []
    last_line = ""
    for line in lines:
        if not line:
            if out and out[-1] != "":
                out.append("")
            last_line = ""
            continue
        if (
            out
            and last_line
            and not last_line.endswith(SENTENCE_CLOSE)
            and len(last_line) >= SHORT_LINE_SHARE * typical
        ):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        last_line = line
    return "\n".join(out).strip()


def load_pdf(path: Path, source: str, doc_id: str, content_hash: str) -> Iterator[Article]:
    """One :class:`Article` part per page, each carrying its page number (from 1)."""
    pages, metadata = read_pages(path)
    title = metadata.get("Title", "").strip()
    when = metadata_date(metadata.get("CreationDate", ""))
    for number, text in enumerate(pages, start=1):
        yield Article(
            doc_id=doc_id,
            source=source,
            text=text,
            title=title,
            date=when,
            date_source="metadata" if when else "",
            author=metadata.get("Author", "").strip(),
            content_hash=content_hash,
            page=number,
            kind="text",
            part=number - 1,
            last_part=number == len(pages),
        )
