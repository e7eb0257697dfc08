"""Cite stage: parse ``[n]`` markers, keep only passages that support the answer, renumber.

Everything here is a pure function over strings and chunks, so it is tested without models.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.chunk import REFERS_BACK, leads_into, split_sentences
from rag.timeframe import NAMED_YEAR
from rag.types import Chunk, Citation

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
QUOTE_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-"})
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here there
    when where why how all any both each few more most other some such no nor not only own same so
    than too very s t can will just don should now is are was were be been being have has had having
    do does did doing i me my we our you your he him his she her it its they them their what which
    who whom this that these those am would could also said says say according as yes""".split()
)
SUPPORT_THRESHOLD = 0.75
RELEVANCE_THRESHOLD = 0.3
RELEVANCE_ENOUGH_WORDS = 3


def fold(text: str) -> str:
    """Lower-case, ASCII quotes and dashes, no accents: the form in which texts are compared."""
    text = unicodedata.normalize("NFKD", text.translate(QUOTE_FOLD))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """Word tokens of ``text`` after folding; apostrophes inside words are kept.

    A number grouped in thousands is one word, however it is grouped: "5,907", "5 907" and
    "5907" are the same number.
    """
    folded = GROUPED_NUMBER.sub(lambda m: m.group(0).replace(",", "").replace(" ", ""), fold(text))
    return re.findall(r"[a-z0-9]+(?:['.-][a-z0-9]+)*", folded)


GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?(?!\d)")
"""A number written in groups of three digits, split by commas or (after folding) spaces."""


NUMBER_WORDS = {
    w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}


@functools.cache
def _snowball() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem, so 'militias' matches 'militia' and 'filing' matches 'file'.

    Number words become digits, so "four" supports "4"; apostrophes and dots are dropped
    ("U.S." is "us").
    """
    word = NUMBER_WORDS.get(word, word).replace("'", "").replace(".", "")
    return _snowball().stemWord(word) if word.isalpha() else word


def stems(text: str, form: Callable[[str], str] = stem) -> set[str]:
    """The stems (or another ``form``) of every word of ``text``, a hyphenated word also by its parts."""
    found = set()
    for w in words(text):
        found.add(form(w))
        if "-" in w:
            found.update(form(part) for part in w.split("-") if part)
    return found


def content_terms(text: str, exclude: str = "") -> list[str]:
    """Stems of the content words of ``text`` that do not occur in ``exclude``; hyphenated words by part."""
    excluded = stems(exclude)
    parts = [p for w in words(text) for p in ([w] if "-" not in w or w[:1].isdigit() else w.split("-")) if p]
    return [s for p in parts if p not in STOPWORDS and (s := stem(p)) not in excluded]


def support(claim: str, passage: str, question: str = "") -> float:
    """Share of the claim's content words (not already in the question) found in the passage."""
    claim = strip_markers(claim)
    terms = content_terms(claim, exclude=question) or content_terms(claim)
    if not terms:
        return 0.0
    have = stems(passage)
    return sum(t in have for t in terms) / len(terms)


def is_about(question: str, passage: str) -> bool:
    """Whether ``passage`` is about ``question``: it shares enough of the question's content words.

    Enough is ``RELEVANCE_THRESHOLD`` of them, or ``RELEVANCE_ENOUGH_WORDS`` for a long question:
    a quiz question that sets a scene in two sentences ("The ferry season has begun. Which
    harbour do most of the island's visitors arrive at?") shares only a few words with the one
    sentence that answers it.
    """
    terms = set(content_terms(question))
    if not terms:
        return True
    return shared_terms(question, passage) >= min(RELEVANCE_THRESHOLD * len(terms), RELEVANCE_ENOUGH_WORDS)


def stating_sentences(question: str, passages: Sequence[Chunk]) -> list[str]:
    """The sentences of ``passages`` that hold every content word of ``question`` (at least two).

    Such a sentence states what a yes/no question asks, or its negation: "Did American
    officials consult the Iraqi government in advance?" and "American officials said they had
    not consulted with the Iraqi government in advance."
    """
    terms = set(content_terms(question))
    if len(terms) < 2:
        return []
    return [
        chunk.text[start:end]
        for chunk in passages
        for start, end in split_sentences(chunk.text)
        if terms <= stems(chunk.text[start:end])
    ]


