"""Shared fixtures: the real packaged embedder, real Chroma indexes in temporary folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.embed import Embedder  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
SEED_ARTICLE = next(SEED_CORPUS.glob("*.txt"))
REPLY_KEYS = {
    "question",
    "standalone_question",
    "answer",
    "short_answer",
    "abstained",
    "citations",
    "timings",
    "notes",
    "p_refusal",
    "withheld_by",
    "as_of",
}
"""The keys of the JSON reply that `rag ask --json` and `POST /api/ask` both return."""
TIME_CORPUS = ROOT / "evals" / "suites" / "time-corpus"
"""Dated versions of evolving stories, written for the time-sensitive suite."""


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder.from_settings(Settings())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", corpus=tmp_path / "corpus", llm="extractive")


@pytest.fixture
def corpus(settings: Settings) -> Path:
    settings.corpus.mkdir(parents=True)
    shutil.copy(SEED_ARTICLE, settings.corpus / SEED_ARTICLE.name)
    return settings.corpus


@pytest.fixture
def index(settings: Settings, embedder: Embedder, corpus: Path) -> Index:
    built = Index(settings, embedder, create=True)
    built.ingest([corpus])
    return built


@pytest.fixture(scope="session")
def seed_index_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """One index of the seed corpus shared by the slow answering tests."""
    folder = tmp_path_factory.mktemp("seed")
    settings = Settings(index_dir=folder / "index", corpus=SEED_CORPUS)
    Index(settings, embedder, create=True).ingest([SEED_CORPUS])
    return settings


@pytest.fixture(scope="session")
def time_index_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """One index of the dated stories, plus one undated article, shared by the time tests."""
    folder = tmp_path_factory.mktemp("time")
    articles = folder / "articles"
    shutil.copytree(TIME_CORPUS, articles / "stories")
    (articles / "undated").mkdir()
    (articles / "undated" / "kesland-history.txt").write_text(
        "A short history of Kesland\n\nKesland's border between the northern and southern provinces was "
        "drawn in 1962. Peacekeepers first arrived after the clashes of 2013.\n",
        encoding="utf-8",
    )
    settings = Settings(index_dir=folder / "index", corpus=articles, llm="extractive")
    Index(settings, embedder, create=True).ingest([articles])
    return settings


@pytest.fixture(scope="session")
def local_assistant(seed_index_settings: Settings, embedder: Embedder):
    """The real default stack: packaged Qwen2.5-Coder-1.5B through llama.cpp."""
    from rag.pipeline import Assistant

    return Assistant(seed_index_settings.model_copy(update={"llm": "local"}), embedder=embedder)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, *options: str, articles: Path = SEED_ARTICLE) -> tuple[subprocess.Popen, str]:
    """`rag serve` over a copy of ``articles`` (a file or folder) in ``folder``, on a loopback port, once healthy."""
    corpus = folder / "corpus"
    if articles.is_dir():
        shutil.copytree(articles, corpus)
    else:
        corpus.mkdir()
        shutil.copy(articles, corpus / articles.name)
    port = free_port()
    log = folder / "server.log"
    command = [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port), *options]
    command += ["--index-dir", str(folder / "index"), "--corpus", str(corpus)]
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 1200
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("server did not start:\n" + log.read_text())


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory):
    """`rag serve` on a loopback port with the default local model; it indexes the corpus itself."""
    folder = tmp_path_factory.mktemp("server")
    process, url = start_server(folder)
    yield {"url": url, "index_dir": folder / "index"}
    stop_server(process)


@pytest.fixture(scope="session")
def time_server(tmp_path_factory: pytest.TempPathFactory):
    """`rag serve` over the dated stories of the time-sensitive suite, with the default local model."""
    folder = tmp_path_factory.mktemp("time-server")
    process, url = start_server(folder, articles=TIME_CORPUS)
    yield {"url": url, "index_dir": folder / "index"}
    stop_server(process)


def stop_server(process: subprocess.Popen) -> None:
    """Ask the server to stop; a server too busy to stop in time is killed (only its exit is at stake)."""
    process.terminate()
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, shared by the browser tests."""
    from tests.chat_page import CHROMIUM, FLAGS

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium chromium-driver (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()
