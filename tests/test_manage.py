"""Managing the archive: list and remove through the CLI, the API (behind the login) and the browser."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.chat_page import WAIT_MS
from tests.conftest import SEED_ARTICLE, start_server, stop_server

RAG = str(Path(sys.executable).parent / "rag")
EXPORT = (
    "headline,body,pubDate,link\n"
    'Harbour reopens after storm,"The harbour in Port Elin reopened on Tuesday after a storm.",2023-05-02,'
    "https://news.example/harbour\n"
    'Bridge repairs finish early,"Repairs to the Elin bridge finished two weeks early.",2023-05-05,'
    "https://news.example/bridge\n"
)
LOGIN = ("editor", "s3cret-pass")


def rag(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RAG, *args], capture_output=True, text=True, cwd=cwd, timeout=900)


def articles(folder: Path) -> Path:
    corpus = folder / "articles"
    corpus.mkdir(parents=True)
    shutil.copy(SEED_ARTICLE, corpus / SEED_ARTICLE.name)
    (corpus / "export.csv").write_text(EXPORT, encoding="utf-8")
    return corpus


def test_list_and_remove_from_the_command_line(tmp_path):
    corpus = articles(tmp_path)
    assert rag("ingest", str(corpus), "--index-dir", "index", cwd=tmp_path).returncode == 0
    listed = rag("list", "--json", "--index-dir", "index", cwd=tmp_path)
    rows = {row["title"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {
        "Iraq Is Caught in the Middle as U.S. and Iran Spar on Its Soil",
        "Harbour reopens after storm",
        "Bridge repairs finish early",
    }
    assert rows["Harbour reopens after storm"]["url"] == "https://news.example/harbour"
    table = rag("list", "--index-dir", "index", cwd=tmp_path).stdout
    assert "3 articles: 3 indexed articles, 0 wire copies" in table

    by_url = rag("remove", "https://news.example/harbour", "--index-dir", "index", cwd=tmp_path)
    assert by_url.returncode == 0 and "1 article removed" in by_url.stdout
    by_file = rag("remove", "articles/export.csv", "--index-dir", "index", cwd=tmp_path)
    assert "Bridge repairs finish early" in by_file.stdout
    left = json.loads(rag("list", "--json", "--index-dir", "index", cwd=tmp_path).stdout)
    assert [row["title"] for row in left] == ["Iraq Is Caught in the Middle as U.S. and Iran Spar on Its Soil"]
    missing = rag("remove", "no-such-id", "--index-dir", "index", cwd=tmp_path)
    assert missing.returncode != 0 and "No indexed article matches no-such-id" in missing.stderr
    assert "Traceback" not in missing.stderr


@pytest.fixture(scope="module")
def managed_server(tmp_path_factory):
    """`rag serve --auth` in extractive mode over the seed article and a small export."""
    folder = tmp_path_factory.mktemp("managed")
    process, url = start_server(
        folder, "--llm", "extractive", "--auth", ":".join(LOGIN), articles=articles(folder / "source")
    )
    yield url
    stop_server(process)


def test_documents_api_lists_and_removes_behind_the_login(managed_server):
    url = f"{managed_server}/api/documents"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("editor", "wrong")).status_code == 401
    rows = {row["title"]: row for row in httpx.get(url, auth=LOGIN).json()}
    bridge = rows["Bridge repairs finish early"]
    assert bridge["date"] == "2023-05-05" and bridge["passages"] == 1
    assert httpx.delete(f"{url}/{bridge['doc_id']}").status_code == 401
    removed = httpx.delete(f"{url}/{bridge['doc_id']}", auth=LOGIN)
    assert removed.status_code == 200 and removed.json()["removed"][0]["title"] == "Bridge repairs finish early"
    assert httpx.delete(f"{url}/{bridge['doc_id']}", auth=LOGIN).status_code == 404
    assert "Bridge repairs finish early" not in {row["title"] for row in httpx.get(url, auth=LOGIN).json()}
    asked = httpx.post(
        f"{managed_server}/api/ask", json={"question": "When did the bridge repairs finish?"}, auth=LOGIN, timeout=600
    ).json()
    assert all("bridge" not in c["source"] for c in asked["citations"])


def test_remove_button_asks_then_removes(browser, managed_server):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(managed_server)
    page.fill("input[type=text]", LOGIN[0])
    page.fill("input[type=password]", LOGIN[1])
    page.keyboard.press("Enter")
    page.wait_for_selector("#question textarea")
    page.wait_for_function("() => (document.querySelector('#articles')?.innerText ?? '').includes('Harbour reopens')")
    row = page.locator("#articles [role=gridcell][data-col='0']", has_text="Harbour reopens").get_attribute("data-row")
    page.click(f"#articles [data-testid=cell-{row}-1]")
    page.wait_for_selector("#confirm-remove", state="visible")
    assert "Remove Harbour reopens after storm from the index?" in page.inner_text("#confirm-remove")
    page.click("#confirm-remove-no")
    page.wait_for_selector("#confirm-remove", state="hidden")
    assert "Harbour reopens" in page.inner_text("#articles")

    page.click(f"#articles [data-testid=cell-{row}-1]")
    page.click("#confirm-remove-yes")
    page.wait_for_function("() => (document.querySelector('#remove-status')?.innerText ?? '').includes('Removed')")
    assert "Harbour reopens" not in page.inner_text("#articles")
    assert dialogs == []
