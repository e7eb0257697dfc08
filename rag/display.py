"""Words shared by the command line and the web chat: counts with plurals, and where a passage is from."""

from __future__ import annotations

from rag.types import Citation


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``1 article``, ``2 articles``, ``1,249 passages``."""
    word = noun if count == 1 else plural_noun or noun + "s"
    return f"{count:,} {word}"


def origin(citation: Citation) -> str:
    """Where a cited passage is from: its link or file, its page, its author and site when known."""
    parts = [citation.url or citation.source]
    if citation.page:
        parts.append(f"p. {citation.page}")
    if citation.author:
        parts.append(f"by {citation.author}")
    if citation.site and citation.site not in parts[0]:
        parts.append(citation.site)
    return ", ".join(parts)


def also_published(citation: Citation) -> str:
    """The "Also published at …" line of a story merged with its wire copies; "" when it has none."""
    if not citation.also_published:
        return ""
    return "Also published at " + "; ".join(citation.also_published)
