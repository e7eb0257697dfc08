"""Every kind of source on real files built here: PDFs, exports, saved web pages and feeds, wire copies."""

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from rag.index import Index
from rag.pipeline import Assistant
from rag.settings import Settings

PAGES = Path(__file__).parent / "data" / "web"


# ---- PDF -----------------------------------------------------------------------------------------
def write_pdf(path: Path, pages: list[str], title: str = "", author: str = "", encrypt: str | None = None) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    pdf.setTitle(title)
    pdf.setAuthor(author)
    for text in pages:
        y = 800
        for line in text.split("\n"):
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return path


def write_scanned_pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.rect(50, 50, 400, 600, fill=1)
    pdf.showPage()
    pdf.save()
    return path


def test_pdf_pages_are_cited_by_number_and_bad_pdfs_are_skipped(settings, embedder, tmp_path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    write_pdf(
        folder / "report.pdf",
        [
            "Port Elin Harbour Report\nThe harbour board met in May to review the storm damage\n"
            "and the cost of repairs.",
            "The board appointed Ines Carvalho as the new harbour mas-\nter on 3 May 2023. "
            "She was the deputy for six years.",
            "Repairs to the north pier will cost 2.4 million euros\nand finish by the end of the year.",
        ],
        title="Port Elin Harbour Report",
        author="Harbour Board",
    )
    write_scanned_pdf(folder / "scan.pdf")
    write_pdf(folder / "locked.pdf", ["A secret page about the harbour."], encrypt="password")
    good = (folder / "report.pdf").read_bytes()
    (folder / "broken.pdf").write_bytes(good[: len(good) // 3])

    index = Index(settings, embedder, create=True)
    summary = index.ingest([folder])
    reasons = {Path(s.source).name: s.reason for s in summary.skipped_files}
    assert summary.added == 1 and summary.failed == 3, reasons
    assert "no text layer" in reasons["scan.pdf"] and "OCR" in reasons["scan.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "PDF" in reasons["broken.pdf"]

    reply = Assistant(settings, embedder=embedder, index=index).ask("Who is the new harbour master?")
    assert not reply.abstained and "Ines Carvalho" in reply.answer
    citation = reply.to_dict()["citations"][0]
    assert citation["page"] == 2 and citation["author"] == "Harbour Board"
    assert citation["title"] == "Port Elin Harbour Report"
    assert "harbour master on 3 May 2023" in citation["text"], "the hyphenated line break is joined"


# ---- exports -------------------------------------------------------------------------------------
def test_csv_export_with_odd_columns_and_a_broken_row(settings, embedder, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(
        "Headline,Story Body,pubDate,Permalink,Writer\n"
        'Harbour reopens,"The harbour in Port Elin reopened on Tuesday, May 2.",2023-05-02T09:00:00Z,'
        "https://news.example/harbour,Ana Silva\n"
        "Broken row,only two values\n"
        'Bridge repairs end,"Repairs to the Elin bridge ended early.",5 May 2023,https://news.example/bridge,\n',
        encoding="utf-8",
    )
    index = Index(settings, embedder, create=True)
    summary = index.ingest([export], fields={"text": "Story Body", "author": "Writer"})
    assert (summary.added, summary.failed) == (2, 1)
    assert summary.skipped_files[0].source.endswith("export.csv row 2")
    assert "2 values for 5 columns" in summary.skipped_files[0].reason
    rows = {d["title"]: d for d in index.documents()}
    assert rows["Harbour reopens"]["date"] == "2023-05-02" and rows["Harbour reopens"]["date_source"] == "metadata"
    assert rows["Bridge repairs end"]["date"] == "2023-05-05"
    assert rows["Harbour reopens"]["url"] == "https://news.example/harbour"
    chunk = index.document_chunks([rows["Harbour reopens"]["doc_id"]])[0]
    assert chunk.author == "Ana Silva" and chunk.site == "news.example"

    no_text = tmp_path / "odd.csv"
    no_text.write_text("a,b\n1,2\n", encoding="utf-8")
    (skipped,) = index.ingest([no_text]).skipped_files
    assert "no text column" in skipped.reason and "--field text=" in skipped.reason


def test_jsonl_export_is_idempotent_and_prunes_removed_rows(settings, embedder, tmp_path):
    export = tmp_path / "articles.jsonl"
    rows = [
        {"id": "a1", "headline": "Mayor opens library", "content": "The mayor of Port Elin opened the new library."},
        {"id": "a2", "title": "Ferry fares rise", "body": "Ferry fares to Elin Island rose by 5 percent."},
        {"id": "a3", "title": "School term extended", "text": "The school term was extended by a week."},
    ]
    lines = [json.dumps(r) for r in rows]
    export.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n", encoding="utf-8")
    index = Index(settings, embedder, create=True)
    first = index.ingest([export])
    assert (first.added, first.failed) == (3, 1) and "row 2" in first.skipped_files[0].source
    assert index.ingest([export]).unchanged == 3

    rows[1]["body"] = "Ferry fares to Elin Island rose by 7 percent."
    export.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n", encoding="utf-8")
    again = index.ingest([export], prune=True)
    assert (again.updated, again.unchanged, again.removed) == (1, 1, 1)
    assert sorted(d["source"].rsplit("#", 1)[1] for d in index.documents()) == ["a1", "a2"]


def test_json_array_export(settings, embedder, tmp_path):
    export = tmp_path / "feed.json"
    export.write_text(
        json.dumps({"articles": [{"title": "Dam inspected", "description": "Engineers inspected the Elin dam."}]}),
        encoding="utf-8",
    )
    index = Index(settings, embedder, create=True)
    assert index.ingest([export]).added == 1
    assert index.documents()[0]["title"] == "Dam inspected"


# ---- web pages and feeds -------------------------------------------------------------------------
class CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        CountingHandler.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    """The saved pages and feeds of tests/data/web, served on a loopback port."""
    CountingHandler.requests = []
    handler = functools.partial(CountingHandler, directory=str(PAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("rss.xml", "atom.xml"):
        (tmp_path / name).write_text((PAGES / name).read_text("utf-8").replace("http://SITE", base), "utf-8")
    yield {"base": base, "folder": tmp_path}
    server.shutdown()


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fetch_private_addresses": True, "fetch_timeout_s": 30})


def test_web_pages_by_url_with_their_metadata(web_settings, embedder, site):
    index = Index(web_settings, embedder, create=True)
    summary = index.ingest([f"{site['base']}/harbour.html", f"{site['base']}/missing.html"])
    assert (summary.added, summary.failed) == (1, 1)
    assert "HTTP 404" in summary.skipped_files[0].reason
    (row,) = index.documents()
    assert row["title"] == "Harbour Reopens After Storm"
    assert row["date"] == "2023-05-02" and row["date_source"] == "html"
    assert row["url"] == f"{site['base']}/harbour.html"
    reply = Assistant(web_settings, embedder=embedder, index=index).ask("Who thanked the crews?")
    assert not reply.abstained and reply.citations[0].url == row["url"]
    assert reply.citations[0].author == "Maria Lopes"


def test_local_addresses_are_refused_by_default(settings, embedder, site):
    summary = Index(settings, embedder, create=True).ingest([f"{site['base']}/harbour.html"])
    assert summary.failed == 1 and "local address" in summary.skipped_files[0].reason


def test_feeds_add_entries_and_fetch_pages_only_for_new_summaries(web_settings, embedder, site):
    index = Index(web_settings, embedder, create=True)
    rss = str(site["folder"] / "rss.xml")
    first = index.ingest([], feeds=[rss, str(site["folder"] / "atom.xml")])
    assert (first.added, first.failed) == (3, 0)
    rows = {d["title"]: d for d in index.documents()}
    assert set(rows) == {"Harbour Reopens After Storm", "Council Approves Sea Wall", "Ferry Timetable Changes"}
    assert rows["Council Approves Sea Wall"]["date"] == "2023-05-04"
    sea_wall = index.document_chunks([rows["Council Approves Sea Wall"]["doc_id"]])
    assert "14 million euros" in " ".join(c.text for c in sea_wall), "the summary-only entry's page was fetched"
    assert CountingHandler.requests.count("/seawall.html") == 1

    again = index.ingest([], feeds=[rss])
    assert (again.added, again.unchanged) == (0, 2)
    assert CountingHandler.requests.count("/seawall.html") == 1, "an unchanged entry is not downloaded again"


# ---- wire copies ---------------------------------------------------------------------------------
WIRE_STORY = (
    "The Port Elin council voted on Thursday to build a sea wall along the northern shore after two winters of "
    "flooding. The wall will be four kilometres long and cost 14 million euros, with work starting in the spring. "
    "Residents of the harbour district, where water reached the first floor of homes last January, welcomed the "
    "vote. The mayor, Ana Silva, said the wall would protect 3,000 homes. Opponents argued that the money should "
    "go to moving homes away from the shore instead."
)


def test_wire_copies_are_merged_and_shown_with_the_citation(settings, embedder, tmp_path):
    folder = tmp_path / "wire"
    folder.mkdir()
    (folder / "a-elin-herald.txt").write_text(f"Council backs sea wall\n\nMay 4, 2023\n\n{WIRE_STORY}", "utf-8")
    (folder / "b-coast-daily.txt").write_text(
        f"Sea wall approved in Port Elin\n\nMay 5, 2023\n\n{WIRE_STORY} (Reporting by the wire desk.)", "utf-8"
    )
    (folder / "c-other.txt").write_text(
        "Ferry timetable changes\n\nMay 6, 2023\n\nThe summer ferry timetable starts on June 1 with two more "
        "sailings a day to Elin Island.",
        "utf-8",
    )
    index = Index(settings, embedder, create=True)
    summary = index.ingest([folder])
    assert (summary.added, summary.merged) == (2, 1)
    rows = {Path(d["source"]).name: d for d in index.documents()}
    assert rows["b-coast-daily.txt"]["copy_of"] == rows["a-elin-herald.txt"]["doc_id"]
    assert rows["b-coast-daily.txt"]["passages"] == 0
    assert rows["a-elin-herald.txt"]["also_published"] == [f"{rows['b-coast-daily.txt']['source']} (2023-05-05)"]
    assert index.ingest([folder]).unchanged == 3

    reply = Assistant(settings, embedder=embedder, index=index).ask("How much will the sea wall cost?")
    assert not reply.abstained and "14 million" in reply.answer
    assert reply.to_dict()["citations"][0]["also_published"] == rows["a-elin-herald.txt"]["also_published"]

    (folder / "a-elin-herald.txt").unlink()
    removed = index.remove(str(folder / "a-elin-herald.txt"))
    assert [r["doc_id"] for r in removed] == [rows["a-elin-herald.txt"]["doc_id"]]
    again = index.ingest([folder])
    assert (again.added, again.merged) == (1, 0), "the copy takes the removed original's place"


def test_command_line_reads_urls_feeds_and_field_overrides(site, tmp_path):
    import os
    import subprocess
    import sys

    urls = tmp_path / "urls.txt"
    urls.write_text(f"# saved pages\n{site['base']}/harbour.html\n", encoding="utf-8")
    export = tmp_path / "odd.csv"
    export.write_text('Heading,Copy\nDam inspected,"Engineers inspected the Elin dam on Monday."\n', encoding="utf-8")
    command = [str(Path(sys.executable).parent / "rag"), "ingest", str(export), "--urls", str(urls)]
    command += ["--feed", str(site["folder"] / "atom.xml"), "--field", "text=Copy", "--field", "title=Heading"]
    command += ["--index-dir", str(tmp_path / "index"), "--no-progress"]
    env = os.environ | {"RAG_FETCH_PRIVATE_ADDRESSES": "true"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "3 added" in done.stdout and "0 failed" in done.stdout
    bad = subprocess.run([*command[:2], str(export), "--field", "body"], capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "write FIELD=COLUMN" in bad.stderr and "Traceback" not in bad.stderr


def test_an_earlier_copy_stays_an_article_of_its_own(settings, embedder, tmp_path):
    folder = tmp_path / "wire"
    folder.mkdir()
    (folder / "a-later.txt").write_text(f"Council backs sea wall\n\nMay 9, 2023\n\n{WIRE_STORY}", "utf-8")
    (folder / "b-earlier.txt").write_text(f"Sea wall approved\n\nMay 4, 2023\n\n{WIRE_STORY}", "utf-8")
    (folder / "c-latest.txt").write_text(f"Sea wall: council says yes\n\nMay 12, 2023\n\n{WIRE_STORY}", "utf-8")
    index = Index(settings, embedder, create=True)
    summary = index.ingest([folder])
    assert (summary.added, summary.merged) == (2, 1), "asked as of May 5, the May 4 story must still be found"
    rows = {Path(d["source"]).name: d for d in index.documents()}
    assert rows["b-earlier.txt"]["passages"] and not rows["b-earlier.txt"]["copy_of"]
    assert rows["c-latest.txt"]["copy_of"] in {rows["a-later.txt"]["doc_id"], rows["b-earlier.txt"]["doc_id"]}
