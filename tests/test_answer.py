import re

import pytest
from langchain_core.messages import AIMessageChunk

from rag.answer import as_question, parse_draft, short_answer, stream_answer_text
from rag.condense import (
    REFERRING,
    clean_referent,
    condense,
    fits,
    needs_condensing,
    previous_entity,
    read_history,
    restates_last_turn,
    substitute_reference,
    without_else,
)
from rag.errors import UserError
from rag.pipeline import sanitize_question


def test_parse_answer_line():
    draft = parse_draft(
        "ANSWER: About 2,500 U.S. troops remain in Iraq [2].",
        "How many U.S. troops remain in Iraq?",
    )
    assert not draft.refused
    assert draft.answer == "About 2,500 U.S. troops remain in Iraq [2]."
    assert draft.short == "2,500"


@pytest.mark.parametrize(
    "answer,question,short",
    [
        (
            "Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah [1].",
            "Which militias were struck?",
            "Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah",
        ),
        ("Vienna [2].", "Where are the talks?", "Vienna"),
        ("Vienna,, [2]", "Where are the talks?", "Vienna"),
        (
            "Ebrahim Raisi became president in the recent elections in Iran [2].",
            "Who became president in the recent elections in Iran?",
            "Ebrahim Raisi",
        ),
        (
            "He said the United States was disrupting the security of the region [1].",
            "What did Saeed Khatibzadeh say about the United States?",
            "disrupting the security of the region",
        ),
    ],
)
def test_short_answer_is_the_new_information(answer, question, short):
    assert short_answer(answer, question) == short


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Who leads the militia?", "Who leads the militia?"),
        (
            "The team won the title for the first time since:",
            "Complete the sentence: The team won the title for the first time since ...",
        ),
        ("The prize rose to…", "Complete the sentence: The prize rose to ..."),
        ("A storm in which country forced an evacuation.", "A storm in which country forced an evacuation?"),
        ("who is the ceo", "who is the ceo?"),
        ("Tell me about the strikes.", "Tell me about the strikes."),
    ],
)
def test_quiz_statements_are_asked_as_questions(question, asked):
    assert as_question(question) == asked


@pytest.mark.parametrize(
    "raw",
    ["NOT IN ARTICLES", "ANSWER: NOT IN ARTICLES", "", "ANSWER: The passages do not mention it."],
)
def test_refusals(raw):
    assert parse_draft(raw).refused


def test_stream_hides_the_label_and_anything_after_the_line():
    tokens = ["ANS", "WER", ": About", " 2,500", " troops", " [2]", ".", "\n", "SHORT", ": 2,500"]
    consumed = []

    def source():
        for token in tokens:
            consumed.append(token)
            yield token

    assert "".join(stream_answer_text(source())) == "About 2,500 troops [2]."
    assert consumed == tokens


def test_stream_of_refusal_shows_nothing():
    assert "".join(stream_answer_text(iter(["NOT", " IN", " ART", "ICLES"]))) == ""


def test_follow_up_detection():
    history = [("Who is Saeed Khatibzadeh?", "A spokesman [1].")]
    assert needs_condensing("What did he say about the United States?", history)
    assert needs_condensing("And that group?", history)
    assert not needs_condensing("What did he say?", [])
    assert not needs_condensing("How many troops remain in Iraq?", history)


HISTORY = [
    (
        "Who is Saeed Khatibzadeh?",
        "Saeed Khatibzadeh is the spokesman for the Iranian Foreign Ministry [1].",
    )
]


@pytest.mark.parametrize(
    "question,referent,expected",
    [
        (
            "What did he say about the United States?",
            "Saeed Khatibzadeh",
            "What did Saeed Khatibzadeh say about the United States?",
        ),
        ("What is his job?", "Saeed Khatibzadeh", "What is Saeed Khatibzadeh's job?"),
        ("Who funds that group?", "Kata’ib Hezbollah", "Who funds Kata’ib Hezbollah?"),
        ("Where does their extortion take place?", "The militias", "Where does the militias' extortion take place?"),
        ("What are their names?", "Kata’ib Hezbollah", "What are Kata’ib Hezbollah's names?"),
        ("Their leader?", "The militias", "The militias' leader?"),
        ("What did it cost?", "The Guardian", "What did The Guardian cost?"),
        ("Who owns it?", "A regional airline", "Who owns a regional airline?"),
        ("What is her title?", "Ana Ruiz", "What is Ana Ruiz's title?"),
        ("What did the minister tell her?", "Ana Ruiz", "What did the minister tell Ana Ruiz?"),
        ("Why did the court fine her in 2019?", "Ana Ruiz", "Why did the court fine Ana Ruiz in 2019?"),
        ("Who chose her as captain?", "Ana Ruiz", "Who chose Ana Ruiz as captain?"),
    ],
)
def test_reference_substitution(question, referent, expected):
    match = REFERRING.search(question)
    assert match and substitute_reference(question, match, referent) == expected


