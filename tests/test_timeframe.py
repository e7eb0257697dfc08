"""Dates a question is about: relative words against as_of, named years, parsing user dates."""

from datetime import date

import pytest

from rag.errors import UserError
from rag.timeframe import (
    build_filters,
    day_number,
    from_day_number,
    long_date,
    names_no_time,
    parse_day,
    question_frame,
    without_relative_time,
)

AS_OF = date(2023, 5, 5)  # a Friday


@pytest.mark.parametrize(
    "question,start,end",
    [
        ("What did the Pentagon say this week?", date(2023, 4, 29), AS_OF),
        ("Who resigned yesterday?", date(2023, 5, 4), date(2023, 5, 4)),
        ("What happened on Monday?", date(2023, 5, 1), date(2023, 5, 1)),
        ("Which team won last month?", date(2023, 4, 1), date(2023, 4, 30)),
        ("How many jobs were added this year?", date(2023, 1, 1), AS_OF),
        ("What was announced two days ago?", date(2023, 5, 3), date(2023, 5, 3)),
    ],
)
def test_relative_words_resolve_against_as_of(question, start, end):
    frame = question_frame(question, AS_OF)
    assert (frame.start, frame.end) == (start, end)
    assert frame.recent and not frame.named
    assert frame.asked_on == AS_OF


@pytest.mark.parametrize(
    "question,start,end",
    [
        ("Who won the 2018 Nobel Prize in Literature?", date(2018, 1, 1), date(2018, 12, 31)),
        ("How many troops were in Iraq in June 2021?", date(2021, 6, 1), date(2021, 6, 30)),
        ("What happened on June 28, 2021?", date(2021, 6, 28), date(2021, 6, 28)),
        ("Who won between 2019 and 2021?", date(2019, 1, 1), date(2021, 12, 31)),
    ],
)
def test_a_named_year_or_date_is_the_period_and_not_recent(question, start, end):
    frame = question_frame(question, AS_OF)
    assert (frame.start, frame.end) == (start, end)
    assert frame.named and not frame.recent


@pytest.mark.parametrize(
    "question", ["It cost $2019 in total.", "Turnout was 2020% higher?", "About 2,021 people came."]
)
def test_amounts_are_not_years(question):
    assert not question_frame(question, AS_OF).named


def test_without_as_of_the_question_is_asked_at_the_newest_article():
    frame = question_frame("Who is the mayor now?", None, now=date(2024, 1, 2))
    assert frame.as_of is None and frame.asked_on == date(2024, 1, 2)
    assert frame.recent and frame.about_present


def test_state_of_affairs_questions_are_told_apart_from_events():
    assert question_frame("Who is the spokesman for the ministry?", AS_OF).about_present
    assert question_frame("How many troops remain in Iraq?", AS_OF).about_present
    assert not question_frame("Which militias were struck?", AS_OF).about_present
    assert not question_frame("Who was the mayor in 2019?", AS_OF).about_present


def test_a_period_never_ends_after_as_of():
    frame = question_frame("Who won this month?", date(2023, 5, 2))
    assert frame.end == date(2023, 5, 2)


@pytest.mark.parametrize("text", ["2023-05-05", "5 May 2023", "May 5, 2023", " 2023-05-05 "])
def test_user_dates_in_common_forms(text):
    assert parse_day(text) == date(2023, 5, 5)


def test_empty_dates_mean_no_date_and_bad_ones_say_how_to_write_them():
    assert parse_day("") is None and parse_day(None) is None
    with pytest.raises(UserError, match="2023-05-05"):
        parse_day("the day after the storm", "as-of date")


def test_filters_from_user_input():
    filters = build_filters("2023-05-05", "2022-01-01", None, " cnn.com ")
    assert (filters.as_of, filters.since, filters.until, filters.source) == (AS_OF, date(2022, 1, 1), None, "cnn.com")
    assert filters.describe() == "as of 2023-05-05, since 2022-01-01, from “cnn.com”"
    with pytest.raises(UserError, match="after the end date"):
        build_filters(since="2023-02-01", until="2023-01-01")


def test_day_numbers_round_trip_and_undated_is_zero():
    assert day_number("2021-06-28") == 20210628
    assert from_day_number(20210628) == date(2021, 6, 28)
    assert day_number("") == 0 and from_day_number(0) is None
    assert long_date("2021-06-28") == "June 28, 2021"


@pytest.mark.parametrize(
    "question,expected",
    [
        ("The grocer this week recalled which cheese?", "The grocer recalled which cheese?"),
        (
            "On Saturday, Ashford beat Milton away for the first time since:",
            "Ashford beat Milton away for the first time since:",
        ),
        ("Which grain did the regulator recently add to its list?", "Which grain did the regulator add to its list?"),
        ("Which militias were struck?", "Which militias were struck?"),
        ("What happened this week?", "What happened this week?"),
    ],
)
def test_the_model_reads_the_question_without_relative_time_words(question, expected):
    assert without_relative_time(question) == expected


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("When was that?", "2014"),
        ("When will they hold the ceremony?", "Tuesday morning"),
        ("When were those elections?", "the month in which Raisi became president"),
        ("In what year were they merged?", "in 2016"),
        ("When did the talks resume?", "after the strikes"),
        ("What did he say when he was asked?", "nothing"),
    ],
)
def test_an_answer_to_when_that_names_a_time_passes(question, answer):
    assert not names_no_time(question, answer)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("When did he take up that post?", "spokesman for the Iranian Foreign Ministry"),
        ("On what day did the strikes happen?", "the Iraqi-Syrian border"),
    ],
)
def test_an_answer_to_when_without_any_time_is_another_answer(question, answer):
    assert names_no_time(question, answer)
