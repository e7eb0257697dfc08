"""Faults: a killed ingest, two ingests at once, damaged BM25 files. Real processes, real Chroma."""

import csv
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.chunk import chunk
from rag.clean import clean
from rag.index import Index, fingerprint
from rag.load import load_file
from rag.settings import Settings

RAG = str(Path(sys.executable).parent / "rag")
NEWS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bbc-news-1249.csv"


def news_corpus(folder: Path, count: int) -> Path:
    """``count`` BBC articles from the shared data, one file each."""
    if not NEWS.exists():
        pytest.fail(f"{NEWS} is missing: the shared data must sit beside the clone")
    folder.mkdir(parents=True)
    with NEWS.open(newline="", encoding="utf-8") as handle:
        for i, row in zip(range(count), csv.DictReader(handle), strict=False):
            (folder / f"bbc-{i:04d}.txt").write_text(row["text"], encoding="utf-8")
    return folder


def ingest_command(corpus: Path, index_dir: Path) -> list[str]:
    return [RAG, "ingest", str(corpus), "--index-dir", str(index_dir), "--no-progress"]


def run_ingest(corpus: Path, index_dir: Path, timeout: float, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ingest_command(corpus, index_dir),
        capture_output=True,
        text=True,
        cwd=corpus.parent,
        timeout=timeout,
        env=os.environ | env,
    )


def start_ingest(corpus: Path, index_dir: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ingest_command(corpus, index_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=corpus.parent,
        env=os.environ | env,
    )


def wait_for_chunks_on_disk(process: subprocess.Popen, index_dir: Path, min_bytes: int) -> None:
    """Block until the ingest has written ``min_bytes`` of Chroma data, while it still runs."""
    deadline = time.time() + 300
    while time.time() < deadline:
        assert process.poll() is None, "the ingest finished before it could be interrupted"
        folder = index_dir / "chroma"
        written = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0
        if written >= min_bytes:
            return
        time.sleep(0.05)
    pytest.fail("the ingest wrote nothing in 300 s")


def assert_index_matches_corpus(index: Index, corpus: Path) -> None:
    """Every file's chunks are stored exactly once (a wire copy's not at all), and BM25 holds exactly Chroma's."""
    settings = index.settings
    expected: set[str] = set()
    index.wire_copies.load()
    copies = {copy.source for copy in index.wire_copies.copies.values()}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(corpus.parent)
        for path in sorted(corpus.iterdir()):
            if path.relative_to(corpus.parent).as_posix() in copies:
                continue
            article = clean(load_file(path.relative_to(corpus.parent)))
            expected |= {c.chunk_id for c in chunk(article, settings.chunk_size, settings.chunk_overlap)}
    stored = index._all_ids()
    assert len(stored) == len(set(stored)) == index.count()
    assert set(stored) == expected
    documents = index.documents()
    assert len(documents) == len(list(corpus.iterdir()))
    index.bm25.loaded = False
    assert index.bm25.load()
    assert index.bm25.fingerprint == fingerprint(stored)


def test_killed_ingest_is_finished_by_the_next_one(tmp_path, embedder):
    corpus = news_corpus(tmp_path / "corpus", 120)
    index_dir = tmp_path / "index"
    first = start_ingest(corpus, index_dir)
    wait_for_chunks_on_disk(first, index_dir, min_bytes=1_500_000)
    first.send_signal(signal.SIGKILL)
    first.wait()

    index = Index(Settings(index_dir=index_dir), embedder)
    partial = index.count()
    second = run_ingest(corpus, index_dir, timeout=600)
    assert second.returncode == 0, second.stderr
    index = Index(Settings(index_dir=index_dir), embedder)
    assert 0 < partial < index.count()
    assert_index_matches_corpus(index, corpus)


def test_second_ingest_is_told_the_index_is_busy(tmp_path, embedder):
    corpus = news_corpus(tmp_path / "corpus", 300)
    index_dir = tmp_path / "index"
    first = start_ingest(corpus, index_dir)
    wait_for_chunks_on_disk(first, index_dir, min_bytes=500_000)
    second = run_ingest(corpus, index_dir, timeout=300, RAG_INGEST_WAIT_S="1")
    assert first.poll() is None, "the first ingest ended before the second one started"
    assert second.returncode != 0
    assert "is busy" in second.stderr and "Traceback" not in second.stderr
    _, errors = first.communicate(timeout=600)
    assert first.returncode == 0, errors
    assert_index_matches_corpus(Index(Settings(index_dir=index_dir), embedder), corpus)


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / "ids.json").write_text('{"ids": ["a", '),
        lambda folder: [f.write_bytes(os.urandom(64)) for f in (folder / "bm25").iterdir()],
        lambda folder: [f.unlink() for f in (folder / "bm25").iterdir()],
        lambda folder: (folder / "ids.json").write_text('{"ids": ["stale"], "fingerprint": "x"}'),
    ],
    ids=["truncated-ids", "garbage-arrays", "missing-arrays", "stale-ids"],
)
def test_damaged_bm25_is_rebuilt_from_chroma_with_a_warning(index, damage, caplog):
    ids = index._all_ids()
    damage(index.folder / "bm25")
    reopened = Index(index.settings, index.embedder)
    with caplog.at_level(logging.WARNING):
        reopened.ensure_bm25()
    hits = reopened.bm25.search("Kataib Hezbollah", 3)
    assert "rebuilding" in caplog.text
    assert hits and hits[0][0] in ids
    assert reopened.bm25.fingerprint == fingerprint(ids)


def test_index_changed_by_another_process_is_noticed(index, corpus, embedder):
    running = Index(index.settings.model_copy(update={"index_refresh_s": 0.0}), embedder)
    running.ensure_bm25()
    (corpus / "harbour.txt").write_text("Harbour Reopens\n\nThe harbour in Port Elin reopened on Tuesday.")
    index.ingest([corpus])
    running.ensure_bm25()
    assert running.bm25.search("Port Elin harbour", 1)