@pytest.mark.parametrize(
    "word, referent, fits_it",
    [
        ("he", "the head of the think tank", True),
        ("that group", "Kata’ib Sayyid al-Shuhada", True),
        ("that group", "the Iraqi Resistance Coordination", True),
        ("those attacks", "the late-night drone attacks", True),
        ("those attacks", "The Iranian-backed militias", False),
        ("that deal", "the militias", False),
    ],
)
def test_a_referring_noun_takes_a_name_or_a_phrase_with_that_noun(word, referent, fits_it):
    assert fits(word, referent) is fits_it
    history = [("What did the militias use?", f"{referent} used drones.")]
    assert bool(clean_referent(referent, history, word)) is fits_it


class RecordingModel:
    """Plumbing only: streams ``reply`` piece by piece and records how much of it was read."""

    def __init__(self, reply: str) -> None:
        self.pieces = re.findall(r"\S+|\s+", reply)
        self.calls = 0
        self.read = 0

    def stream(self, messages):
        self.calls += 1
        for piece in self.pieces:
            self.read += 1
            yield AIMessageChunk(content=piece)


def test_the_referent_is_one_line_and_generation_stops_at_its_end():
    model = RecordingModel("\nSaeed Khatibzadeh\n\nConversation:\nUser: Who is he?\nAssistant: A spokesman.")
    assert (
        condense("What did he say about the talks?", HISTORY, model)
        == "What did Saeed Khatibzadeh say about the talks?"
    )
    assert model.read == model.pieces.index("\n\n") + 1 < len(model.pieces)


def test_reading_stops_once_the_line_is_too_long_to_be_a_referent():
    rambling = (
        "The question refers to the spokesman of the Iranian Foreign Ministry, who spoke about the talks "
        "in Vienna and about the strikes at length on Monday.\nMore."
    )
    assert not clean_referent(rambling, HISTORY, "he")
    no_referent = condense("What did he say about the talks?", HISTORY, RecordingModel("\n"))
    model = RecordingModel(rambling)
    assert condense("What did he say about the talks?", HISTORY, model) == no_referent
    assert model.read < model.pieces.index("\n"), "reading went on to the end of the line"


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        ([("Who runs Reliance Industries?", "Mukesh Ambani [1].")], "How old is he?", "How old is Mukesh Ambani?"),
        ([("Whom did they pick?", "C.P. Radhakrishnan [1].")], "What is her job?", "What is C.P. Radhakrishnan's job?"),
        ([("Which company did he join?", "Acme Corp [1].")], "What is his role?", None),
        ([("Who is Saeed Khatibzadeh?", "He is the spokesman [1].")], "What did he say?", None),
        ([("Who are the militias?", "Kata’ib Hezbollah [1].")], "What did they say?", None),
    ],
)
def test_he_or_her_after_a_name_that_answered_who_needs_no_model(history, question, expected):
    model = RecordingModel("")
    rewritten = condense(question, history, model)
    if expected is None:
        assert model.calls == 1
    else:
        assert (rewritten, model.calls) == (expected, 0)


def test_referent_must_come_from_the_conversation():
    assert clean_referent('"Saeed Khatibzadeh."\nmore', HISTORY) == "Saeed Khatibzadeh"
    assert clean_referent("He is Saeed Khatibzadeh", HISTORY) == "Saeed Khatibzadeh"
    assert clean_referent("Joe Biden", HISTORY) == ""
    assert clean_referent("", HISTORY) == ""
    assert re.search(r"\bhe\b", "What did he say?")


def test_a_pronoun_the_model_echoes_is_no_referent():
    history = [("What did the Iraqi government say?", "It said the strikes were a violation [1].")]
    assert clean_referent("It", history, "it") == ""
    assert clean_referent("The Iraqi government", history, "it") == "The Iraqi government"