NEGATION = re.compile(r"\b(not|never|no|none|neither|nor)\b|n[’']t\b", re.IGNORECASE)
YES_OR_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
EVIDENCE_SHARE = 0.5
"""Share of a yes/no question's content words the sentence quoted for its answer must hold."""


def polarity(question: str, sentence: str) -> str:
    """The answer a sentence stating a yes/no question in full gives: "no" when just one of them is negated."""
    return "no" if bool(NEGATION.search(sentence)) != bool(NEGATION.search(question)) else "yes"


def stated_answer(question: str, passages: Sequence[Chunk]) -> str:
    """Yes or no, as the sentences stating ``question`` in full give it; "" when none does or they differ."""
    given = {polarity(question, sentence) for sentence in stating_sentences(question, passages)}
    return given.pop() if len(given) == 1 else ""


def contradicts(question: str, answer: str, passages: Sequence[Chunk]) -> bool:
    """Whether the yes or no that ``answer`` opens with says the opposite of the sentences stating ``question``.

    The small model reads "they had not consulted" and may still answer "Yes, they had
    consulted": every word of that is in the passage, so only the negation tells it apart.
    Call it for yes/no questions only: "No one [1]" is no "no" when it answers "Who was hurt?".
    """
    said = YES_OR_NO.match(strip_markers(answer))
    stated = stated_answer(question, passages)
    return bool(said and stated) and said.group(1).lower() != stated


ASKS_WHO = re.compile(r"^\W*who\b", re.IGNORECASE)
ASKS_SUCCESSOR = re.compile(r"\b(replac(?:ed|es)|succeed(?:ed|s)|took over|takes over|new)\b", re.IGNORECASE)
LEFT_AFTER_NAME = re.compile(
    r"(?:,?\s+[\w’'-]+){0,6}?,?\s+(?:has |had |have )?(?:stepped down|steps down|step down|stepping down|"
    r"resign(?:ed|s|ing)?|retir(?:ed|es|ing)|quit|was (?:ousted|fired|sacked|dismissed|replaced|removed|forced out)|"
    r"left (?:the|his|her|its)|departed|will leave|is leaving)\b",
    re.IGNORECASE,
)
LEFT_BEFORE_NAME = re.compile(
    r"\b(?:former|outgoing|ex-|predecessor|replac(?:es|ed|ing)|succeed(?:s|ed|ing)|took over from|takes over from|"
    r"in place of)\s+(?:[\w’'-]+\s+){0,3}$",
    re.IGNORECASE,
)


def asks_for_holder(question: str, about_present: bool) -> bool:
    """Whether ``question`` asks who holds a post now, or who took it over.

    "Who is the chief executive?" and "Who replaced Hugo Brandt?" both want the newer holder;
    ``about_present`` is whether the question asks how things stand (see ``rag.timeframe``).
    """
    return bool(ASKS_WHO.search(question)) and (about_present or bool(ASKS_SUCCESSOR.search(question)))


def left_post(name: str, text: str) -> bool:
    """Whether ``text`` says that ``name`` left a post, or was replaced in it.

    "Hugo Brandt has stepped down as chief executive", "replaces Marta Kowal, who is retiring",
    "former captain Babar Azam": a small model asked who holds the post answers with the name
    the sentence puts first, though the sentence says that person no longer holds it.
    """
    name = name.strip()
    if not name:
        return False
    for found in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
        if LEFT_AFTER_NAME.match(text, found.end()) or LEFT_BEFORE_NAME.search(text[: found.start()]):
            return True
    return False


