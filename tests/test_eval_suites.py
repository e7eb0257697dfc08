"""Suite halves, the RealTime QA folder as a suite, and the LangChain recipe baseline's plumbing."""

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from evals.baseline import run_baseline
from evals.report import compare, print_report, shown
from evals.run import index_suite, scorer_summary, withheld_counts
from evals.runner import Result, summarize
from evals.suites import Case, half_of, load_jsonl, load_realtimeqa, select_half, suite_corpus
from rag.index import Index
from rag.load import load

from .conftest import ROOT, SEED_CORPUS

REALTIMEQA = ROOT.parent / "shared" / "data" / "realtimeqa-dev"


def test_halves_are_fixed_by_the_id_and_split_a_suite_about_evenly():
    cases = load_jsonl(ROOT / "evals" / "suites" / "seed.jsonl")
    tune, check = select_half(cases, "tune"), select_half(cases, "check")
    assert len(tune) + len(check) == len(cases) and select_half(cases, "both") == cases
    assert {c.id for c in tune}.isdisjoint({c.id for c in check})
    assert 0.3 < len(tune) / len(cases) < 0.7
    assert all(half_of(c.id) == "tune" for c in tune) and half_of("a01") == half_of("a01")


@pytest.mark.skipif(not REALTIMEQA.exists(), reason="needs ../shared/data beside the clone")
def test_realtimeqa_folder_loads_as_a_suite_with_evidence():
    cases = load_realtimeqa(REALTIMEQA)
    assert len(cases) == 200 and sum(c.unanswerable for c in cases) == 50
    answerable = [c for c in cases if not c.unanswerable]
    assert all(c.answers and c.evidence for c in answerable)
    assert all(not c.answers for c in cases if c.unanswerable)


@pytest.mark.skipif(not REALTIMEQA.exists(), reason="needs ../shared/data beside the clone")
def test_the_suites_own_scorer_reads_our_replies(tmp_path):
    case = next(c for c in load_realtimeqa(REALTIMEQA) if not c.unanswerable)
    right = {
        "answer": f"{case.answers[0]} [1].",
        "short_answer": case.answers[0],
        "abstained": False,
        "citations": [{"source": f"articles/{case.evidence[0]}.txt", "doc_id": "x", "title": ""}],
    }
    scored = scorer_summary(REALTIMEQA, [Result(case, right, [right], {})], tmp_path)
    assert scored["acc"] == 1.0 and scored["cite"] == 1.0, scored
    wrong = right | {"answer": "Nobody [1].", "short_answer": "Nobody"}
    assert scorer_summary(REALTIMEQA, [Result(case, wrong, [wrong], {})], tmp_path)["acc"] == 0.0


def test_withheld_answers_are_counted_per_check():
    def result(unanswerable: bool, gate: str) -> Result:
        return Result(Case(id=gate, unanswerable=unanswerable), {"withheld_by": gate}, [], {})

    counts = withheld_counts([result(False, "names"), result(False, "names"), result(True, "probe"), result(True, "")])
    assert counts == {"answerable": {"names": 2}, "unanswerable": {"probe": 1}}


def test_a_half_without_unanswerable_questions_has_no_refusal_recall_rather_than_zero():
    scores = {"unanswerable": False, "abstained": False, "correct": True, "em": 1.0, "f1": 1.0}
    scores |= {"citation_supported": True, "retrieval_hit": True}
    metrics = summarize([Result(Case(id="a", question="Who?", answers=["x"]), {}, [], scores)])
    assert metrics["answer_accuracy"] == 100.0
    assert metrics["refusal_recall"] is None and shown(metrics, "refusal_recall") == "-"
    compared = compare({"metrics": {"refusal_recall": 50.0}}, {"metrics": metrics})
    assert "refusal_recall" not in [metric for metric, *_ in compared]


def test_a_run_over_both_halves_lists_only_the_tuning_half_s_failures(capsys):
    ids = [f"q{n}" for n in range(40)]
    tune, check = next(i for i in ids if half_of(i) == "tune"), next(i for i in ids if half_of(i) == "check")
    cases = [
        {"case": {"id": case_id, "question": f"Question {case_id}?", "answers": ["x"]}, "reply": {"answer": "y"}}
        | {"failed": True}
        for case_id in (tune, check)
    ]
    report = {
        "suite": "suite",
        "run": {"llm": "local"},
        "metrics": {"questions": 2},
        "cases": cases,
        "halves": {"tune": {"questions": 1}, "check": {"questions": 1}},
    }
    print_report(report)
    printed = capsys.readouterr().out
    assert f"Question {tune}?" in printed and f"Question {check}?" not in printed
    assert "1 failures on the check half are not listed" in printed


