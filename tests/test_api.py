"""POST /api/ask over real HTTP against a running `rag serve` with the local model."""

import httpx
import pytest

from .conftest import REPLY_KEYS

pytestmark = pytest.mark.llm


def test_ask_returns_the_cli_object(live_server):
    response = httpx.post(
        f"{live_server['url']}/api/ask",
        json={"question": "Which militias were struck?"},
        timeout=900,
    )
    assert response.status_code == 200
    reply = response.json()
    assert set(reply) == REPLY_KEYS
    assert "Hezbollah" in reply["answer"] and not reply["abstained"]
    assert reply["citations"][0]["title"].startswith("Iraq Is Caught")


def test_history_makes_follow_ups_work(live_server):
    history = [
        [
            "Who is Saeed Khatibzadeh?",
            "Saeed Khatibzadeh is the spokesman for the Iranian Foreign Ministry [1].",
        ]
    ]
    response = httpx.post(
        f"{live_server['url']}/api/ask",
        json={"question": "What did he say about the United States?", "history": history},
        timeout=900,
    )
    assert response.status_code == 200
    assert "disrupt" in response.json()["answer"].lower()
    messages = [{"role": role, "content": text} for role, text in zip(("user", "assistant"), history[0], strict=True)]
    as_messages = httpx.post(
        f"{live_server['url']}/api/ask",
        json={"question": "What did he say about the United States?", "history": messages},
        timeout=900,
    )
    assert as_messages.json()["answer"] == response.json()["answer"]


@pytest.mark.parametrize("body", [{"question": ""}, {"question": "   "}, {}])
def test_empty_questions_get_a_polite_reply(live_server, body):
    response = httpx.post(f"{live_server['url']}/api/ask", json=body, timeout=600)
    assert response.status_code == 200
    assert response.json()["abstained"]


def test_malformed_body_is_a_clear_client_error(live_server):
    response = httpx.post(
        f"{live_server['url']}/api/ask",
        content=b"not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422
    bad_history = httpx.post(
        f"{live_server['url']}/api/ask", json={"question": "What did he say?", "history": [["Who is he?"]]}, timeout=30
    )
    assert bad_history.status_code == 400 and "history must be a list" in bad_history.json()["detail"]


def test_as_of_and_filters_in_the_request(time_server):
    url = f"{time_server['url']}/api/ask"
    question = "How many peacekeepers remain in Kesland?"
    reply = httpx.post(url, json={"question": question, "as_of": "2023-02-01"}, timeout=900).json()
    assert reply["as_of"] == "2023-02-01" and not reply["abstained"], reply
    assert "2,500" in reply["answer"] and reply["answer"].startswith("As of July 8, 2022:")
    assert all(c["date"] <= "2023-02-01" for c in reply["citations"])
    none = httpx.post(url, json={"question": question, "source": "no-such-site.example"}, timeout=900).json()
    assert none["abstained"] and "No article matches the filters" in none["answer"]
    bad = httpx.post(url, json={"question": question, "until": "next blue moon"}, timeout=900)
    assert bad.status_code == 400 and "Could not read the end date" in bad.json()["detail"]
