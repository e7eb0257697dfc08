import pytest

from rag.answer import (
    clean_condensed,
    needs_condensing,
    parse_draft,
    stream_answer_text,
)
from rag.pipeline import sanitize_question


def test_parse_two_line_reply():
    draft = parse_draft("ANSWER: About 2,500 troops remain [2].\nSHORT: about 2,500")
    assert not draft.refused
    assert draft.answer == "About 2,500 troops remain [2]."
    assert draft.short == "about 2,500"


@pytest.mark.parametrize("raw", ["NOT IN ARTICLES", "ANSWER: NOT IN ARTICLES", "",
                                 "ANSWER: The passages do not mention it.\nSHORT: not mentioned"])
def test_refusals(raw):
    assert parse_draft(raw).refused


def test_stream_hides_labels_and_short_line():
    tokens = ["ANS", "WER", ": About", " 2,500", " troops", " [2]", ".", "\n", "SHORT", ": 2,500"]
    assert "".join(stream_answer_text(iter(tokens))) == "About 2,500 troops [2]."


def test_stream_of_refusal_shows_nothing():
    assert "".join(stream_answer_text(iter(["NOT", " IN", " ART", "ICLES"]))) == ""


def test_follow_up_detection():
    history = [("Who is Saeed Khatibzadeh?", "A spokesman [1].")]
    assert needs_condensing("What did he say about the United States?", history)
    assert needs_condensing("And that group?", history)
    assert not needs_condensing("What did he say?", [])
    assert not needs_condensing("How many troops remain in Iraq?", history)


def test_condensed_output_is_cleaned():
    assert clean_condensed('Rewritten question: "What did Khatibzadeh say?"\nextra', "q") == "What did Khatibzadeh say?"
    assert clean_condensed("", "original") == "original"


@pytest.mark.parametrize("raw", [None, "", "   \n\t ", "\x00\x01\x02"])
def test_empty_questions(raw):
    assert sanitize_question(raw, 100)[0] == ""


def test_long_and_odd_questions_are_bounded():
    text, notes = sanitize_question("why " * 10_000, 2000)
    assert len(text) <= 2000 and notes
    text, _ = sanitize_question("bad \udcff surrogate\x07 and ünïcode", 100)
    assert "surrogate" in text and "\x07" not in text
    text.encode("utf-8")
