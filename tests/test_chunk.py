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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Maj. Gen. Yahya Rasool spoke. Mr. Biden agreed. U.S. forces left.",
            ["Maj. Gen. Yahya Rasool spoke.", "Mr. Biden agreed.", "U.S. forces left."],
            id="abbreviations do not split sentences",
        ),
        pytest.param(
            "Radhakrishnan was on Sunday, Aug. 17, 2025, announced as the candidate. "
            "Sen. Li met Rev. Cole on Sept. 5. It opens at 9 a.m. ET on Monday.",
            [
                "Radhakrishnan was on Sunday, Aug. 17, 2025, announced as the candidate.",
                "Sen. Li met Rev. Cole on Sept. 5.",
                "It opens at 9 a.m. ET on Monday.",
            ],
            id="a date in news style stays in one sentence",
        ),
        pytest.param(
            "uk coal reported losses had deepened to £51.6m in 2004.  the uk s biggest coal producer blamed "
            "geological problems. in early trade on thursday  its shares were down 10% at 119 pence.",
            [
                "uk coal reported losses had deepened to £51.6m in 2004.",
                "the uk s biggest coal producer blamed geological problems.",
                "in early trade on thursday  its shares were down 10% at 119 pence.",
            ],
            id="text written in lower case splits into sentences",
        ),
        pytest.param(
            "Prices rose approx. five percent in the U.S. this year. Analysts were surprised.",
            ["Prices rose approx. five percent in the U.S. this year.", "Analysts were surprised."],
            id="a lower-case word after a period in ordinary text does not split",
        ),
    ],
)
def test_sentences(text, expected):
    assert [text[s:e] for s, e in split_sentences(text)] == expected


def test_lower_case_articles_chunk_on_sentence_boundaries(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(" ".join(f"the firm said sales in region {n} rose by {n}% last year." for n in range(40)))
    article = clean(load_file(path))
    for c in chunk(article, 300, 0):
        assert c.text.rstrip().endswith(".")
