"""Turn replies into chat messages. Pure functions: article and user text is always escaped."""

from __future__ import annotations

import html
import re
from typing import Any

from rag.cite import content_terms, stem, words
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


def citation_title(n: int | str, title: str, date: str, source: str) -> str:
    """The one-line header of a collapsible passage."""
    label = f"[{n}]" if isinstance(n, int) else n
    parts = [f"{label} {title or 'Untitled'}"]
    if date:
        parts.append(date)
    if source:
        parts.append(source)
    return " · ".join(parts)


def answer_text(answer: str) -> str:
    """The answer as escaped Markdown, its ``[n]`` markers kept readable."""
    return escape(answer).replace("\\[", "[").replace("\\]", "]")


def reply_messages(reply: Reply) -> list[dict[str, Any]]:
    """Chat messages for a finished reply: the answer, then one collapsible message per passage.

    A refusal is a quoted warning followed by the closest passages, so it never looks like an
    answer.
    """
    if reply.abstained:
        note = f"> {REFUSAL_PREFIX}**Not in the articles.** {escape(reply.answer)}"
        messages = [{"role": "assistant", "content": note}]
        messages += [
            _passage_message(
                f"Closest passage {i}:",
                chunk.title,
                chunk.date,
                chunk.source,
                escape(chunk.text),
                True,
            )
            for i, chunk in enumerate(reply.closest, start=1)
        ]
        return messages
    text = answer_text(reply.answer)
    for note in reply.notes:
        text += f"\n\n_{escape(note)}_"
    messages = [{"role": "assistant", "content": text}]
    messages += [citation_message(c, reply) for c in reply.citations]
    return messages


def citation_message(citation: Citation, reply: Reply) -> dict[str, Any]:
    """A collapsible message quoting a cited passage, supporting words highlighted."""
    quoted = highlight(citation.text, reply.short_answer or reply.answer, reply.standalone_question)
    body = f"> {quoted}\n\n<small>characters {citation.start}–{citation.end}</small>"
    return _passage_message(citation.n, citation.title, citation.date, citation.source, body)


def _passage_message(
    n: int | str, title: str, date: str, source: str, body: str, collapsed: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"title": escape_title(citation_title(n, title, date, source))}
    if collapsed:
        metadata["status"] = "done"
    return {"role": "assistant", "content": body, "metadata": metadata}


def escape_title(text: str) -> str:
    """Accordion titles are plain text, but keep tags out all the same."""
    return html.escape(text, quote=False)


def articles_markdown(documents: list[dict[str, Any]]) -> str:
    """The indexed articles as an escaped Markdown list: title, date, passages, source."""
    if not documents:
        return "_No articles indexed yet._"
    lines = [f"**{len(documents)} article(s) indexed**", ""]
    for d in documents:
        facts = " · ".join(x for x in (d["date"], f"{d['passages']} passages", d["source"]) if x)
        lines.append(f"- **{escape(d['title'] or 'Untitled')}**  \n  <small>{escape(facts)}</small>")
    return "\n".join(lines)


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
            pairs.append((question, _plain(content)))
            question = None
    return pairs


def _plain(markdown: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown)).replace("**", "")