def test_a_time_is_no_referent():
    history = [("When were the militias merged into the security force?", "In 2016 [1].")]
    assert clean_referent("In 2016", history, "them") == ""
    assert previous_entity(history) == ""
    assert clean_referent("the militias", history, "them") == "the militias"


@pytest.mark.parametrize(
    "previous_answer, entity",
    [
        ("Mr. al-Kadhimi [1].", "Mr. al-Kadhimi"),
        ("Iraqi Resistance Coordination [2].", "Iraqi Resistance Coordination"),
        ("Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah [1].", "Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah"),
        ("about 2,500 [2].", ""),
        ("The strikes hit two militias [1].", ""),
        ("The articles don't say. None of the passages I found answers it.", ""),
    ],
)
def test_a_previous_answer_stands_in_for_he_only_when_it_is_a_name(previous_answer, entity):
    assert previous_entity([("Who?", previous_answer)]) == entity
    assert previous_entity([]) == ""


@pytest.mark.parametrize("raw", [None, "", "   \n\t ", "\x00\x01\x02"])
def test_empty_questions(raw):
    assert sanitize_question(raw, 100)[0] == ""


def test_long_and_odd_questions_are_bounded():
    text, notes = sanitize_question("why " * 10_000, 2000)
    assert len(text) <= 2000 and notes
    text, _ = sanitize_question("bad \udcff surrogate\x07 and ünïcode", 100)
    assert "surrogate" in text and "\x07" not in text
    text.encode("utf-8")


def test_only_headline_questions_see_headlines():
    from rag.focus import with_headlines
    from rag.types import Chunk

    excerpt = Chunk("c1", "d1", "The harbour reopened.", 0, 21, "Harbour Reopens")
    assert with_headlines("When did the harbour reopen?", [excerpt]) == [excerpt]
    (headed,) = with_headlines("What is the headline of the article?", [excerpt])
    assert headed.text == "Headline: Harbour Reopens\nThe harbour reopened." and headed.title == "Harbour Reopens"


def test_demonstratives_that_point_back_make_a_follow_up():
    history = [("Who leads Pakistan's Asia Cup squad?", "Salman Agha [1].")]
    assert needs_condensing("Who coaches that team?", history)
    assert needs_condensing("When was that announced?", history)
    assert needs_condensing("When was that?", history)
    assert not needs_condensing("Who said that the squad was final?", history)


def test_asked_what_else_the_sentence_the_last_turn_was_about_is_set_aside():
    history = [("Which group said four of its fighters had been killed?", "Kata’ib Sayyid al-Shuhada [1].")]
    about_last_turn = "The group Kata’ib Sayyid al-Shuhada said four of its fighters had been killed in the strikes."
    new = "“We will go to open war with the American occupation,” the group said in a statement."
    restated = restates_last_turn("What else did that group say?", history)
    assert restated(about_last_turn) and not restated(new)
    assert not restates_last_turn("What did that group say?", history)(about_last_turn)
    asked_about_him = [("Who is Saeed Khatibzadeh?", "Spokesman for the Iranian Foreign Ministry [1].")]
    his_words = (
        "But Saeed Khatibzadeh, spokesman for the Iranian Foreign Ministry, said the United States "
        "was disrupting the security of the region."
    )
    assert not restates_last_turn("What else did he say?", asked_about_him)(his_words)
    assert without_else("What else did that group say?", history) == "What did that group say?"
    assert without_else("Who else was there?", []) == "Who else was there?"


def test_history_is_read_from_pairs_or_chat_messages():
    pairs = [["Who is Saeed Khatibzadeh?", "The spokesman [1]."]]
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Who is Saeed Khatibzadeh?"},
        {"role": "assistant", "content": "The spokesman [1]."},
        {"role": "user", "content": "What did he say?"},
    ]
    expected = [("Who is Saeed Khatibzadeh?", "The spokesman [1].")]
    assert read_history(pairs) == read_history(messages) == expected
    assert read_history(None) == read_history([]) == []
    for bad in ("Who is he?", [["only a question"]], [{"role": "user", "content": "Q"}, ["Q", "A"]], 42):
        with pytest.raises(UserError, match="history must be a list"):
            read_history(bad)
