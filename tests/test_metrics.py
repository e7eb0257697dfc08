import pytest

from rag.metrics import (
    accuracy_interval,
    exact_match,
    f1,
    flip_test,
    normalize_answer,
    percentile,
    refusal_auc,
    score_reply,
)


@pytest.mark.parametrize(
    "text,normal",
    [
        ("The  Quick, brown fox!", "quick brown fox"),
        ("an apple a day", "apple day"),
        ("Kata’ib Hezbollah", "kataib hezbollah"),
        ("“Quoted”", "quoted"),
        ("", ""),
    ],
)
def test_squad_normalisation_with_curly_quotes(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_and_f1_like_the_reference_script():
    assert exact_match("the France", "France") == 1.0
    assert f1("about 2,500", "2,500") == pytest.approx(2 / 3)
    assert f1("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    assert f1("", "") == 1.0 and f1("something", "") == 0.0 and f1("", "gold") == 0.0
    assert f1("red blue", "green") == 0.0


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5], 95) == 5
    assert percentile([], 50) == 0.0


def test_refusal_auc_ranks_unanswerable_questions_by_refusal_probability():
    assert refusal_auc([(0.9, True), (0.8, True), (0.1, False), (0.2, False)]) == 100.0
    assert refusal_auc([(0.1, True), (0.9, False)]) == 0.0
    assert refusal_auc([(0.5, True), (0.5, False)]) == 50.0
    assert refusal_auc([(0.9, True), (0.3, True), (0.5, False), (None, False)]) == 50.0
    assert refusal_auc([(0.9, True), (None, False)]) is None


def reply(answer, short="", abstained=False, cited=""):
    citations = [{"text": cited}] if cited else []
    return {"answer": answer, "short_answer": short, "abstained": abstained, "citations": citations}


def test_accuracy_interval_narrows_with_more_questions():
    small, large = accuracy_interval(33, 66), accuracy_interval(330, 660)
    assert small[0] < 50 < small[1] and large[0] < 50 < large[1]
    assert small[1] - small[0] > 20 > large[1] - large[0]
    assert accuracy_interval(0, 0) == (0.0, 100.0)
    assert accuracy_interval(10, 10)[1] == 100.0 and accuracy_interval(10, 10)[0] > 60


def test_flip_test_tells_churn_from_a_real_change():
    assert flip_test(0, 0) == 1.0
    assert flip_test(4, 6) > 0.5, "a few answers moving each way is churn"
    assert flip_test(12, 1) < 0.01
    assert flip_test(3, 3) == 1.0


def test_score_answerable_and_unanswerable():
    case = {"answers": ["2,500"], "must": ["2,500"], "support": "2,500 U.S. troops"}
    good = score_reply(
        case,
        reply("About 2,500 [1].", "2,500", cited="about 2,500 U.S. troops remain"),
        retrieved=["about 2,500 U.S. troops remain"],
    )
    assert good["correct"] and good["citation_supported"] and good["em"] == 1.0 and good["retrieval_hit"]
    uncited = score_reply(case, reply("About 2,500.", "2,500"))
    assert not uncited["correct"]
    refused = score_reply({"unanswerable": True}, reply("The articles don't say.", abstained=True))
    assert refused["correct"] and refused["f1"] == 1.0
    guessed = score_reply({"unanswerable": True}, reply("Germany [1].", "Germany", cited="x"))
    assert not guessed["correct"] and guessed["f1"] == 0.0
