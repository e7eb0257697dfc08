"""An OpenAI-compatible chat server (a scripted one on loopback) behind `--llm openai:`.

Such a backend has no refusal probe, so the answer checks alone must keep it grounded: a
supported answer is cited, an invented one is withheld, and its own refusal is honoured.
"""

import json
from http.server import BaseHTTPRequestHandler

import pytest

from rag.pipeline import Assistant
from tests.loopback import send, serving


class ScriptedChat(BaseHTTPRequestHandler):
    """Answers every chat completion with the next scripted reply, streamed or not."""

    replies: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = self.replies.pop(0) if self.replies else "NOT IN ARTICLES"
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for piece in (text[: len(text) // 2], text[len(text) // 2 :]):
                chunk = {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "m",
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        payload = json.dumps(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        send(self, payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def openai_server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with serving(ScriptedChat) as url:
        yield f"{url}/v1"


def assistant_for(index, base_url, *replies):
    ScriptedChat.replies = list(replies)
    settings = index.settings.model_copy(update={"llm": "openai:scripted", "openai_base_url": base_url})
    return Assistant(settings, embedder=index.embedder, index=index)


def test_a_supported_answer_is_cited(index, openai_server):
    reply = assistant_for(index, openai_server, "ANSWER: about 2,500 [1]").ask("How many U.S. troops remain in Iraq?")
    assert not reply.abstained and "2,500" in reply.answer and reply.citations
    assert reply.p_refusal is None, "an OpenAI-compatible server gives no refusal probability"


def test_an_invented_answer_is_withheld(index, openai_server):
    reply = assistant_for(index, openai_server, "ANSWER: 40,000 [1]", "ANSWER: 40,000 [1]").ask(
        "How many U.S. troops remain in Iraq?"
    )
    assert reply.abstained and reply.withheld_by == "support" and not reply.citations


def test_the_models_own_refusal_is_honoured(index, openai_server):
    reply = assistant_for(index, openai_server, "NOT IN ARTICLES").ask("Who won the 2020 World Cup?")
    assert reply.abstained and reply.withheld_by == "model"
    assert reply.answer.startswith("The articles don't say")
