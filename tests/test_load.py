from pathlib import Path

from rag.load import Skipped, decode, document_id, load


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_bad_files_are_skipped_with_reasons_and_good_ones_load(tmp_path):
    write(tmp_path, "good.txt", b"Headline\n\nA real sentence about the news.")
    write(tmp_path, "empty.txt", b"")
    write(tmp_path, "blank.md", b"   \n\t\n")
    write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    write(tmp_path, "nested/deeper/latin1.txt", "Café owners protested.".encode("latin-1"))
    write(tmp_path, "ignored.csv", b"a,b")
    results = {Path(r.source).name: r for r in load([tmp_path])}
    assert set(results) == {"good.txt", "empty.txt", "blank.md", "image.txt", "latin1.txt"}
    assert isinstance(results["empty.txt"], Skipped) and "empty" in results["empty.txt"].reason
    assert isinstance(results["blank.md"], Skipped)
    assert isinstance(results["image.txt"], Skipped) and "binary" in results["image.txt"].reason
    assert results["latin1.txt"].text == "Café owners protested."
    assert results["good.txt"].content_hash


def test_symlink_loop_terminates(tmp_path):
    write(tmp_path, "a/story.txt", b"Title\n\nBody text.")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    assert [Path(r.source).name for r in load([tmp_path])] == ["story.txt"]


def test_document_id_is_stable():
    assert document_id("corpus/a.txt") == document_id("corpus/a.txt")
    assert document_id("corpus/a.txt") != document_id("corpus/b.txt")


def test_decode_prefers_utf8():
    assert decode("Kata’ib".encode()) == "Kata’ib"
