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


def test_one_message_per_reply_with_a_collapsed_sources_block():
    chunk = Chunk("c", "d", "Some text.", 0, 10, "Title", "2021-06-28", "a.txt")
    (refusal,) = reply_messages(Reply(question="q", answer="The articles don't say.", abstained=True, closest=[chunk]))
    assert refusal["content"].startswith("> ⚠️ **Not in the articles.**")
    assert '<details class="sources"><summary>Closest 1 passage</summary>' in refusal["content"]
    citation = Citation(
        1,
        "d",
        "Title <b>",
        "2021-06-28",
        "a.txt",
        "Some <i>text</i>.",
        0,
        10,
        url="https://news.example/story",
        page=2,
        also_published=("https://wire.example/copy (2021-06-29)",),
    )
    (answer,) = reply_messages(Reply(question="q", answer="Text [1].", short_answer="text", citations=[citation]))
    content = answer["content"]
    assert content.startswith("Text [1].\n\n<details")
    assert "<summary>Sources: [1] Title &lt;b&gt; (2021-06-28)</summary>" in content
    assert "[Title &lt;b&gt;](https://news.example/story)" in content
    assert "p. 2" in content and "Also published at https://wire.example/copy" in content
    assert "<i>" not in content and "<b>" not in content


def test_plural_counts():
    from rag.display import plural
    from ui.render import articles_summary

    assert plural(1, "article") == "1 article" and plural(1249, "article") == "1,249 articles"
    assert plural(2, "wire copy", "wire copies") == "2 wire copies"
    one = {"doc_id": "x", "title": "T", "date": "", "source": "a.txt", "passages": 1, "copy_of": ""}
    assert articles_summary([one]) == "**1 article indexed**"
    copy = one | {"doc_id": "y", "copy_of": "x", "passages": 0}
    assert articles_summary([one, copy]) == "**1 article indexed**, and 1 wire copy merged into them"


def test_history_pairs_skip_passages_and_read_typed_parts():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Who is he?"}]},
        {
            "role": "assistant",
            "content": 'A spokesman \\[1\\].\n\n<details class="sources"><summary>Sources</summary>x</details>',
        },
        {"role": "assistant", "content": "> passage", "metadata": {"title": "[1] T"}},
    ]
    assert history_pairs(messages) == [("Who is he?", "A spokesman [1].")]


def test_upload_names_cannot_escape_the_folder(tmp_path):
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.md") == "evil.md"
    assert safe_name("...") == "upload"
    source = tmp_path / "in.txt"
    source.write_text("Headline\n\nText.")
    renamed = tmp_path / "x.exe"
    renamed.write_text("x")
    accepted, rejected = save_uploads([str(source), str(renamed)], tmp_path / "uploads")
    assert accepted == [(tmp_path / "uploads" / "in.txt").resolve()]
    assert len(rejected) == 1 and "x.exe" in rejected[0]
    assert Path(accepted[0]).read_text() == "Headline\n\nText."
