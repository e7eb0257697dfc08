import shutil
from pathlib import Path

import pytest

from rag.clean import clean
from rag.embed import Embedder, resolve_embedding_model
from rag.errors import EmbeddingMismatchError, IndexBusyError, IndexMissingError
from rag.index import PART_SEPARATOR, Index, fingerprint
from rag.load import load


def stored_docs(index: Index) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in index.documents():
        counts[row["source"].rsplit("/", 1)[-1]] = row["passages"]
    return counts


def bm25_in_step(index: Index) -> bool:
    index.bm25.loaded = False
    index.bm25.load()
    return index.bm25.fingerprint == fingerprint(index._all_ids())


def test_ingest_then_reingest_is_idempotent(index, corpus):
    count = index.count()
    assert count > 5
    summary = index.ingest([corpus])
    assert (summary.added, summary.updated, summary.unchanged, summary.chunks_written) == (
        0,
        0,
        1,
        0,
    )
    assert index.count() == count
    assert bm25_in_step(index)


def test_every_spelling_of_a_path_names_one_document(index, corpus, monkeypatch):
    elsewhere = corpus.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    count = index.count()
    for spelling in ["../corpus", str(corpus), "./../elsewhere/../corpus/."]:
        summary = index.ingest([Path(spelling)])
        assert (summary.added, summary.unchanged) == (0, 1), spelling
    assert index.count() == count


def test_add_change_and_delete(index, corpus):
    (corpus / "second.txt").write_text("Harbour Reopens\n\nMay 2, 2023\n\nThe harbour reopened after repairs.")
    summary = index.ingest([corpus])
    assert (summary.added, summary.unchanged) == (1, 1)
    assert stored_docs(index)["second.txt"] == 1

    (corpus / "second.txt").write_text("Harbour Stays Shut\n\nThe harbour stays shut for a month more.")
    summary = index.ingest([corpus])
    assert summary.updated == 1
    texts = [c["document"] for c in index.all_records(include=("documents", "metadatas"))]
    assert any("stays shut" in t for t in texts)
    assert not any("reopened after repairs" in t for t in texts)

    (corpus / "second.txt").unlink()
    assert index.ingest([corpus]).removed == 0
    assert "second.txt" in stored_docs(index)
    summary = index.ingest([corpus], prune=True)
    assert summary.removed == 1
    assert "second.txt" not in stored_docs(index)
    assert bm25_in_step(index)
    assert [hit for hit, _ in index.bm25.search("harbour", 5)] == []


def test_bad_file_does_not_stop_the_others(index, corpus):
    (corpus / "broken.txt").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    (corpus / "fine.md").write_text("# Fine Story\n\nThe mayor opened a library.")
    summary = index.ingest([corpus])
    assert summary.failed == 1 and summary.added == 1
    assert summary.skipped_files[0].source.endswith("broken.txt")


def test_interrupted_document_is_finished_next_time(index, corpus):
    victim = next(iter(index.all_records()))["id"]
    index.collection.delete(ids=[victim])
    summary = index.ingest([corpus])
    assert summary.updated == 1
    assert victim in index._all_ids()


def test_missing_bm25_is_rebuilt_from_chroma(index, caplog):
    shutil.rmtree(index.folder / "bm25")
    index.bm25.loaded = False
    index.ensure_bm25()
    assert bm25_in_step(index)
    assert index.bm25.search("militias", 3)


def test_second_writer_gets_a_busy_error(index):
    with index.writing(), pytest.raises(IndexBusyError, match="busy"), index.writing(wait_s=0.1):
        pass


def test_asking_without_an_index_says_to_ingest(settings, embedder):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        Index(settings, embedder)


def test_a_file_read_in_sections_is_chunked_as_one_document(index, corpus):
    """Sections of a large file give chunks whose offsets point into the whole cleaned text."""
    paragraphs = [f"Paragraph {i}: the ferry to Åland ran {i} minutes late, said the café owner." for i in range(400)]
    (corpus / "long.txt").write_text("Ferry Delays\n\nMay 2, 2023\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    index.settings.read_section_mb = 4096 / 2**20
    summary = index.ingest([corpus])
    assert (summary.added, summary.failed) == (1, 0)

    parts = list(load([corpus / "long.txt"], section_bytes=4096))
    assert len(parts) > 5 and parts[-1].last_part and not any(p.last_part for p in parts[:-1])
    whole = PART_SEPARATOR.join(clean(part).text for part in parts)
    records = [
        r for r in index.all_records(include=("documents", "metadatas")) if r["metadata"]["source"].endswith("long.txt")
    ]
    assert all(whole[r["metadata"]["start"] : r["metadata"]["end"]] == r["document"] for r in records)
    assert {r["metadata"]["title"] for r in records} == {"Ferry Delays"}
    assert {r["metadata"]["date"] for r in records} == {"2023-05-02"}
    assert all(p in whole for p in paragraphs)

    again = index.ingest([corpus])
    assert (again.unchanged, again.chunks_written) == (2, 0)
    assert bm25_in_step(index)


def test_an_interrupted_sectioned_file_is_finished_next_run(index, corpus):
    """The last chunk, which carries the count, is written last: without it the document is redone."""
    (corpus / "long.txt").write_text("\n\n".join(f"Line {i} of the ferry timetable." for i in range(2000)))
    index.settings.read_section_mb = 8192 / 2**20
    written = index.ingest([corpus]).chunks_written
    total = index.count()
    records = [r for r in index.all_records() if r["metadata"]["source"].endswith("long.txt")]
    (last,) = [r["id"] for r in records if r["metadata"]["n_chunks"]]
    index._delete([last])
    assert not index._stored_documents()[records[0]["metadata"]["doc_id"]]["complete"]

    redone = index.ingest([corpus])
    assert (redone.updated, redone.chunks_written) == (1, written)
    assert index.count() == total and bm25_in_step(index)


def test_an_index_is_only_searched_with_the_embedder_that_built_it(index, settings, caplog):
    same_model_by_folder = Embedder(resolve_embedding_model(settings.embedding_model))
    with pytest.raises(EmbeddingMismatchError, match="RAG_EMBEDDING_MODEL=packaged:all-MiniLM-L6-v2"):
        Index(settings, same_model_by_folder)

    torch_backend = Embedder(settings.embedding_model, backend="torch")
    reopened = Index(settings, torch_backend)
    assert "embedded with the onnx-int8 backend and is searched with torch" in caplog.text
    assert reopened.count() == index.count()
