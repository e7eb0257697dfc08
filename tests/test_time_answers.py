"""The real local model answers as of a date: the same question at two dates, two right answers."""

from datetime import date

import pytest

from rag.pipeline import Assistant
from rag.types import Filters


@pytest.fixture(scope="module")
def assistant(time_index_settings, embedder) -> Assistant:
    return Assistant(time_index_settings.model_copy(update={"llm": "local"}), embedder=embedder)


@pytest.mark.parametrize(
    "as_of,right,wrong,dated",
    [
        (date(2022, 6, 1), "Ortiz", "Reyes", "March 2, 2021"),
        (date(2024, 6, 1), "Reyes", "Lena Ortiz", "March 6, 2023"),
    ],
)
def test_the_same_question_at_two_dates(assistant, as_of, right, wrong, dated):
    reply = assistant.ask("Who is the mayor of Port Alder?", filters=Filters(as_of=as_of))
    assert not reply.abstained, reply.notes
    assert right in reply.answer and wrong not in reply.answer
    assert reply.answer.startswith(f"As of {dated}:")
    assert reply.citations and all(c.date and c.date <= as_of.isoformat() for c in reply.citations)
    assert right in reply.citations[0].text
    assert reply.as_of == as_of.isoformat()


def test_a_named_year_is_answered_from_that_year(assistant):
    reply = assistant.ask("Who won the 2020 Meridian Prize?")
    assert not reply.abstained, reply.notes
    assert "Berg" in reply.answer
    assert reply.citations[0].date == "2020-10-08"


def test_asked_who_holds_a_post_the_one_who_left_it_is_not_the_answer(assistant):
    reply = assistant.ask("Who is the chief executive of Northwind Rail?", filters=Filters(as_of=date(2023, 5, 1)))
    assert not reply.abstained, reply.notes
    assert "Moreau" in reply.answer and "Brandt" not in reply.answer
    assert any("left that post" in note for note in reply.notes)
    assert "Moreau" in reply.citations[0].text