def test_the_recipe_baseline_answers_from_its_own_chunks_and_reads_dont_know_as_a_refusal(settings, embedder):
    cases = [
        Case(id="a", question="Which militias were struck?", answers=["Kata’ib Hezbollah"]),
        Case(id="u", question="Who won the 2020 World Cup?", unanswerable=True),
    ]
    model = FakeListChatModel(responses=["Kata’ib Hezbollah and another militia were struck.", "I don't know."])
    out = run_baseline(settings, embedder, SEED_CORPUS, cases, chat_model=model)
    assert out["metrics"]["answer_accuracy"] == 100.0 and out["metrics"]["refusal_recall"] == 100.0
    assert [c["correct"] for c in out["cases"]] == [True, True]
    assert json.dumps(out)


def test_a_suite_names_csv_rows_and_only_those_become_its_corpus(tmp_path):
    source = tmp_path / "news.csv"
    source.write_text(
        'category,url,text\nsport,https://a.example/1,"First story, about cricket."\n'
        'politics,https://a.example/2,"Second story."\nsport,,"Third story."\n',
        encoding="utf-8",
    )
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        json.dumps({"corpus": {"csv": "news.csv", "rows": [0, 2]}})
        + "\n"
        + json.dumps({"id": "q1", "question": "What is the first story about?", "answers": ["cricket"]})
        + "\n"
    )
    articles = list(load([suite_corpus(suite, tmp_path / "corpus")]))
    assert [(a.text, a.url) for a in articles] == [
        ("First story, about cricket.", "https://a.example/1"),
        ("Third story.", ""),
    ]
    assert [c.id for c in load_jsonl(suite)] == ["q1"]


def test_a_kept_suite_index_follows_the_suite_s_rows(tmp_path, settings, embedder):
    source = tmp_path / "news.csv"
    source.write_text(
        "category,url,text\n"
        'sport,https://a.example/1,"The Harbour Rovers beat the Valley Stars by two goals to one on Saturday."\n'
        'politics,https://a.example/2,"The city council approved a new tram line through the old town."\n',
        encoding="utf-8",
    )
    suite = tmp_path / "suite.jsonl"
    question = json.dumps({"id": "q1", "question": "Who beat the Valley Stars?", "answers": ["Harbour Rovers"]})
    kept = tmp_path / "suite-index"

    def indexed_urls(rows: list[int]) -> set[str]:
        suite.write_text(json.dumps({"corpus": {"csv": "news.csv", "rows": rows}}) + "\n" + question + "\n")
        _, articles, suite_settings = index_suite(suite, settings, embedder, tmp_path / "scratch", suite_index=kept)
        assert articles == kept / "articles" and suite_settings.index_dir == kept
        stored = Index(suite_settings, embedder).collection.get(include=["metadatas"])["metadatas"]
        return {m["url"] for m in stored}

    assert indexed_urls([0, 1]) == {"https://a.example/1", "https://a.example/2"}
    assert indexed_urls([1]) == {"https://a.example/2"}, "a row the suite dropped is not answered from"


def test_the_news_suite_has_every_kind_of_question():
    cases = load_jsonl(ROOT / "evals" / "suites" / "india-news.jsonl")
    kinds = {c.category for c in cases}
    assert {"who", "when", "how many", "yes-no", "two articles", "follow-up", "unanswerable"} <= kinds
    assert all(c.answers for c in cases if not c.unanswerable)


def test_each_half_of_the_unseen_seed_suite_has_follow_ups_yes_no_and_unanswerable_questions():
    cases = load_jsonl(ROOT / "evals" / "suites" / "seed-unseen.jsonl")
    seed_ids = {c.id for c in load_jsonl(ROOT / "evals" / "suites" / "seed.jsonl")}
    assert len({c.id for c in cases}) == len(cases) and seed_ids.isdisjoint(c.id for c in cases)
    for half in ("tune", "check"):
        chosen = select_half(cases, half)
        assert any(len(c.turns) > 1 for c in chosen) and any(c.unanswerable for c in chosen)
        assert any(c.category == "yes-no" and not c.unanswerable for c in chosen)


def test_the_snippet_suite_asks_every_event_in_years_it_has_and_years_it_lacks(tmp_path):
    suite = ROOT / "evals" / "suites" / "snippets.jsonl"
    cases = load_jsonl(suite)
    articles = list(load([suite_corpus(suite, tmp_path)]))
    assert len(articles) >= 50 and all(a.date for a in articles)
    named = [c for c in cases if not c.unanswerable]
    assert len(named) >= 30 and sum(c.unanswerable for c in cases) >= 20
    assert all(c.answers for c in named)
    bodies = " ".join(a.text for a in articles)
    assert all(any(answer in bodies for answer in c.answers) for c in named)


def test_every_bbc_answer_is_in_the_suite_s_articles(tmp_path):
    suite = ROOT / "evals" / "suites" / "bbc-news.jsonl"
    cases = load_jsonl(suite)
    articles = list(load([suite_corpus(suite, tmp_path)]))
    bodies = " ".join(a.text for a in articles)
    assert len(articles) == 519
    assert {"follow-up", "how many", "when", "who", "yes-no", "unanswerable"} <= {c.category for c in cases}
    assert {half_of(c.id) for c in cases if c.turns} == {"tune", "check"}
    for case in cases:
        if not case.unanswerable:
            assert any(m.lower() in bodies for m in case.must_any or case.answers), case.id
