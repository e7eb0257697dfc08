"""Security defaults: loopback binding, login on the page and the API, no secrets in output, uploads."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rag.cli import cli
from rag.settings import Settings
from tests.conftest import free_port, start_server, stop_server
from ui.app import MAX_UPLOAD_BYTES, save_uploads

RAG = str(Path(sys.executable).parent / "rag")
SECRET = "sk-test-4f9c2e7d1a8b6c3e5f0a9d2b7c4e1f8a"


def test_server_binds_to_loopback_unless_told_otherwise():
    host = next(p for p in cli.commands["serve"].params if p.name == "host")
    assert host.default == "127.0.0.1"
    assert not any("key" in name for name in Settings.model_fields)


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory):
    """`rag serve --auth` in extractive mode, on a loopback port."""
    folder = tmp_path_factory.mktemp("guarded")
    process, url = start_server(folder, "--llm", "extractive", "--auth", "editor:s3cret-pass")
    yield {"url": url, "log": folder / "server.log"}
    stop_server(process)


def test_login_is_required_for_the_api_and_the_page(guarded_server):
    url = guarded_server["url"]
    question = {"question": "Which militias were struck?"}
    assert httpx.post(f"{url}/api/ask", json=question).status_code == 401
    assert httpx.post(f"{url}/api/ask", json=question, auth=("editor", "wrong")).status_code == 401
    answered = httpx.post(f"{url}/api/ask", json=question, auth=("editor", "s3cret-pass"), timeout=600)
    assert answered.status_code == 200 and "Kata" in answered.json()["answer"]
    assert httpx.get(f"{url}/config").status_code == 401
    assert "s3cret-pass" not in guarded_server["log"].read_text()


def test_api_key_never_appears_in_output_even_when_the_backend_fails(index_dir_with_seed, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {
        "OPENAI_API_KEY": SECRET,
        "RAG_OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
    }
    done = subprocess.run(
        [RAG, "ask", "Which militias were struck?", "--llm", "openai:gpt-4o-mini", "-v"]
        + ["--index-dir", str(index_dir_with_seed)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "did not answer" in output and "Traceback" not in output
    assert SECRET not in output and SECRET[-12:] not in output


@pytest.fixture
def index_dir_with_seed(index) -> Path:
    return index.settings.index_dir


def test_uploads_stay_inside_the_upload_folder(tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    names = ["...txt", "..\\..\\escape.txt", ".hidden.md", "ok story.html", "run.sh", "big.txt"]
    for name in names:
        (incoming / name).write_text("Title\n\nText.")
    with (incoming / "big.txt").open("wb") as big:
        big.truncate(MAX_UPLOAD_BYTES + 1)
    folder = tmp_path / "index" / "uploads"
    accepted, rejected = save_uploads([str(incoming / name) for name in names], folder)
    assert sorted(path.name for path in accepted) == ["escape.txt", "hidden.md", "ok story.html"]
    assert all(path.parent == folder.resolve() for path in accepted)
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - {incoming / name for name in names}
    assert written == set(accepted)
    assert len(rejected) == 3
    assert any("run.sh" in r for r in rejected) and any("big.txt" in r and "MB" in r for r in rejected)
