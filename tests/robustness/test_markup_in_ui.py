"""Markup in article text reaches the page as text, never as elements: checked in real Chromium."""

import pytest

from tests.chat_page import ask, open_chat

pytestmark = pytest.mark.llm

HOSTILE_ARTICLE = """Ferry <img src=x onerror="window.__pwned = 'title'"> Launched on Lake Varno

June 4, 2022

Captain Ilse Brandt launched the new Lake Varno ferry on Saturday. <script>window.__pwned = 'script'</script>
The ferry <img src=x onerror="window.__pwned = 'img'"> carries 120 passengers, the operator said.
"""


def test_script_and_onerror_in_an_article_are_shown_as_text(browser, live_server, tmp_path):
    article = tmp_path / "varno.txt"
    article.write_text(HOSTILE_ARTICLE)
    page, dialogs = open_chat(browser, live_server["url"])
    page.get_by_role("tab", name="Add articles").click()
    page.set_input_files("#upload input[type=file]", [str(article)])
    page.wait_for_function(
        "name => (document.querySelector('#upload')?.innerText ?? '').includes(name)", arg="varno.txt"
    )
    page.click("#add")
    page.wait_for_function("() => (document.querySelector('#upload-status')?.innerText ?? '').includes('added')")
    page.get_by_role("tab", name="Articles", exact=True).click()
    page.wait_for_function("() => (document.querySelector('#articles')?.innerText ?? '').includes('Lake Varno')")

    reply = ask(page, "Who launched the Lake Varno ferry?", "Lake Varno")
    assert "Ilse Brandt" in reply["text"]
    page.wait_for_timeout(1000)
    page_text = page.evaluate("() => document.body.textContent")
    assert "<script>" in page_text or "<img src=x" in page_text
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#chat script, #articles script").count() == 0
    assert dialogs == []
