"""The web chat in real headless Chromium (Debian's package) driven by Playwright."""

import json

import pytest

from tests.chat_page import ARTIFACTS, ask, open_chat, wait_until

pytestmark = pytest.mark.llm


def test_conversation_with_citations_follow_up_and_refusal(browser, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    page, dialogs = open_chat(browser, live_server["url"])
    page.wait_for_function("() => (document.querySelector('#articles')?.innerText ?? '').includes('Iraq Is Caught')")

    first = ask(page, "Which militias were struck?", "Iraq Is Caught in the Middle")
    assert "Sayyid al-Shuhada" in first["text"] and "Hezbollah" in first["text"]
    assert "[1] Iraq Is Caught in the Middle as U.S. and Iran Spar on Its Soil" in first["text"]
    assert page.locator("#chat strong", has_text="Hezbollah").count() >= 1

    ask(page, "Who is Saeed Khatibzadeh?", "Iraq Is Caught in the Middle")
    follow = ask(page, "What did he say about the United States?", "Iraq Is Caught in the Middle")
    assert "disrupt" in follow["text"].lower()

    refusal = ask(page, "Who won the 2020 World Cup?", "Closest")
    assert "Not in the articles" in refusal["text"]
    assert page.locator("#chat blockquote", has_text="Not in the articles").count() == 1
    assert page.locator("#chat [data-testid=bot]").count() == 4, "one message per answer, sources inside it"
    assert page.locator("#chat button[aria-label='Like']").count() == 4, "one feedback control per answer"
    assert page.locator("#chat details.sources").count() == 4

    page.screenshot(path=str(ARTIFACTS / "chat-1280x800.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "chat-390x844.png"), full_page=True)
    timings = {
        "first_token_s": round(first["first_token_s"], 2),
        "complete_s": round(first["complete_s"], 2),
    }
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings))
    print("browser timings (Which militias were struck?):", timings)
    assert dialogs == []


def test_markup_in_questions_is_shown_as_text(browser, live_server):
    page, dialogs = open_chat(browser, live_server["url"])
    question = "<img src=x onerror=alert(1)> <script>alert(2)</script> who is Farhad Alaaldin?"
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('#chat [data-testid=bot]').length > 0",
    )
    page.wait_for_timeout(1000)
    assert "<img src=x onerror=alert(1)>" in page.inner_text("#chat [data-testid=user]")
    assert page.locator("#chat img[src=x]").count() == 0
    assert dialogs == []


def test_clear_and_feedback(browser, live_server):
    page, _ = open_chat(browser, live_server["url"])
    ask(page, "How many U.S. troops remain in Iraq?", "Iraq Is Caught in the Middle")
    feedback = live_server["index_dir"] / "feedback.jsonl"
    before = len(feedback.read_text().splitlines()) if feedback.exists() else 0
    page.locator("#chat [data-testid=bot] button[aria-label='Like'], #chat button[aria-label='Like']").first.click()
    wait_until(lambda: feedback.exists() and len(feedback.read_text().splitlines()) > before)
    records = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert len(records) == before + 1 and records[-1]["liked"] is True
    assert "troops" in records[-1]["question"]
    page.click("#clear")
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=bot]').length === 0")


def test_upload_adds_articles_and_rejects_bad_files(browser, live_server, tmp_path):
    good = tmp_path / "harbour.md"
    good.write_text("# Harbour Reopens After Storm\n\nMay 2, 2023\n\nThe harbour in Port Elin reopened on Tuesday.")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x00\x00")
    page, _ = open_chat(browser, live_server["url"])
    page.get_by_role("tab", name="Add articles").click()
    page.set_input_files("#upload input[type=file]", [str(good), str(bad)])
    page.wait_for_function(
        "name => (document.querySelector('#upload')?.innerText ?? '').includes(name)", arg="harbour.md"
    )
    page.click("#add")
    page.wait_for_function("() => (document.querySelector('#upload-status')?.innerText ?? '').includes('added')")
    status = page.inner_text("#upload-status")
    assert "1 added" in status
    page.get_by_role("tab", name="Articles", exact=True).click()
    page.wait_for_function("() => (document.querySelector('#articles')?.innerText ?? '').includes('Harbour Reopens')")
