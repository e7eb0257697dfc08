"""Condense stage: turn a follow-up ("What did he say?") into a question that stands alone.

The chat model names what "he" or "that group" refers to; the name replaces the word, so
retrieval and the answer see a complete question. Without a model, or when its reply is
unusable, the previous question's words are carried along for retrieval instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from rag.answer import answer_prefix, to_text
from rag.cite import fold, stem, stems, strip_markers, support, words
from rag.errors import UserError
from rag.timeframe import TIME_WORDS, without_date_notes

History = Sequence[tuple[str, str]]


def read_history(value: Any) -> list[tuple[str, str]]:
    """(question, answer) pairs from a caller's ``history``, as JSON gives it.

    Takes ``[[question, answer], ...]`` pairs, or chat messages ``[{"role": "user", "content":
    ...}, {"role": "assistant", ...}, ...]`` as OpenAI-style clients send them; a user message
    without an answer after it is left out. Anything else is a :class:`UserError` saying so.
    """
    if not value:
        return []
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        pairs, question = [], None
        for message in value:
            if message.get("role") == "user":
                question = str(message.get("content") or "")
            elif message.get("role") == "assistant" and question is not None:
                pairs.append((question, str(message.get("content") or "")))
                question = None
        return pairs
    if isinstance(value, list) and all(isinstance(p, list | tuple) and len(p) >= 2 for p in value):
        return [(str(p[0]), str(p[1])) for p in value]
    raise UserError('history must be a list of [question, answer] pairs or of {"role": ..., "content": ...} messages.')


def condense(question: str, history: History, chat_model: Any | None) -> str:
    """The question as it stands alone: unchanged unless it is a follow-up that refers back.

    The model names the referent; when its reply is unusable, a previous answer that is just a
    name stands in, since a follow-up's "he" most often means the person just named. When the
    last question asked who and its answer is a name, "he" or "her" is that name without asking
    the model, which saves a model call (about two seconds on 2 cores). Only the reply's first
    line is read (see :func:`first_line`).
    """
    if not needs_condensing(question, history):
        return question
    reference = REFERRING.search(question)
    person = named_person(history) if reference and reference.group(0).lower() in PERSONAL_PRONOUNS else ""
    if person:
        return substitute_reference(question, reference, person)
    if chat_model is None or reference is None:
        return heuristic_condense(question, history)
    output = first_line(chat_model, resolve_messages(question, reference.group(0), history), LONGEST_REPLY_WORDS)
    referent = clean_referent(output, history, reference.group(0)) or previous_entity(history)
    if not referent:
        return heuristic_condense(question, history)
    return substitute_reference(question, reference, referent)


def first_line(chat_model: Any, messages: Sequence[BaseMessage], max_words: int | None = None) -> str:
    """The first line of the model's reply, read as it streams; generation stops at its end.

    Not ``invoke(..., stop=[newline])``: not every backend honours ``stop`` (LangChain's
    ``ChatLlamaCpp`` dropped it), and the small model then went on writing a whole new
    conversation, up to the token limit. Leading
    blank lines are skipped, as before. With ``max_words``, reading also stops once the line has
    more words than that: a line too long to use costs no more time.
    """
    line = ""
    for chunk in chat_model.stream(messages):
        line = (line + to_text(chunk)).lstrip()
        if "\n" in line or (max_words is not None and len(line.split()) > max_words + 1):
            break
    return line.split("\n")[0]


REFERRING = re.compile(
    r"\b(he|him|his|she|her|hers|they|them|their|it|its|"
    r"(?:that|this|the|these|those) (?:group|militia|man|woman|country|organi[sz]ation|company|"
    r"person|agency|official|force|attack|strike|leader|spokesman|city)s?|"
    r"(?:that|this|these|those) (?:firm|state|nation|government|team|side|squad|club|party|player|coach|"
    r"captain|minister|president|court|bill|law|deal|event|match|game|tournament|election|report|study|"
    r"film|show|storm|bank)s?)\b",
    re.IGNORECASE,
)
BARE_DEMONSTRATIVE = re.compile(
    r"\b(that|this)\b(?=\s*(?:[?.!,]|$|\s+(?:is|was|were|are|be|been|happen\w*|mean\w*|announced|"
    r"said|start\w*|end\w*|take|took|decided|made|done)\b))",
    re.IGNORECASE,
)
"""'that' standing for an event of the conversation: "When was that announced?"."""
POSSESSIVES = frozenset({"his", "her", "their", "its"})
HER_AS_OBJECT = re.compile(
    r"\s*(?:[?.!,;:)]|$|(?:to|about|in|on|at|for|with|from|by|of|and|or|but|that|the|a|an|this|last|"
    r"after|before|during|over|into|as|again|yesterday|today|when|why|how|if)\b)",
    re.IGNORECASE,
)
"""What follows "her" when it is the object ("What did he tell her?"), not a possessive ("her title")."""
PERSONAL_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers"})
PRONOUNS = PERSONAL_PRONOUNS | POSSESSIVES | {"it", "they", "them", "this", "that"}
ASKS_WHO = re.compile(r"^\W*(who|whom|whose)\b", re.IGNORECASE)
NAME_WORD = re.compile(r"^([\"“‘(]?[A-Z0-9]|[a-z]{1,3}-[A-Z]|(of|the|and|al|bin|de|la|van|von|der)$)")
RESOLVE_PROMPT = """New task: resolve a reference in a follow-up question. Do not answer the question.
Reply with the name or noun phrase the word refers to, copied from the conversation, and nothing else."""
RESOLVE_EXAMPLE = (
    "Conversation:\nUser: Who leads the city council?\nAssistant: Ana Ruiz leads the council.\n\n"
    'In the follow-up question "What did she promise?", who or what is "she"?',
    "Ana Ruiz",
)


def needs_condensing(question: str, history: Sequence[tuple[str, str]]) -> bool:
    """A follow-up needs rewriting when there is history and it refers back to it."""
    if not history:
        return False
    return (
        len(words(question)) <= 3
        or bool(REFERRING.search(question))
        or bool(BARE_DEMONSTRATIVE.search(question))
        or fold(question).startswith(("and ", "what about", "how about"))
    )


def said(answer: str) -> str:
    """What an assistant turn said: no citation markers, no date notes of ours."""
    return without_date_notes(strip_markers(answer))


def conversation_text(history: Sequence[tuple[str, str]], turns: int = 2) -> str:
    """The last turns as plain lines."""
    lines = []
    for user, assistant in history[-turns:]:
        lines += [f"User: {user}", f"Assistant: {said(assistant)[:300]}"]
    return "\n".join(lines)


def resolve_messages(question: str, word: str, history: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    """Messages asking what ``word`` in ``question`` refers to.

    They begin with the answering prompt's instructions and examples, unchanged: llama.cpp keeps
    the evaluated prefix of the last prompt only, so a shared prefix stays cached for both.
    """
    ask = (
        f"{RESOLVE_PROMPT}\n\nExample:\n{RESOLVE_EXAMPLE[0]}\n{RESOLVE_EXAMPLE[1]}\n\n"
        f'Conversation:\n{conversation_text(history)}\n\nIn the follow-up question "{question}", '
        f'who or what is "{word}"?'
    )
    return [*answer_prefix(), HumanMessage(ask)]


def substitute_reference(question: str, match: re.Match[str], referent: str) -> str:
    """The question with the referring words replaced by ``referent``, in good grammar.

    Possessives keep 's ("their" of "the militias" gives "the militias'"); "her" is one only when
    a noun follows it ("her title", not "fined her in 2019"). A referent's leading article is not
    capitalised mid-sentence ("Where does the militias' extortion ..."), unless a name follows it
    ("The Guardian").
    """
    word = match.group(0).lower()
    if match.start() > 0:
        referent = re.sub(r"^(The|A|An)(?=\s+[a-z])", lambda article: article.group(0).lower(), referent)
    if word in POSSESSIVES and not (word == "her" and HER_AS_OBJECT.match(question, match.end())):
        plural = word == "their" and referent.endswith("s") and not referent.endswith("'s")
        referent = f"{referent}'" if plural else f"{referent}'s"
    return question[: match.start()] + referent + question[match.end() :]


MAX_REFERENT_WORDS = 8
LONGEST_REPLY_WORDS = MAX_REFERENT_WORDS + 5
"""A reply line longer than this cannot hold a referent: before counting, ``clean_referent`` drops
at most a lone quote mark at each end and "It refers to"."""


def clean_referent(output: str, history: Sequence[tuple[str, str]], word: str = "") -> str:
    """The model's referent if it is a short phrase found in the conversation that fits ``word``, else "".

    A pronoun is no referent: the small model sometimes echoes the word it was asked about ("It").
    """
    line = output.strip().split("\n")[0].strip().strip("\"“”'.").strip()
    line = re.sub(r"^(it|he|she|they) (is|are|refers to)\s+", "", line, flags=re.IGNORECASE)
    if (
        not line
        or line.lower() in PRONOUNS
        or is_time(line)
        or len(line.split()) > MAX_REFERENT_WORDS
        or fold(line) not in fold(conversation_text(history))
    ):
        return ""
    return line if fits(word, line) else ""


def fits(word: str, referent: str) -> bool:
    """Whether ``referent`` can be what ``word`` points at.

    A pronoun can point at anything. A phrase with a noun ("those attacks", "that group") points
    at a name, or at a phrase with the same noun: asked "When do those attacks take place?",
    the small model may name the attackers, and "When do the militias take place?" is no question.
    """
    noun = word.split()[-1] if " " in word.strip() else ""
    if not noun:
        return True
    return is_name(referent) or stem(fold(noun)) in stems(referent)


def is_name(phrase: str) -> bool:
    """Every word of ``phrase`` is part of a name: "Mr. al-Kadhimi", "Kata’ib Hezbollah"; a time is none."""
    tokens = phrase.split()
    return bool(tokens) and all(NAME_WORD.match(t) for t in tokens) and not is_time(phrase)


ORDINAL = re.compile(r"\d+(st|nd|rd|th|s)?")
TIME_FILLERS = frozenset({"in", "on", "at", "by", "since", "from", "the", "of", "a", "an", "this", "that", "and"})


def is_time(phrase: str) -> bool:
    """Whether ``phrase`` only places something in time ("In 2016", "last June", "Saturday").

    Such a phrase answers "when"; it is never what "he", "them" or "that group" points at.
    """
    tokens = words(phrase)
    return bool(tokens) and all(t in TIME_FILLERS or ORDINAL.fullmatch(t) or TIME_WORDS.fullmatch(t) for t in tokens)


def previous_entity(history: Sequence[tuple[str, str]], max_words: int = 6) -> str:
    """The previous answer when it is only a name ("Mr. al-Kadhimi [1]."), else ""."""
    if not history:
        return ""
    answer = said(history[-1][1]).rstrip(".").strip()
    if len(answer.split()) > max_words or not answer[:1].isupper():
        return ""
    return answer if is_name(answer) else ""


def named_person(history: Sequence[tuple[str, str]]) -> str:
    """The name that answered the last question when that question asked who, else ""."""
    if not history or not ASKS_WHO.search(history[-1][0]):
        return ""
    return previous_entity(history)


def heuristic_condense(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Without a usable rewrite: carry the previous question's words along for retrieval."""
    previous = history[-1][0] if history else ""
    return f"{question} ({previous})" if previous else question


