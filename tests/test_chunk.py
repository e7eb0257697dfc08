import pytest

from rag.chunk import chunk, split_sentences
from rag.clean import clean
from rag.load import load_file

from .conftest import SEED_ARTICLE


@pytest.fixture(scope="module")
def article():
    return clean(load_file(SEED_ARTICLE))


@pytest.mark.parametrize("size,overlap", [(200, 0), (400, 50), (600, 100), (1200, 200)])
def test_offsets_point_at_the_exact_text(article, size, overlap):
    chunks = chunk(article, size, overlap)
    assert chunks
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert len(c.text) <= size


def test_chunks_cover_the_whole_article(article):
    chunks = chunk(article, 400, 0)
    covered = "".join(article.text[c.start : c.end] for c in chunks)
    assert covered.replace(" ", "").replace("\n", "") == article.text.replace(" ", "").replace("\n", "")


def test_chunks_end_on_sentence_boundaries(article):
    for c in chunk(article, 600, 100):
        assert c.text.rstrip()[-1] in '.!?”"' or c.end == len(article.text) or c.text == article.title


def test_ids_are_stable_and_unique(article):
    first, second = chunk(article), chunk(article)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)


def test_abbreviations_do_not_split_sentences():
    text = "Maj. Gen. Yahya Rasool spoke. Mr. Biden agreed. U.S. forces left."
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == ["Maj. Gen. Yahya Rasool spoke.", "Mr. Biden agreed.", "U.S. forces left."]


def test_a_date_in_news_style_stays_in_one_sentence():
    text = (
        "Radhakrishnan was on Sunday, Aug. 17, 2025, announced as the candidate. "
        "Sen. Li met Rev. Cole on Sept. 5. It opens at 9 a.m. ET on Monday."
    )
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "Radhakrishnan was on Sunday, Aug. 17, 2025, announced as the candidate.",
        "Sen. Li met Rev. Cole on Sept. 5.",
        "It opens at 9 a.m. ET on Monday.",
    ]


def test_text_written_in_lower_case_splits_into_sentences():
    text = (
        "uk coal reported losses had deepened to £51.6m in 2004.  the uk s biggest coal producer blamed "
        "geological problems. in early trade on thursday  its shares were down 10% at 119 pence."
    )
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "uk coal reported losses had deepened to £51.6m in 2004.",
        "the uk s biggest coal producer blamed geological problems.",
        "in early trade on thursday  its shares were down 10% at 119 pence.",
    ]


def test_a_lower_case_word_after_a_period_in_ordinary_text_does_not_split():
    text = "Prices rose approx. five percent in the U.S. this year. Analysts were surprised."
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == ["Prices rose approx. five percent in the U.S. this year.", "Analysts were surprised."]


def test_lower_case_articles_chunk_on_sentence_boundaries(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(" ".join(f"the firm said sales in region {n} rose by {n}% last year." for n in range(40)))
    article = clean(load_file(path))
    for c in chunk(article, 300, 0):
        assert c.text.rstrip().endswith(".")
