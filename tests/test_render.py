from pathlib import Path

from rag.types import Chunk, Citation, Reply
from ui.app import safe_name, save_uploads
from ui.render import escape, highlight, history_pairs, reply_messages


def test_markup_is_escaped():
    out = escape("<script>alert(1)</script> **bold** [link](x)")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\*\\*bold\\*\\*" in out and "\\[link\\]" in out


def test_highlight_bolds_supporting_words_only():
    out = highlight("The two militias, Kata’ib Hezbollah and others.", "Kata’ib Hezbollah", "Which militias?")
    assert "**Kata’ib Hezbollah**" in out and "**militias" not in out


def test_refusal_and_answer_messages_differ():
    chunk = Chunk("c", "d", "Some text.", 0, 10, "Title", "2021-06-28", "a.txt")
    refusal = reply_messages(Reply(question="q", answer="The articles don't say.", abstained=True, closest=[chunk]))
    assert refusal[0]["content"].startswith("> ⚠️ **Not in the articles.**")
    assert refusal[1]["metadata"]["status"] == "done"
    citation = Citation(1, "d", "Title <b>", "2021-06-28", "a.txt", "Some <i>text</i>.", 0, 10)
    answer = reply_messages(Reply(question="q", answer="Text [1].", short_answer="text", citations=[citation]))
    assert answer[0]["content"] == "Text [1]."
    assert answer[1]["metadata"]["title"].startswith("[1] Title &lt;b&gt;")
    assert "<i>" not in answer[1]["content"]


def test_history_pairs_skip_passages_and_read_typed_parts():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Who is he?"}]},
        {"role": "assistant", "content": "A spokesman \\[1\\]."},
        {"role": "assistant", "content": "> passage", "metadata": {"title": "[1] T"}},
    ]
    assert history_pairs(messages) == [("Who is he?", "A spokesman [1].")]


def test_upload_names_cannot_escape_the_folder(tmp_path):
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.md") == "evil.md"
    assert safe_name("...") == "upload"
    source = tmp_path / "in.txt"
    source.write_text("Headline\n\nText.")
    renamed = tmp_path / "x.pdf"
    renamed.write_text("x")
    accepted, rejected = save_uploads([str(source), str(renamed)], tmp_path / "uploads")
    assert accepted == [(tmp_path / "uploads" / "in.txt").resolve()]
    assert len(rejected) == 1 and "x.pdf" in rejected[0]
    assert Path(accepted[0]).read_text() == "Headline\n\nText."
