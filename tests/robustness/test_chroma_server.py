"""Chroma server mode for real: `chroma run` on a loopback port; ingest, ask, re-ingest, lose it."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.errors import IndexUnavailableError
from rag.index import Index
from rag.pipeline import Assistant
from rag.settings import Settings
from tests.conftest import SEED_ARTICLE, free_port
from ui.app import ChatApp, create_app

CHROMA = Path(sys.executable).parent / "chroma"
RAG = str(Path(sys.executable).parent / "rag")


class ChromaServer:
    """The chromadb package's own server, started and stopped like an operator would."""

    def __init__(self, data: Path) -> None:
        self.data, self.port, self.process = data, free_port(), None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail("chroma run did not start in 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server_settings(chroma_server, tmp_path) -> Settings:
    return Settings(
        index_dir=tmp_path / "app",
        chroma_host="127.0.0.1",
        chroma_port=chroma_server.port,
        collection=f"news-{uuid.uuid4().hex[:8]}",
        llm="extractive",
    )


def test_ingest_ask_and_reingest_against_the_server(server_settings, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_ARTICLE, corpus / SEED_ARTICLE.name)
    flags = [
        "--index-dir",
        str(server_settings.index_dir),
        "--chroma-host",
        "127.0.0.1",
        "--chroma-port",
        str(server_settings.chroma_port),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {"RAG_COLLECTION": server_settings.collection, "RAG_LLM": "extractive"}

    def rag(*args: str) -> str:
        done = subprocess.run([RAG, *args, *flags], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "1 added" in rag("ingest", str(corpus), "--no-progress")
    assert not (server_settings.index_dir / "chroma").exists(), "server mode must not write an embedded store"
    assert "Kata" in rag("ask", "Which militias were struck?")

    (corpus / "harbour.txt").write_text("Harbour Reopens\n\nThe harbour in Port Elin reopened on Tuesday.")
    assert "1 added, 0 updated, 1 unchanged" in rag("ingest", str(corpus), "--no-progress")
    assert "Tuesday" in rag("ask", "When did the harbour in Port Elin reopen?")


def test_lost_server_gives_a_clear_error_and_service_resumes(chroma_server, server_settings, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_ARTICLE, corpus / SEED_ARTICLE.name)
    Index(server_settings, embedder, create=True).ingest([corpus])
    assistant = Assistant(server_settings, embedder=embedder)
    api = TestClient(create_app(assistant))
    assert not assistant.ask("Which militias were struck?").abstained

    chroma_server.stop()
    try:
        with pytest.raises(IndexUnavailableError, match="not answering"):
            assistant.ask("Which militias were struck?")
        response = api.post("/api/ask", json={"question": "Which militias were struck?"})
        assert response.status_code == 503 and "Chroma server" in response.json()["detail"]
        assert api.get("/api/health").status_code == 503
        chat_updates = list(ChatApp(assistant).respond("Which militias were struck?", []))
        assert "not answering" in chat_updates[-1][1][-1]["content"]
    finally:
        chroma_server.start()

    reply = assistant.ask("Which militias were struck?")
    assert not reply.abstained and "Kata" in reply.answer
    assert api.post("/api/ask", json={"question": "Which militias were struck?"}).status_code == 200