def yes_no_evidence(
    question: str, answer: str, excerpts: Sequence[Chunk], sources: Sequence[Chunk]
) -> tuple[CitedAnswer, str] | None:
    """A yes or no that quotes the excerpt sentence it rests on, and the short "Yes" or "No"; ``None`` without one.

    The small model answers "Did he criticize the United States?" with "Yes, he criticized the
    United States [1]", in the question's words, where the passage paraphrases ("said the United
    States was disrupting the security of the region"): word-for-word support fails, though all
    the draft adds to the question is its yes or no. The answer quotes the sentence, so that the
    reader sees what it rests on. That sentence holds at least ``EVIDENCE_SHARE`` of the
    question's content words (the cited excerpts are read first) and, with the sentence before
    it, every name and number of the question, each name in full: a sentence on the fighters of
    "Kata'ib Sayyid al-Shuhada" does not say whether "Kata'ib Hezbollah" lost any. A sentence that
    states the question in full gives the yes or no itself (see :func:`polarity`), whatever the
    draft said.
    """
    said = YES_OR_NO.match(strip_markers(answer))
    terms = set(content_terms(question))
    if not said or len(terms) < 2:
        return None
    cited = [n for n in cited_numbers(answer) if 1 <= n <= len(excerpts)]
    candidates = [
        (len(terms & stems(sentence)), n, sentence)
        for n in dict.fromkeys([*cited, *range(1, len(excerpts) + 1)])
        for start, end in split_sentences(excerpts[n - 1].text)
        if (sentence := excerpts[n - 1].text[start:end].strip())
    ]
    shared, n, sentence = max(candidates, key=lambda candidate: candidate[0], default=(0, 0, ""))
    if shared < EVIDENCE_SHARE * len(terms):
        return None
    if missing_anchors(question, [excerpts[n - 1].title, lead_in(excerpts[n - 1], sources), sentence], whole=True):
        return None
    verdict = (polarity(question, sentence) if terms <= stems(sentence) else said.group(1)).capitalize()
    quoted = CitedAnswer(f"{verdict}. The passage says: “{sentence}” [1]", [to_citation(1, excerpts[n - 1])], True)
    return quoted, verdict


def lead_in(excerpt: Chunk, sources: Sequence[Chunk]) -> str:
    """The sentence just before ``excerpt`` in its article, where its "it" or "he" is named.

    It is read from a passage of ``sources`` that reaches the excerpt's start: the one the
    excerpt was cut from, or the one before it, when a chunk boundary falls between the two.
    """
    for passage in sources:
        if leads_into(passage, excerpt):
            before = passage.text[: excerpt.start - passage.start]
            spans = split_sentences(before)
            if spans:
                return before[spans[-1][0] : spans[-1][1]]
    return ""


def first_sentence(text: str) -> str:
    """The first sentence of ``text``."""
    spans = split_sentences(text)
    return text[spans[0][0] : spans[0][1]] if spans else text


def shared_terms(question: str, text: str) -> int:
    """How many of the question's content words (stemmed) ``text`` holds."""
    return len(set(content_terms(question)) & stems(text))


def is_cited_about(question: str, excerpt: Chunk, sources: Sequence[Chunk]) -> bool:
    """Whether a cited excerpt is about the question, read with its surroundings.

    Either the excerpt is about it on its own, or read after the sentence it continues, or its
    passage and headline are (see :func:`surroundings`) and the excerpt itself holds at least two
    of the question's words:
    "Dunmore is the latest town to see them arrive" answers a question about flood-relief
    crews surging into a valley town, while "his 175.07 strike rate", in a
    passage about the same player, does not answer one about his batting average.
    A sentence that refers back (see :data:`rag.chunk.REFERS_BACK`) is read as the article
    reads it: "'We will go to open war,' the group said." answers what the group named in the
    sentence before it said, though it never names the group itself.
    """
    if is_about(question, excerpt.text):
        return True
    if REFERS_BACK.search(first_sentence(excerpt.text)) and is_about(
        question, f"{lead_in(excerpt, sources)} {excerpt.text}"
    ):
        return True
    return shared_terms(question, excerpt.text) >= RELEVANCE_ENOUGH_WORDS - 1 and is_about(
        question, surroundings(excerpt, sources)
    )


HONORIFICS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "st",
        "gen",
        "col",
        "lt",
        "sgt",
        "prof",
        "rev",
        "i",
        "rep",
        "sen",
        "gov",
        "pres",
        "no",
    }
)
CLAUSE_START = re.compile(r"""^$|[.?!:;"“”‘(\[—–]$""")
ORDINALS = {
    w: str(n)
    for n, w in enumerate(
        "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
    )
}
MONTHS = "January February March April May June July August September October November December".split()


NAME_CONNECTORS = frozenset({"of", "the", "de", "la", "al", "bin", "and", "von", "van", "der", "du"})
QUESTION_TOKEN = re.compile(r"\d[\d,.]*\d(?:-\w+)?|\w[\w'’.&-]*|[^\w\s]")