BEYOND = re.compile(r"\b(else|other|another|besides|also)\b", re.IGNORECASE)
"""Words by which a follow-up asks for something beyond what the last turn said."""
REPEAT_SHARE = 0.6
"""A sentence with at least this share of its content words in the last turn restates that turn."""


def restates_last_turn(question: str, history: History) -> Callable[[str], bool]:
    """A test for sentences that only restate the last turn, when ``question`` asks for more.

    Asked "What else did that group say?" after "Which group said four of its fighters had
    been killed?", the small model tends to answer with the sentence the last turn was about.
    That sentence's words are mostly the last question's and answer's; the test finds it so
    the model reads the others. For other questions, the test finds nothing.
    """
    if not history or not BEYOND.search(question):
        return lambda sentence: False
    user, assistant = history[-1]
    last_turn = f"{user} {said(assistant)}"
    return lambda sentence: support(sentence, last_turn) >= REPEAT_SHARE


def without_else(question: str, history: History) -> str:
    """The follow-up as the model is asked it once the last turn's sentences are set aside.

    "What else did that group say?" becomes "What did that group say?": the sentences left
    hold only the else, and the model, asked for more than it is shown, refuses.
    """
    if not history:
        return question
    return re.sub(r"\s+\b(else|also)\b", "", question, flags=re.IGNORECASE)
