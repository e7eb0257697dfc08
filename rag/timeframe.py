"""What time a question is about: its ``as_of`` date, a year or date it names, relative words.

A news question is asked at a moment. "Who won this week?" asked on 2023-05-05 is about the
week before that day, and no article published after it may answer. The frame found here
decides which articles retrieval may use and which it ranks higher (see ``rag.retrieve``).
Phrases are found with patterns and resolved to dates by ``dateparser``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from rag.errors import UserError
from rag.types import Filters

WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
MONTH_NAMES = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
COUNT_WORDS = r"\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several"

RELATIVE = re.compile(
    rf"\b(today|tonight|yesterday|"
    rf"(?:this|last|past|previous|earlier this)\s+(?:week(?:end)?|month|year|{WEEKDAYS})|"
    rf"(?:on\s+)?(?:{WEEKDAYS})|"
    rf"(?:{COUNT_WORDS})\s+(?:days?|weeks?|months?|years?)\s+ago)\b",
    re.IGNORECASE,
)
"""Words that place a question relative to its ``as_of`` date."""

NAMED_DATE = re.compile(
    rf"\b(?:(?:{MONTH_NAMES})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}|"
    rf"\d{{1,2}}\s+(?:{MONTH_NAMES})\.?\s+(?:19|20)\d{{2}}|"
    rf"(?:{MONTH_NAMES})\.?\s+(?:19|20)\d{{2}}|"
    r"(?:19|20)\d{2}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)
"""A date the question names with its year: "June 28, 2021", "28 June 2021", "June 2021"."""

NAMED_YEAR = re.compile(r"(?<![$£€\d,.])\b(19[5-9]\d|20\d{2})\b(?![\d,.%]\d|\s*%)")
"""A year the question names: "in 2021", "the 2018 Nobel Prize" (not "$2000" or "2000%")."""

PRESENT = re.compile(
    r"\b(current(ly)?|now|nowadays|presently|latest|newest|most recent(ly)?|recent(ly)?|still|"
    r"so far|to date|as of|anymore|any more)\b",
    re.IGNORECASE,
)
"""Words that ask about the present state of things."""

STATE_OF_AFFAIRS = re.compile(
    r"\b(is|are|remains?|has|have|holds?|leads?|serves?|runs?|heads?|owns?|stands?|lives?)\b",
    re.IGNORECASE,
)
"""Present-tense verbs: a question using one asks how things stand, so its answer is dated."""

PAST = re.compile(r"\b(was|were|did|had)\b", re.IGNORECASE)

RECENTLY = re.compile(r"\b(recently|in recent (days|weeks))\b", re.IGNORECASE)

ASKS_WHEN = re.compile(
    r"^\W*(?:when\b|(?:in|on|at|by|since|until)?\s*(?:what|which)\s+(?:year|date|day|month|decade|century)\b)",
    re.IGNORECASE,
)
"""A question asking for a time: "When did ...", "In what year ...", "On which day ..."."""

TIME_WORDS = re.compile(
    rf"\d|\b(?:{MONTH_NAMES}|{WEEKDAYS}|today|tonight|yesterday|tomorrow|now|then|recently|soon|earlier|later|"
    r"once|ago|since|until|till|before|after|during|when|while|upon|dawn|noon|midnight|morning|afternoon|"
    r"evening|night|spring|summer|autumn|fall|winter|season|weekend|weeks?|months?|years?|decades?|centur(?:y|ies)|"
    r"days?|hours?|minutes?|era|age|period|times?|start|beginning|end|first|last|next|previous|prior|following)\b",
    re.IGNORECASE,
)
"""Words that place an answer in time; an answer to "when" holds at least one."""


@dataclass(frozen=True)
class TimeFrame:
    """The time a question is about.

    ``as_of`` is the date the user gave, if any; ``asked_on`` is when the question counts as
    asked: ``as_of``, else now, which is the newest article in the index.
    ``start``/``end`` is the period it names or implies ("in 2021", "this week"), if any.
    ``named`` is true when the question names its own year or date: it is then matched to
    that period and not pulled toward recent articles. ``recent`` marks a question about the
    present or the recent past, whose answer should come from articles near ``as_of``.
    """

    as_of: date | None = None
    asked_on: date | None = None
    start: date | None = None
    end: date | None = None
    named: bool = False
    recent: bool = False
    about_present: bool = False
    phrase: str = ""
    named_years: tuple[str, ...] = ()

    def contains(self, day: date) -> bool:
        """True when ``day`` falls in the question's period."""
        return self.start is not None and self.end is not None and self.start <= day <= self.end


def names_no_time(question: str, answer: str) -> bool:
    """Whether ``question`` asks when and ``answer`` names no time at all.

    A small model asked "When did he take up that post?" may answer with the post itself; an
    answer to "when" that holds no date, no number and no word of time answers another question.
    """
    return bool(ASKS_WHEN.search(question)) and not TIME_WORDS.search(answer)


def parse_day(value: str | date | None, what: str = "date") -> date | None:
    """A date given by a user ("2023-05-05", "5 May 2023", "May 5, 2023"), or ``None`` if empty.

    Raises :class:`UserError` with an example of the expected form when it cannot be read.
    """
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parsed = _parser(None).get_date_data(text).date_obj
    if parsed is None:
        raise UserError(f"Could not read the {what} “{text}”. Write it like 2023-05-05.")
    return parsed.date()


def day_number(iso: str) -> int:
    """An ISO date as the integer ``YYYYMMDD`` stored for filters; 0 for an undated article."""
    try:
        day = date.fromisoformat(iso[:10])
    except (TypeError, ValueError):
        return 0
    return day.year * 10_000 + day.month * 100 + day.day