def question_anchors(question: str) -> list[str]:
    """The names and numbers a question turns on, each name phrase as one anchor.

    "Who patented a steam engine in 1883?" asked of an article that gives 1849 must not be
    answered with the 1849 patentee. A name is a run of capitalised words ("Guardians of
    Blood"); a capital that only starts a sentence or clause ("… this week. He is a
    representative for which state?", "Finish the title: …") makes no name, and honorifics
    and titles ("Mr.", "Rep.") are left out.
    """
    anchors: list[str] = []
    phrase: list[str] = []

    def flush() -> None:
        while phrase and fold(phrase[-1]) in NAME_CONNECTORS:
            phrase.pop()
        if phrase:
            anchors.append(" ".join(phrase))
        phrase.clear()

    clause_start = True
    for raw in QUESTION_TOKEN.findall(question):
        if not raw[0].isalnum():
            clause_start = clause_start or raw in '.?!:;"“”‘(—–'
            flush()
            continue
        token = re.sub(r"['’]s?$", "", raw.rstrip(".").strip("-"))
        abbreviation = fold(token) in HONORIFICS or "." in token or len(token) == 1
        if any(ch.isdigit() for ch in token):
            flush()
            anchors.append(token)
        elif token and token[0].isupper() and not clause_start and fold(token) not in HONORIFICS:
            phrase.append(token)
        elif phrase and fold(token) in NAME_CONNECTORS:
            phrase.append(token)
        else:
            flush()
        clause_start = raw.endswith(".") and not abbreviation
    flush()
    return anchors


def _vocabulary(texts: Sequence[str]) -> set[str]:
    """Every word of ``texts`` in the form anchors compare, hyphenated words also by their parts."""
    return stems(" ".join(texts), form=_anchor_form)


def _anchor_form(word: str) -> str:
    """A word as anchors compare it: stemmed, ordinals and number words as digits, no thousands commas."""
    word = ORDINALS.get(word, word)
    if re.fullmatch(r"\d+(st|nd|rd|th)", word):
        word = re.sub(r"(st|nd|rd|th)$", "", word)
    return stem(word)


def _word_found(word: str, have: set[str]) -> bool:
    """Found as is, or as a close derivation: "Iran" in "Iranian", "Ukrainian" in "Ukraine"."""
    form = _anchor_form(word)
    if form in have or f"{form}s" in have or (form.endswith("s") and form[:-1] in have):
        return True
    if not form.isalpha() or len(form) < 4:
        return False
    for other in have:
        if other[:1] != form[:1] or not other.isalpha():
            continue
        shared = len(os.path.commonprefix([form, other]))
        if shared >= 4 and shared >= min(len(form), len(other)) - 1:
            return True
    return False


def is_number(anchor: str) -> bool:
    """Whether an anchor is a number (a year, a count, "11-day") rather than a name."""
    return any(ch.isdigit() for ch in anchor)


def anchor_found(anchor: str, have: set[str], whole: bool = False) -> bool:
    """A number must be found whole; a name phrase by at least half of its words, or all of them if ``whole``."""
    parts = [p for w in words(anchor) for p in w.split("-") if p]
    if not parts:
        return True
    found = sum(_word_found(p, have) for p in parts)
    if whole or is_number(anchor):
        return found == len(parts)
    return found * 2 >= len(parts)


def missing_numbers(
    question: str, evidence: Sequence[str], articles: Sequence[str] = (), history_before: int | None = None
) -> list[str]:
    """The numbers of ``question`` (years, counts, dates) that ``evidence`` does not hold.

    Only numbers are required. Names the question sets its scene with ("Which rugby club's
    owner…", "…bakeries in the north") are often missing from the passage that answers
    it, and even from the whole article; measured on the tuning halves, requiring them cost
    the news archive far more correct answers than it saved wrong ones. A number, though,
    tells one year's event from another's, and a passage without it answers another question.

    A time (a year, a decade, a century) must be in ``evidence`` itself. Any other number (a
    count, "11-day") may be anywhere in the cited ``articles``: "the chain closing all 300 of
    its shops" is answered by a sentence naming the chain, while the 300 is three paragraphs
    further on. So may a year before ``history_before`` (set from the cited
    articles' dates): a year tells an event from the same event in a neighbouring year, while a
    year long past is background ("her 1975 debut album" in a story of 2024).
    """
    missing = missing_anchors(question, evidence, numbers_only=True)
    if not missing or not articles:
        return missing
    beyond = set(missing_anchors(question, [*evidence, *articles], numbers_only=True))
    times = {m.group(1) or m.group(2) for m in TIME_NUMBER.finditer(question)}

    def must_be_cited(number: str) -> bool:
        digits = re.sub(r"\D", "", number)
        history = history_before is not None and len(digits) == 4 and int(digits) < history_before
        return digits in times and not history

    return [number for number in missing if must_be_cited(number) or number in beyond]


