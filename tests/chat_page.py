"""Driving the web chat in Debian's headless Chromium with Playwright: shared by browser tests."""

import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


WAIT_MS = 900_000
"""How long a page may take to answer: long, since these waits only catch a page that hangs, and
a machine busy with other work may take minutes where an idle one takes seconds."""


def open_chat(browser, url, width=1280, height=800):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT_MS)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector("#question textarea")
    return page, dialogs


def bot_text(page) -> str:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('#chat [data-testid=bot]')).map(e => e.innerText).join('\\n')"
    )


def ask(page, question: str, done_marker: str) -> dict:
    before = page.evaluate("() => document.querySelectorAll('#chat [data-testid=bot]').length")
    previous = bot_text(page)
    page.fill("#question textarea", question)
    started = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat [data-testid=bot]').length > n && "
        "document.querySelectorAll('#chat [data-testid=bot]')[n].innerText.trim().length > 0",
        arg=before,
        timeout=WAIT_MS,
    )
    first = time.perf_counter() - started
    page.wait_for_function(
        "([marker, n]) => { const bots = Array.from(document.querySelectorAll('#chat [data-testid=bot]')).slice(n);"
        " return bots.map(e => e.innerText).join('\\n').includes(marker); }",
        arg=[done_marker, before],
        timeout=WAIT_MS,
    )
    total = time.perf_counter() - started
    page.wait_for_timeout(300)
    new_text = bot_text(page)[len(previous) :]
    return {"first_token_s": first, "complete_s": total, "text": new_text}


def wait_until(condition, timeout_s: float = WAIT_MS / 1000) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout_s`` (a hang, not a slow machine)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)
