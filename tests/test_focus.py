import pytest

from rag import focus
from rag.types import Chunk

STORY = (
    "The Harlow Rowing Club said its boat house had flooded overnight.\n"
    "“We will rebuild before the spring regatta,” it said in a statement.\n"
    "The river rose two metres on Monday, the highest level this decade.\n"
    "Harlow Council said the riverside road by the rowing club would stay closed for a week.\n"
    "Rowing clubs across the county said they had moved boats to higher ground."
)
QUESTION = "What did the Harlow Rowing Club say?"


@pytest.fixture
def story() -> list[Chunk]:
    return [Chunk(chunk_id="harlow#0", doc_id="harlow", text=STORY, start=0, end=len(STORY), title="Floods")]


def test_a_quote_attributed_to_the_subject_of_the_sentence_before_ranks_with_it(embedder, story):
    ranked = [s.text for s in focus.rank_sentences(QUESTION, story, embedder)]
    quote = next(text for text in ranked if "rebuild" in text)
    assert ranked.index(quote) < ranked.index(next(text for text in ranked if text.startswith("Rowing clubs")))


def test_sentences_that_do_not_refer_back_keep_their_own_score(embedder, story, monkeypatch):
    carried = {s.text: s.score for s in focus.rank_sentences(QUESTION, story, embedder)}
    monkeypatch.setattr(focus, "CARRY", 0.0)
    plain = {s.text: s.score for s in focus.rank_sentences(QUESTION, story, embedder)}
    changed = {text for text in plain if plain[text] != carried[text]}
    assert changed == {next(text for text in plain if "rebuild" in text)}


def test_the_chunk_that_carries_on_a_passage_by_referring_back_is_added(story):
    first = story[0]
    quote = "“We will row again by May,” the club said in a statement."
    follows = Chunk(
        chunk_id="harlow#1", doc_id="harlow", text=quote, start=first.end + 2, end=first.end + 2 + len(quote)
    )
    other = Chunk(
        chunk_id="harlow#2", doc_id="harlow", text="The regatta is in May.", start=follows.end + 2, end=follows.end + 24
    )
    assert focus.continuations(story, [first, follows, other]) == [follows]
    assert focus.continuations(story, [first, other]) == []
    unrelated = Chunk(
        chunk_id="harlow#1", doc_id="harlow", text="The regatta is in May.", start=first.end + 2, end=first.end + 24
    )
    assert focus.continuations(story, [first, unrelated]) == []
