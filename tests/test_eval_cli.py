"""`rag eval` end to end in extractive mode: suites, reports, comparison and CI gates."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.suites import load_jsonl, load_squad

from .conftest import ROOT, SEED_CORPUS

RAG = str(Path(sys.executable).parent / "rag")
SEED_SUITE = ROOT / "evals" / "suites" / "seed.jsonl"
SQUAD = ROOT.parent / "shared" / "data" / "squad2-dev-sample.json"


def rag(*args, cwd=None):
    """Run the CLI; the timeout only stops a hung run, with room for a machine busy with other work."""
    return subprocess.run([RAG, *args], capture_output=True, text=True, cwd=cwd, timeout=3600)


def test_seed_suite_shape():
    cases = load_jsonl(SEED_SUITE)
    assert sum(not c.unanswerable and not c.turns for c in cases) >= 40
    assert sum(c.unanswerable for c in cases) >= 10
    conversations = [c for c in cases if c.turns]
    assert len(conversations) >= 5 and all(len(c.turns) == 2 for c in conversations)
    assert all(c.answers for c in cases if not c.unanswerable)


@pytest.mark.skipif(not SQUAD.exists(), reason="needs ../shared/data beside the clone")
def test_squad_loader_makes_one_document_per_article(tmp_path):
    cases = load_squad(SQUAD, tmp_path / "corpus")
    assert len(cases) == 1494 and sum(c.unanswerable for c in cases) == 769
    assert len(list((tmp_path / "corpus").glob("*.txt"))) == 4
    sample = load_squad(SQUAD, tmp_path / "again", sample=20, seed=3)
    assert [c.id for c in sample] == [c.id for c in load_squad(SQUAD, tmp_path / "third", sample=20, seed=3)]


def test_eval_writes_reports_compares_and_gates(tmp_path):
    out = tmp_path / "run1"
    done = rag(
        "eval",
        str(SEED_SUITE),
        "--llm",
        "extractive",
        "--corpus",
        str(SEED_CORPUS),
        "--sample",
        "15",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "SQuAD F1" in done.stdout and "answer accuracy" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["llm"] == "extractive" and report["run"]["machine"]["cpus"]
    assert report["run"]["embedding_backend"] == "onnx-int8" and report["run"]["refusal_threshold"] == 0.05
    assert report["metrics"]["questions"] == 15
    assert 0 <= report["metrics"]["retrieval_hit_at_k"] <= 100
    assert "refusal_auc" not in report["metrics"], "extractive mode has no refusal probability"
    low, high = report["metrics"]["answer_accuracy_interval"]
    assert low <= report["metrics"]["answer_accuracy"] <= high and high - low > 10, "15 questions say little"
    assert all(isinstance(c["reply"]["notes"], list) for c in report["cases"])
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<script" not in page

    again = rag(
        "eval",
        str(SEED_SUITE),
        "--llm",
        "extractive",
        "--corpus",
        str(SEED_CORPUS),
        "--sample",
        "15",
        "--compare",
        str(out / "report.json"),
        "--min-refusal",
        "50",
    )
    assert "compared with the earlier report" in again.stdout
    assert "0 fixed against 0 broken: sign test p = 1.00, within the churn" in again.stdout, "same cases, same run"
    assert again.returncode != 0 and "below threshold: refusal_recall" in again.stderr


def test_eval_runs_only_the_cases_named_and_refuses_an_id_it_does_not_have(tmp_path):
    base = ["eval", str(SEED_SUITE), "--llm", "extractive", "--corpus", str(SEED_CORPUS), "--half", "tune"]
    done = rag(*base, "--case", "a05", "--case", "a03", "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert [c["case"]["id"] for c in report["cases"]] == ["a03", "a05"], "the suite's order, only those"
    assert report["run"]["cases"] == ["a05", "a03"]

    other_half = rag(*base, "--case", "a03", "--case", "a01")
    assert other_half.returncode != 0
    assert "no case a01 in the cases chosen" in other_half.stderr and "Traceback" not in other_half.stderr


@pytest.mark.llm
@pytest.mark.skipif(not SQUAD.exists(), reason="needs ../shared/data beside the clone")
def test_squad_sample_with_the_local_model_keeps_its_floor(tmp_path):
    done = rag("eval", str(SQUAD), "--sample", "24", "--seed", "0", "--out", str(tmp_path), "--min-f1", "40")
    report = json.loads((tmp_path / "report.json").read_text())
    print(
        "SQuAD CI sample:",
        {k: round(v, 1) if isinstance(v, float) else v for k, v in report["metrics"].items() if not k.endswith("_s")},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert report["run"]["model"].startswith("local:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf:sha256=cc324af0")
    assert 0 <= report["metrics"]["refusal_auc"] <= 100
    assert all(c["reply"]["p_refusal"] is not None for c in report["cases"] if not c["reply"]["abstained"])
