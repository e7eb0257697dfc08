"""Bad corpus files and bad questions: each is skipped or answered politely; nothing else is lost."""

import json
import os
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from rag.chunk import chunk
from rag.clean import clean
from rag.load import Skipped, load
from rag.pipeline import EMPTY_QUESTION_REPLY, Assistant
from rag.types import Article
from tests.conftest import SEED_ARTICLE

RAG = str(Path(sys.executable).parent / "rag")
BIG_FILE_MB = 50
LAST_LINE = "The last item was the lighthouse, which the council voted to repaint in green."


def write_big_text(path: Path, megabytes: int) -> None:
    """A long council record whose very last line says something no other line does."""
    line = "The council met again on Tuesday and discussed the harbour budget at length.\n"
    block = line * (2**20 // len(line))
    with path.open("w", encoding="utf-8") as out:
        out.write("Harbour Council Minutes\n\n")
        for _ in range(megabytes):
            out.write(block)
        out.write(f"\n{LAST_LINE}\n")


@pytest.fixture
def hostile_corpus(tmp_path: Path) -> Path:
    """The seed article, two good articles, and every kind of bad file the issue lists."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_ARTICLE, corpus / SEED_ARTICLE.name)
    (corpus / "latin1.txt").write_bytes(
        "Café Owners Protest\n\nCafé owners in Lyon protested against the new rent rules.".encode("latin-1")
    )
    (corpus / "malformed.html").write_text(
        "<html><head><title>Bridge Opens</title><body><div><p>The Elin bridge opened on Monday "
        "after two years of work, the mayor said.<p>Traffic <b>was heavy <i>all day.</div></span></td>"
        "<p><<>>&&bogus;"
    )
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "whitespace.md").write_text("  \n\t\n   ")
    (corpus / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    with zipfile.ZipFile(corpus / "archive.txt", "w") as archive:
        archive.writestr("inner.txt", "zipped text")
    write_big_text(corpus / "huge.txt", BIG_FILE_MB)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    os.mkfifo(corpus / "pipe.txt")
    return corpus


SKIPPED = ("empty.txt", "whitespace.md", "picture.txt", "archive.txt", "dangling.txt", "pipe.txt")


def test_loading_skips_each_bad_file_and_streams_the_big_one_in_bounded_memory(hostile_corpus):
    tracemalloc.start()
    results: dict[str, Article | Skipped] = {}
    big_parts = big_chunks = 0
    big_tail = ""
    for item in load([hostile_corpus], max_bytes=100 * 2**20, section_bytes=2**20):
        name = Path(item.source).name
        if name == "huge.txt":
            big_parts += 1
            big_chunks += len(chunk(clean(item)))
            big_tail = item.text[-200:]
        else:
            results[name] = item
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert {name for name, r in results.items() if isinstance(r, Skipped)} == set(SKIPPED)
    assert "regular file" in results["pipe.txt"].reason
    assert results["latin1.txt"].text.startswith("Café Owners Protest")
    assert big_parts >= BIG_FILE_MB and big_chunks > 50_000 and LAST_LINE in big_tail
    assert peak < 32 * 2**20, f"loading and chunking used {peak / 2**20:.1f} MB for a {BIG_FILE_MB} MB file"


def test_a_file_over_the_size_limit_is_skipped_unread(tmp_path):
    write_big_text(tmp_path / "huge.txt", 3)
    (skipped,) = load([tmp_path], max_bytes=2 * 2**20)
    assert isinstance(skipped, Skipped) and "MB limit" in skipped.reason


def test_ingest_warns_once_per_bad_file_and_indexes_the_rest(hostile_corpus, tmp_path):
    done = subprocess.run(
        [RAG, "ingest", str(hostile_corpus), "--index-dir", str(tmp_path / "index"), "--llm", "extractive"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING: Skipped ")]
    for name in SKIPPED:
        assert sum(name in line for line in warnings) == 1, (name, warnings)
    assert len(warnings) == len(SKIPPED)
    assert "4 added" in done.stdout and f"{len(SKIPPED)} failed" in done.stdout

    questions = [
        {"id": "bridge", "question": "When did the Elin bridge open?"},
        {"id": "last line", "question": "What did the council vote to repaint?"},
    ]
    asked = subprocess.run(
        [RAG, "ask", "--jsonl", "-", "--index-dir", str(tmp_path / "index")],
        input="\n".join(json.dumps(q) for q in questions),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=os.environ | {"RAG_LLM": "extractive"},
    )
    assert asked.returncode == 0, asked.stderr
    bridge, last_line = (json.loads(line) for line in asked.stdout.splitlines())
    assert "Monday" in bridge["answer"]
    assert "lighthouse" in last_line["answer"] and last_line["citations"][0]["source"].endswith("huge.txt")


@pytest.fixture
def extractive_assistant(index) -> Assistant:
    return Assistant(index.settings, embedder=index.embedder, index=index)


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x01\x1b\x7f\u200b", None])
def test_empty_questions_get_the_polite_prompt(extractive_assistant, question):
    reply = extractive_assistant.ask(question)
    assert reply.answer == EMPTY_QUESTION_REPLY and reply.abstained


def test_a_100k_character_question_is_truncated_with_a_note(extractive_assistant):
    question = "Which militias were struck? " + "please tell me " * 7000
    assert len(question) > 100_000
    reply = extractive_assistant.ask(question)
    assert len(reply.question) <= extractive_assistant.settings.max_question_chars
    assert any("shortened" in note for note in reply.notes)
    assert reply.answer


@pytest.mark.parametrize(
    "question",
    [
        "Which militias\x00 were\x07 struck?\x1b[2J",
        "Which militias were struck? \ud800\udfff broken surrogates",
        "Which \u202emilitias\u202c were struck?\ufeff",
        "¿Qué milicias fueron atacadas?",
        "ما هي الميليشيات التي تعرضت للهجوم؟",
        "哪些民兵组织遭到了袭击？",
    ],
)
def test_odd_characters_and_other_languages_are_answered_without_errors(extractive_assistant, question):
    reply = extractive_assistant.ask(question)
    assert reply.answer
    assert reply.to_dict()["answer"].encode("utf-8")
    assert not any(ord(ch) < 32 for ch in reply.question)
    assert "\ud800" not in reply.question
