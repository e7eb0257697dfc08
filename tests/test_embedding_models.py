"""Embedding models besides the packaged MiniLM.

The packaged nomic-embed-text runs through llama.cpp. The embedding servers (OpenAI-compatible,
Ollama) are scripted servers on loopback that embed with the real packaged MiniLM, so what is
tested is our client side of their APIs.
"""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

from rag.embed import Embedder
from rag.errors import ModelUnavailableError, UserError
from rag.index import Index
from rag.pipeline import Assistant
from rag.types import Filters
from tests.loopback import send, serving

QUESTION = "Which militias were struck?"
ANSWER = "Kata’ib Hezbollah"


def nearest_texts(index: Index, question: str, k: int = 3) -> list[str]:
    """The texts of the ``k`` chunks nearest to ``question`` by embeddings alone (no BM25)."""
    found = index.dense_search(index.embedder.encode_query(question), k, Filters(), None)
    return [chunk.text for chunk in index.chunks([chunk_id for chunk_id, _ in found])]


def test_packaged_nomic_embeds_with_its_task_prefixes_and_ranks_the_answer(settings, corpus):
    nomic = settings.model_copy(update={"embedding_model": "packaged:nomic-embed-text-v1.5"})
    embedder = Embedder.from_settings(nomic)
    assert (embedder.backend, embedder.dimension) == ("llama.cpp", 768)
    query, document = embedder.encode_query(QUESTION), embedder.encode([QUESTION])[0]
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    assert float(query @ document) < 0.99, "a query and a document are embedded with different prefixes"

    index = Index(nomic, embedder, create=True)
    index.ingest([corpus])
    assert any(ANSWER in text for text in nearest_texts(index, QUESTION))

    assistant = Assistant(nomic, embedder=embedder, index=index)
    assert assistant.sentence_embedder.name == "packaged:all-MiniLM-L6-v2"
    reply = assistant.ask(QUESTION)
    assert ANSWER in reply.answer and reply.citations


class EmbeddingServer(BaseHTTPRequestHandler):
    """OpenAI's ``/v1/embeddings`` and Ollama's ``/api/embed``, embedding with MiniLM."""

    embedder: Embedder
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.requests.append(body)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        vectors = self.embedder.encode(texts)
        if self.path.endswith("/api/embed"):
            payload = {"model": body["model"], "embeddings": vectors.tolist()}
        else:
            as_base64 = body.get("encoding_format") == "base64"
            payload = {
                "object": "list",
                "model": body["model"],
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if as_base64 else v.tolist(),
                    }
                    for i, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        send(self, json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def embedding_server(embedder, monkeypatch):
    EmbeddingServer.embedder = embedder
    EmbeddingServer.requests = []
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with serving(EmbeddingServer) as url:
        yield url


@pytest.mark.parametrize("provider", ["openai", "ollama"])
def test_an_embedding_server_indexes_and_searches(provider, settings, corpus, embedder, embedding_server):
    served = settings.model_copy(
        update={
            "embedding_model": f"{provider}:minilm",
            "openai_base_url": f"{embedding_server}/v1",
            "ollama_base_url": embedding_server,
        }
    )
    remote = Embedder.from_settings(served)
    assert remote.backend == provider
    vectors = remote.encode([QUESTION, ANSWER])
    assert np.allclose(vectors, embedder.encode([QUESTION, ANSWER]), atol=1e-5)
    assert EmbeddingServer.requests[-1]["model"] == "minilm"

    index = Index(served, remote, create=True)
    index.ingest([corpus])
    assert any(ANSWER in text for text in nearest_texts(index, QUESTION))
    assert Assistant(served, embedder=remote, index=index).sentence_embedder is not remote


def test_an_unreachable_embedding_server_is_a_clear_error(settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        Embedder.from_settings(settings.model_copy(update={"embedding_model": "openai:minilm"}))
    down = settings.model_copy(update={"embedding_model": "openai:minilm", "openai_base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(ModelUnavailableError, match=r"embedding server \(openai\) did not answer"):
        Embedder.from_settings(down)
    with pytest.raises(UserError, match="No GGUF file"):
        Embedder.from_settings(settings.model_copy(update={"embedding_model": "gguf:/nonexistent/model.gguf"}))
