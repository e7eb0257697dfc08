"""The machine interface, through the real `rag` command in extractive mode."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPLY_KEYS, SEED_CORPUS

RAG = str(Path(sys.executable).parent / "rag")
CITATION_KEYS = {"n", "doc_id", "title", "date", "date_source", "source", "text", "start", "end"}


def rag(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([RAG, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=1800)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> str:
    folder = str(tmp_path_factory.mktemp("cli") / "index")
    done = rag("ingest", str(SEED_CORPUS), "--index-dir", folder)
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout
    return folder


def test_ask_before_ingest_fails_clearly(tmp_path):
    done = rag("ask", "Anything?", "--index-dir", str(tmp_path / "none"), "--llm", "extractive")
    assert done.returncode != 0
    assert "run `rag ingest` first" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_dash_m_rag_is_the_rag_command(index_dir):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "ask",
            "How many U.S. troops remain in Iraq?",
            "--index-dir",
            index_dir,
            "--llm",
            "extractive",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    assert "2,500" in json.loads(done.stdout)["answer"]


def test_reingest_reports_unchanged(index_dir):
    done = rag("ingest", str(SEED_CORPUS), "--index-dir", index_dir)
    assert "0 added, 0 updated, 1 unchanged" in done.stdout


def test_ask_json(index_dir):
    done = rag(
        "ask",
        "Which militias were struck?",
        "--json",
        "--llm",
        "extractive",
        "--index-dir",
        index_dir,
    )
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert set(reply) == REPLY_KEYS
    assert not reply["abstained"]
    assert "Kata’ib Hezbollah" in reply["answer"] and "[1]" in reply["answer"]
    citation = reply["citations"][0]
    assert set(citation) == CITATION_KEYS
    article = SEED_CORPUS.joinpath(Path(citation["source"]).name).read_text()
    assert citation["title"] == "Iraq Is Caught in the Middle as U.S. and Iran Spar on Its Soil"
    assert citation["date"] == "2021-06-28"
    assert citation["text"] in article
    assert {"retrieve_s", "generate_s", "total_s"} <= set(reply["timings"])


def test_empty_question_is_answered_politely(index_dir):
    done = rag("ask", "   ", "--json", "--llm", "extractive", "--index-dir", index_dir)
    assert done.returncode == 0
    reply = json.loads(done.stdout)
    assert reply["abstained"] and "question" in reply["answer"].lower()


def test_jsonl_keeps_order_ids_and_conversations(index_dir):
    lines = "\n".join(
        [
            json.dumps({"id": "q1", "question": "How many U.S. troops remain in Iraq?"}),
            "this is not json",
            json.dumps(
                {
                    "id": "c1",
                    "turns": [
                        "Who is Saeed Khatibzadeh?",
                        "What did he say about the United States?",
                    ],
                }
            ),
            json.dumps({"id": "q2", "question": ""}),
            json.dumps(
                {
                    "id": "h1",
                    "question": "What did he say about the United States?",
                    "history": [["Who is Saeed Khatibzadeh?", "The spokesman for the Iranian Foreign Ministry [1]."]],
                }
            ),
            json.dumps({"id": "h2", "question": "What did he say?", "history": "Who is Saeed Khatibzadeh?"}),
        ]
    )
    done = rag("ask", "--jsonl", "-", "--llm", "extractive", "--index-dir", index_dir, stdin=lines)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == ["q1", None, "c1", "q2", "h1", "h2"]
    assert "2,500" in out[0]["answer"]
    assert "error" in out[1]
    assert len(out[2]["turns"]) == 2
    assert out[0]["standalone_question"] == "How many U.S. troops remain in Iraq?"
    assert "Khatibzadeh" in out[2]["turns"][1]["standalone_question"]
    assert "disrupting the security of the region" in out[2]["answer"]
    assert out[3]["abstained"]
    assert "Khatibzadeh" in out[4]["standalone_question"]
    assert "disrupting the security of the region" in out[4]["answer"]
    assert "history must be a list" in out[5]["error"]


def test_unknown_backend_is_a_clear_error(index_dir):
    done = rag("ask", "Q?", "--llm", "nonsense", "--index-dir", index_dir)
    assert done.returncode != 0 and "Unknown --llm" in done.stderr


def ask_militias(index_dir: str, *flags: str) -> subprocess.CompletedProcess:
    """The seed question, extractive, with extra ``flags`` (filters)."""
    return rag("ask", "Which militias were struck?", "--llm", "extractive", "--index-dir", index_dir, *flags)


def test_as_of_and_filters_from_the_command_line(index_dir):
    before = ask_militias(index_dir, "--json", "--as-of", "2021-01-01")
    assert before.returncode == 0, before.stderr
    reply = json.loads(before.stdout)
    # The only article is dated 2021-06-28: on New Year's Day 2021 it was not yet published.
    assert reply["abstained"] and reply["as_of"] == "2021-01-01"
    assert "No article matches the filters (as of 2021-01-01)" in reply["answer"]
    after = ask_militias(index_dir, "--json", "--as-of", "July 1, 2021", "--source", "*.txt")
    assert not json.loads(after.stdout)["abstained"]
    bad = ask_militias(index_dir, "--since", "the day after the storm")
    assert bad.returncode != 0
    assert "Could not read the start date" in bad.stderr and "Traceback" not in bad.stderr


def test_jsonl_lines_carry_their_own_as_of(index_dir):
    lines = "\n".join(
        [
            json.dumps({"id": "a", "question": "Which militias were struck?", "as_of": "2021-06-30"}),
            json.dumps({"id": "b", "question": "Which militias were struck?", "as_of": "someday"}),
            json.dumps({"id": "c", "question": "Which militias were struck?", "until": "2020-12-31"}),
        ]
    )
    done = rag("ask", "--jsonl", "-", "--llm", "extractive", "--index-dir", index_dir, stdin=lines)
    assert done.returncode == 0, done.stderr
    a, b, c = [json.loads(line) for line in done.stdout.splitlines()]
    assert not a["abstained"] and a["as_of"] == "2021-06-30"
    assert b["id"] == "b" and "Could not read the as-of date" in b["error"]
    assert c["abstained"] and "No article matches" in c["answer"]
