"""The date control in real headless Chromium: the same question, asked as of two dates."""

import pytest

from tests.chat_page import ARTIFACTS, ask, open_chat

pytestmark = pytest.mark.llm


def set_date(page, elem_id: str, value: str) -> None:
    field = page.locator(f"#{elem_id} input").first
    field.fill(value)
    field.press("Enter")


def test_answers_as_of_the_chosen_date(browser, time_server):
    ARTIFACTS.mkdir(exist_ok=True)
    page, dialogs = open_chat(browser, time_server["url"])
    page.click("#filters .label-wrap")
    set_date(page, "as-of", "2022-06-01")
    earlier = ask(page, "Who is the mayor of Port Alder?", "Ortiz sworn in")
    assert "As of March 2, 2021" in earlier["text"] and "Lena Ortiz" in earlier["text"]
    assert "2021-03-02" in earlier["text"]
    assert "Reyes" not in earlier["text"]

    page.click("#clear")
    set_date(page, "as-of", "2024-06-01")
    later = ask(page, "Who is the mayor of Port Alder?", "Reyes takes office")
    assert "As of March 6, 2023" in later["text"] and "Reyes" in later["text"]
    page.screenshot(path=str(ARTIFACTS / "chat-as-of.png"), full_page=True)
    assert dialogs == []
