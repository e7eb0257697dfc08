"""Turn replies into chat messages. Pure functions: article and user text is always escaped."""

from __future__ import annotations

import html
import re
from typing import Any

from rag.cite import content_terms, stem, words
from rag.display import also_published, origin, plural
from rag.sources.web import is_url
from rag.types import Citation, Reply

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")
REFUSAL_PREFIX = "⚠️ "


def escape(text: str) -> str:
    """Text shown literally: HTML entities for tags, backslashes for Markdown syntax."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def highlight(passage: str, answer: str, question: str = "") -> str:
    """The escaped passage with the words that support the answer in bold."""
    wanted = set(content_terms(answer, exclude=question)) or set(content_terms(answer))
    pieces = []
    for token in re.split(r"(\s+)", passage):
        token_stems = {stem(w) for w in words(token)}
        text = escape(token)
        pieces.append(f"**{text}**" if token.strip() and token_stems & wanted else text)
    return "".join(pieces).replace("** **", " ")


def answer_text(answer: str) -> str:
    """The answer as escaped Markdown, its ``[n]`` markers kept readable."""
    return escape(answer).replace("\\[", "[").replace("\\]", "]")


def reply_messages(reply: Reply) -> list[dict[str, Any]]:
    """The chat message of a finished reply: the answer, then one collapsible block of its sources.

    One message per answer means one copy button and one like/dislike control per answer. A
    refusal is a quoted warning followed by the closest passages, so it never looks like an
    answer.
    """
    if reply.abstained:
        note = f"> {REFUSAL_PREFIX}**Not in the articles.** {escape(reply.answer)}"
        passages = [
            _passage(f"Closest passage {i}", chunk.title, chunk.date, chunk.url or chunk.source, escape(chunk.text))
            for i, chunk in enumerate(reply.closest, start=1)
        ]
        summary = f"Closest {plural(len(passages), 'passage')}"
        return [{"role": "assistant", "content": note + sources_block(summary, passages)}]
    text = answer_text(reply.answer)
    for note in reply.notes:
        text += f"\n\n_{escape(note)}_"
    summary = "Sources: " + " · ".join(
        f"[{c.n}] {c.title or 'Untitled'}" + (f" ({c.date})" if c.date else "") for c in reply.citations
    )
    passages = [citation_passage(c, reply) for c in reply.citations]
    return [{"role": "assistant", "content": text + sources_block(summary, passages)}]


def sources_block(summary: str, passages: list[str]) -> str:
    """A collapsed block under the answer: its summary line names the sources, opening it shows the passages."""
    if not passages:
        return ""
    body = "\n\n".join(passages)
    return (
        f'\n\n<details class="sources"><summary>{html.escape(summary, quote=False)}</summary>\n\n{body}\n\n</details>'
    )


def citation_passage(citation: Citation, reply: Reply) -> str:
    """A cited passage: its header, the quote with supporting words highlighted, where it sits."""
    quoted = highlight(citation.text, reply.short_answer or reply.answer, reply.standalone_question)
    facts = [f"characters {citation.start}–{citation.end}"]
    if citation.also_published:
        facts.append(escape(also_published(citation)))
    header = _header(f"[{citation.n}]", citation.title, citation.date, origin(citation), citation.url)
    return f"{header}\n\n> {quoted}\n\n<small>{' · '.join(facts)}</small>"


def _passage(label: str, title: str, date: str, place: str, body: str) -> str:
    return f"{_header(label, title, date, place)}\n\n> {body}"


def _header(label: str, title: str, date: str, place: str, url: str = "") -> str:
    """``[1] Title · date · place``, the title a link when the article has a web address."""
    shown = escape(title or "Untitled")
    if is_url(url):
        shown = f"[{shown}]({_link(url)})"
    return " · ".join(x for x in (f"{escape(label)} {shown}", escape(date), escape(place)) if x)


def _link(url: str) -> str:
    return url.replace(")", "%29").replace(" ", "%20")


def answer_only(content: str) -> str:
    """A reply message without its sources block: what the answer said."""
    return content.split('\n\n<details class="sources">', 1)[0]


ARTICLE_COLUMNS = ["Article", ""]
REMOVE_LABEL = "Remove"


def articles_summary(documents: list[dict[str, Any]]) -> str:
    """The count line ("1,249 articles indexed", with any wire copies merged into them), or how to add some."""
    if not documents:
        return "_No articles indexed yet. Add some under “Add articles”._"
    copies = sum(1 for d in documents if d.get("copy_of"))
    line = f"**{plural(len(documents) - copies, 'article')} indexed**"
    if copies:
        line += f", and {plural(copies, 'wire copy', 'wire copies')} merged into them"
    return line


def article_rows(documents: list[dict[str, Any]]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The side panel's table, one row per indexed article, and the articles in the same order.

    A row shows the title (a link when the article has a web address), its date, passages and
    source, and a remove button.
    """
    shown = [d for d in documents if not d.get("copy_of")]
    rows = []
    for d in shown:
        title = escape(d["title"] or "Untitled")
        if is_url(d.get("url", "")):
            title = f"[{title}]({_link(d['url'])})"
        facts = " · ".join((d["date"] or "undated", plural(d["passages"], "passage"), d["source"]))
        rows.append([f"**{title}**<br><small>{escape(facts)}</small>", REMOVE_LABEL])
    return rows, shown


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message, whose content may be a string or a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def history_pairs(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(user, assistant answer) pairs from chat messages, skipping the passage messages."""
    pairs: list[tuple[str, str]] = []
    question = None
    for message in messages:
        content = message_text(message)
        if not content:
            continue
        if message.get("role") == "user":
            question = _plain(content)
        elif question is not None and not (message.get("metadata") or {}).get("title"):
            pairs.append((question, _plain(answer_only(content))))
            question = None
    return pairs


def _plain(markdown: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown)).replace("**", "")