def from_day_number(number: int) -> date | None:
    """Inverse of :func:`day_number` (``None`` for 0, undated)."""
    if number <= 0:
        return None
    return date(number // 10_000, number // 100 % 100, number % 100)


def long_date(iso: str) -> str:
    """An ISO date written out: "2021-06-28" as "June 28, 2021"; anything else unchanged."""
    try:
        day = date.fromisoformat(iso[:10])
    except (TypeError, ValueError):
        return iso
    return f"{calendar.month_name[day.month]} {day.day}, {day.year}"


def as_of_note(answer: str, iso: str) -> str:
    """``answer`` opened with the date it held: "As of June 28, 2021: ..."."""
    return f"As of {long_date(iso)}: {answer}"


def changed_note(iso: str) -> str:
    """What a dated answer adds when an older article said otherwise."""
    return f" This changed: an article of {long_date(iso)} said otherwise."


DATE_NOTES = re.compile(
    r"^\s*As of [A-Z][a-z]+ \d{1,2}, \d{4}: |\s*This changed: an article of [A-Z][a-z]+ \d{1,2}, \d{4} said otherwise\."
)


def without_date_notes(answer: str) -> str:
    """An answer without the notes :func:`as_of_note` and :func:`changed_note` put around it.

    A follow-up is read against what was said, and the date is ours, not the article's: left
    in, the small model names "As of June 28, 2021" as whom "he" refers to.
    """
    return DATE_NOTES.sub("", answer).strip()


def question_frame(question: str, as_of: date | None, now: date | None = None) -> TimeFrame:
    """The time ``question`` is about, asked on ``as_of`` (else on ``now``, the newest article)."""
    base = as_of or now
    present = bool(PRESENT.search(question))
    about_present = present or bool(STATE_OF_AFFAIRS.search(question) and not PAST.search(question))
    named = NAMED_DATE.search(question)
    years = tuple(dict.fromkeys(NAMED_YEAR.findall(question)))
    if named or years:
        phrase = named.group(0) if named else years[0]
        start, end = _period(phrase, base)
        if not named and len(years) > 1:
            end = date(int(max(years)), 12, 31)
            start = date(int(min(years)), 1, 1)
        return TimeFrame(
            as_of, base, start, end, named=True, about_present=about_present, phrase=phrase, named_years=years
        )
    relative = RELATIVE.search(question)
    if relative and base is not None:
        start, end = _period(relative.group(0), base)
        return TimeFrame(as_of, base, start, end, recent=True, about_present=about_present, phrase=relative.group(0))
    return TimeFrame(as_of, base, recent=present, about_present=about_present)


def without_relative_time(question: str) -> str:
    """``question`` with its relative time words taken out, for the chat model to read.

    Once retrieval has placed the question in time ("this week" has become the week before
    the as-of date), the words themselves only mislead a small model: the passages never say
    "this week", so it doubts they answer. "Walmart this week recalled which juice?" is read as
    "Walmart recalled which juice?".
    """
    stripped = RECENTLY.sub(" ", RELATIVE.sub(" ", question))
    stripped = re.sub(r"\s+([,.?!:;])", r"\1", re.sub(r"\s{2,}", " ", stripped)).strip()
    stripped = re.sub(r"^[,;:]\s*|,\s*(?=[,?.!])", "", stripped)
    return stripped if len(stripped.split()) >= 3 else question


def _period(phrase: str, base: date | None) -> tuple[date | None, date | None]:
    """The days a date phrase covers, resolved against ``base``; never after ``base``."""
    data = _parser(base).get_date_data(re.sub(r"^on\s+", "", phrase.strip(), flags=re.IGNORECASE))
    if data.date_obj is None:
        return None, None
    day, period = data.date_obj.date(), data.period or "day"
    if period == "year":
        start, end = date(day.year, 1, 1), date(day.year, 12, 31)
    elif period == "month":
        start = day.replace(day=1)
        end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    elif period == "week":
        start, end = day - timedelta(days=6), day + timedelta(days=1)
    else:
        start = end = day
    if base is not None:
        end = min(end, base)
        start = min(start, end)
    return start, end


@lru_cache(maxsize=64)
def _parser(base: date | None):  # noqa: ANN202 (dateparser has no public type for it)
    from dateparser.date import DateDataParser

    settings = {"PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first"}
    if base is not None:
        settings["RELATIVE_BASE"] = datetime(base.year, base.month, base.day)
    return DateDataParser(languages=["en"], settings=settings)


def build_filters(
    as_of: str | date | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    source: str | None = None,
) -> Filters:
    """:class:`Filters` from what a user typed (CLI flags, a JSONL line, an API request).

    Raises :class:`UserError` on a date it cannot read or a range that ends before it starts.
    """
    filters = Filters(
        as_of=parse_day(as_of, "as-of date"),
        since=parse_day(since, "start date"),
        until=parse_day(until, "end date"),
        source=(source or "").strip(),
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise UserError(f"The start date {filters.since} is after the end date {filters.until}.")
    return filters


def metadata_date(value: str) -> str:
    """A date found in a file's or a feed's metadata as ISO ``YYYY-MM-DD``; "" when there is none.

    Takes ISO timestamps, PDF dates (``D:20230505120000Z``) and what ``dateparser`` reads.
    """
    text = value.strip().removeprefix("D:")
    if re.fullmatch(r"\d{8}(\d{6})?.*", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    try:
        parsed = parse_day(text)
    except UserError:
        return ""
    return parsed.isoformat() if parsed else ""