def history_before(citations: Sequence[Citation], history_years: int) -> int | None:
    """The year before which a year is history for the cited articles; None if any is undated."""
    if not citations or not all(c.date[:4].isdigit() for c in citations):
        return None
    return min(int(c.date[:4]) for c in citations) - history_years


TIME_NUMBER = re.compile(r"\b(1\d{3}|20\d{2})(?=s?\b)|\b(\d{1,2})(?=(?:st|nd|rd|th)?[\s-]+centur)", re.IGNORECASE)
"""A year, decade or century of a question: "in 1883", "the 1920s", "the 9th century"."""


def missing_full_names(question: str, evidence: Sequence[str]) -> list[str]:
    """The question's names of several words ("Harlow Open"), when ``evidence`` holds none of them.

    One word names the scene as often as the subject ("NFL", "US", "the north"), so
    single-word names are never required. A name of several words usually names the event,
    prize or body the question is about; a passage holding none of them answers about something
    else that happened the same year ("Who won the 2018 Harlow Open?" from a 2018 book award).
    Measured on the tuning halves, requiring one of them withheld no correct answer.
    """
    names = [a for a in question_anchors(question) if " " in a and not is_number(a)]
    if not names:
        return []
    have = _vocabulary(evidence)
    return [] if any(anchor_found(name, have) or initials(name) & have for name in names) else names


def initials(name: str) -> set[str]:
    """The forms a name takes as initials, as anchors compare words: "United States" -> us, u.s."""
    letters = [w[0] for w in words(name) if w not in NAME_CONNECTORS]
    if len(letters) < 2:
        return set()
    return {_anchor_form("".join(letters)), _anchor_form(".".join(letters))}


def date_words(date: str, with_year: bool = False) -> str:
    """The month and day of an ISO date, as an article would write them: "2023-01-05" -> "January 5".

    The year only ``with_year`` (see :func:`anchor_evidence`).
    """
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", date or "")
    if not match:
        return ""
    year, month, day = match.groups()
    words = f"{MONTHS[int(month) - 1]} {int(day)}" if day else MONTHS[int(month) - 1]
    return f"{words}, {year}" if with_year else words


def missing_anchors(
    question: str, evidence: Sequence[str], numbers_only: bool = False, whole: bool = False
) -> list[str]:
    """The anchors of ``question`` (see :func:`question_anchors`) that ``evidence`` does not hold.

    Most questions hold no number, so with ``numbers_only`` the evidence is not even read.
    With ``whole``, a name counts only with all of its words (see :func:`anchor_found`).
    """
    anchors = [a for a in question_anchors(question) if not numbers_only or is_number(a)]
    if not anchors:
        return []
    have = _vocabulary(evidence)
    return [anchor for anchor in anchors if not anchor_found(anchor, have, whole)]


def source_passages(citations: Sequence[Citation], passages: Sequence[Chunk]) -> list[str]:
    """The text of the passages the citations were cut from.

    Whole passages, not just the cited sentences: "the group said" counts as naming the group
    its passage introduced a sentence earlier.
    """
    return [p.text for p in passages if any(encloses(p, c) for c in citations)]


def encloses(passage: Chunk, part: Chunk | Citation) -> bool:
    """Whether ``part`` (an excerpt or a citation) was cut from ``passage``."""
    return passage.doc_id == part.doc_id and passage.start <= part.start and part.end <= passage.end


def surroundings(excerpt: Chunk, sources: Sequence[Chunk]) -> str:
    """The excerpt's headline and the whole passages of ``sources`` it was cut from.

    A quiz question sets its scene in words the answering sentence does not repeat: "Which town
    in the valley has seen a recent surge of flood-relief crews?" is answered by "Dunmore is
    the latest town to see them arrive", whose passage, not the sentence, speaks of crews and
    a surge.
    """
    around = [p.text for p in sources if encloses(p, excerpt)]
    return "\n".join([excerpt.title, excerpt.text, *around])


