"""An Ollama server (a scripted one on loopback) behind `--llm ollama:`, through langchain-ollama.

Like an OpenAI-compatible server, it gives no refusal probability: the answer checks keep it
grounded.
"""

import json
from http.server import BaseHTTPRequestHandler

import pytest

from rag.pipeline import Assistant
from tests.loopback import send, serving


class ScriptedOllama(BaseHTTPRequestHandler):
    """Answers Ollama's ``/api/chat`` with the next scripted reply, as newline-delimited JSON."""

    replies: list[str] = []
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.requests.append(body)
        text = self.replies.pop(0) if self.replies else "NOT IN ARTICLES"
        pieces = [text[: len(text) // 2], text[len(text) // 2 :]] if body.get("stream", True) else [text]
        lines = [
            {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": p},
                "done": False,
            }
            for p in pieces
        ]
        lines.append(
            {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
            }
        )
        if not body.get("stream", True):
            lines = [{**lines[-1], "message": {"role": "assistant", "content": text}}]
        send(self, "".join(json.dumps(line) + "\n" for line in lines).encode(), "application/x-ndjson")

    def log_message(self, *args):
        pass


@pytest.fixture
def ollama_server():
    ScriptedOllama.requests = []
    with serving(ScriptedOllama) as url:
        yield url


def assistant_for(index, base_url, *replies):
    ScriptedOllama.replies = list(replies)
    settings = index.settings.model_copy(update={"llm": "ollama:scripted", "ollama_base_url": base_url})
    return Assistant(settings, embedder=index.embedder, index=index)


def test_an_ollama_answer_is_cited_and_an_invented_one_withheld(index, ollama_server):
    reply = assistant_for(index, ollama_server, "ANSWER: about 2,500 [1]").ask("How many U.S. troops remain in Iraq?")
    assert not reply.abstained and "2,500" in reply.answer and reply.citations
    assert reply.p_refusal is None
    assert ScriptedOllama.requests[-1]["model"] == "scripted"
    assert "2,500" in json.dumps(ScriptedOllama.requests[-1]["messages"]), "the excerpts reach the server"

    invented = assistant_for(index, ollama_server, "ANSWER: 40,000 [1]", "ANSWER: 40,000 [1]")
    reply = invented.ask("How many U.S. troops remain in Iraq?")
    assert reply.abstained and reply.withheld_by == "support" and not reply.citations
