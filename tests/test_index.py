import shutil

import pytest

from rag.errors import IndexBusyError, IndexMissingError
from rag.index import Index, fingerprint


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