def anchor_evidence(citations: Sequence[Citation], passages: Sequence[Chunk]) -> list[str]:
    """What a question's names may be found in: the cited passages, their headlines and dates.

    A passage rarely repeats what its headline and dateline already say ("NFL", "January").
    The article's year counts only when neither its cited passages nor its headline name
    another year: "won the final on Sunday" in an article of June 2021 reports the 2021 final,
    while an article of 2021 that speaks of "the 2020 final, delayed a year" must name the year
    it is asked about.
    """
    evidence = source_passages(citations, passages)
    for citation in {c.doc_id: c for c in citations}.values():
        own = source_passages([c for c in citations if c.doc_id == citation.doc_id], passages)
        named = set(NAMED_YEAR.findall(" ".join([citation.title, *own])))
        evidence.append(f"{citation.title}\n{date_words(citation.date, with_year=named <= {citation.date[:4]})}")
    return evidence


def strip_markers(text: str) -> str:
    """The answer text without ``[n]`` markers, nor the commas or colons left dangling before them."""
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).strip().rstrip(",;:").rstrip()


def cited_numbers(text: str) -> list[int]:
    """The passage numbers the answer cites, in order of first appearance."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in numbers:
                numbers.append(n)
    return numbers


@dataclass(frozen=True)
class CitedAnswer:
    """An answer with verified citations; ``supported`` is False if no passage backs it."""

    answer: str
    citations: list[Citation]
    supported: bool


def to_citation(n: int, chunk: Chunk) -> Citation:
    """A numbered citation for ``chunk``."""
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        date=chunk.date,
        source=chunk.source,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        date_source=chunk.date_source,
        url=chunk.url,
        author=chunk.author,
        site=chunk.site,
        page=chunk.page,
    )


def unstated_numbers(answer: str, question: str, cited: Sequence[str]) -> list[str]:
    """The numbers of ``answer``, beyond the question's, that none of the ``cited`` texts holds.

    Word-for-word support asks for most of an answer's words, so one number may be missing: a
    second look answered "How many rockets were fired?" with "2. Later on Monday, militias
    fired rockets at American forces …", every word from the passage but the count, which was
    nowhere. A number is the fact a reader checks first, so every one must be in a cited passage
    ("four" counts as "4", "2,500" as "2500", "11-day" by its "11").
    """
    have = set().union(*(stems(text) for text in cited))
    parts = (part for term in content_terms(strip_markers(answer), exclude=question) for part in term.split("-"))
    return [part for part in parts if any(ch.isdigit() for ch in part) and part not in have]


def verify_citations(
    answer: str,
    claim: str,
    passages: Sequence[Chunk],
    question: str = "",
    threshold: float = SUPPORT_THRESHOLD,
    sources: Sequence[Chunk] = (),
) -> CitedAnswer:
    """Keep the cited passages that support ``claim``; cite the best one if the model cited none.

    ``claim`` is what must be found in a passage (the short answer, or the answer itself), and
    the passage must also be about the question: an answer drawn from an unrelated sentence is
    how a small model invents facts out of real words. Whether it is about the question is
    judged with its headline and the whole passage it was cut from, when ``sources`` holds that
    (see :func:`is_cited_about`).
    Markers out of range or pointing at a passage without support are dropped; the kept ones are
    renumbered from 1 in order of appearance, and the text's markers are rewritten to match. An
    answer stating a number that no kept passage holds is unsupported (see :func:`unstated_numbers`).
    """
    numbers = [n for n in cited_numbers(answer) if 1 <= n <= len(passages)]
    scores = {
        n: support(claim, chunk.text, question) if is_cited_about(question, chunk, sources) else 0.0
        for n, chunk in enumerate(passages, start=1)
    }
    kept = [n for n in numbers if scores[n] >= threshold]
    if not kept and scores:
        best = max(scores, key=lambda n: (scores[n], -n))
        if scores[best] >= threshold:
            kept = [best]
    if not kept or unstated_numbers(answer, question, [passages[n - 1].text for n in kept]):
        return CitedAnswer(strip_markers(answer), [], supported=False)
    renumber = {old: new for new, old in enumerate(kept, start=1)}
    body = strip_markers(answer)
    markers = "".join(f"[{renumber[n]}]" for n in kept)
    if body and body[-1] in ".!?":
        text = f"{body[:-1]} {markers}{body[-1]}"
    else:
        text = f"{body} {markers}"
    citations = [to_citation(renumber[n], passages[n - 1]) for n in kept]
    return CitedAnswer(text, citations, supported=True)
