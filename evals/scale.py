"""Scale run: the two news collections, repeated to ~100k chunks, through the real `ingest`.

Usage: python evals/scale.py [--chunks 100000] [--stores embedded server]

Each copy of the collections is written as its own folder of article files and ingested with
``Index.ingest``, into the embedded store and into a `chroma run` server on loopback. The text
of a copy repeats the first, so only the first copy is embedded; the rest hit the embedder's
cache, and the time measured is the rest of ingestion (load, clean, chunk, write, BM25).
Every article gets a dateline (spread over 2015-2025) so that date filters have dates to work
on; only the first chunk of an article holds it, so the other chunks still hit the cache.
Wire copies are not merged: every copy repeats the same stories on purpose.
Writes evals/results/bench-scale.json with ingest time, size on disk and hybrid query latency,
unfiltered and with an as-of date, a one-year range and a source filter.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from evals.bench import COLLECTIONS, news_rows, query_latencies, save
from rag.embed import Embedder
from rag.index import Index
from rag.metrics import percentile
from rag.settings import Settings
from rag.types import Filters

CHUNKS_PER_COPY = 14_518


FIRST_DAY = date(2015, 1, 1)
FILTERS = {
    "as_of": Filters(as_of=date(2020, 6, 30)),
    "since_until": Filters(since=date(2019, 1, 1), until=date(2019, 12, 31)),
    "source": Filters(source="copy-03/"),
}


def write_copies(folder: Path, copies: int) -> list[Path]:
    """``copies`` folders, each holding every article of both collections as a dated file."""
    rows = [(name, i, text) for name in COLLECTIONS for i, text in enumerate(news_rows(name))]
    folders = []
    for copy in range(copies):
        target = folder / f"copy-{copy:02d}"
        target.mkdir(parents=True)
        for number, (name, i, text) in enumerate(rows):
            day = FIRST_DAY + timedelta(days=(number * 7 + copy * 53) % 4000)
            dateline = f"{day:%B} {day.day}, {day.year}"
            (target / f"{Path(name).stem}-{i:05d}.txt").write_text(f"{dateline}\n\n{text}", encoding="utf-8")
        folders.append(target)
    return folders


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def start_chroma(data: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    command = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("chroma run did not start")


def measure(store: str, settings: Settings, embedder: Embedder, copies: list[Path], disk: list[Path]) -> dict[str, Any]:
    """Ingest every copy in turn, then time hybrid queries over the whole index."""
    index = Index(settings, embedder, create=True)
    began = time.perf_counter()
    per_copy = []
    for folder in copies:
        started = time.perf_counter()
        index.ingest([folder])
        per_copy.append(round(time.perf_counter() - started, 1))
        print(f"{store}: {folder.name} ingested in {per_copy[-1]} s, {index.count()} chunks", flush=True)
    ingest_s = time.perf_counter() - began
    latencies = query_latencies(index, settings)
    filtered = {name: query_latencies(index, settings, filters=f) for name, f in FILTERS.items()}
    return {
        "store": store,
        "chunks": index.count(),
        "documents": len(index.documents()),
        "ingest_s": round(ingest_s, 1),
        "first_copy_s": per_copy[0],
        "later_copies_s": per_copy[1:],
        "disk_mb": round(sum(folder_mb(d) for d in disk), 1),
        "queries": len(latencies),
        "query_p50_ms": round(1000 * percentile(latencies, 50), 1),
        "query_p95_ms": round(1000 * percentile(latencies, 95), 1),
        "filtered": {
            name: {
                "query_p50_ms": round(1000 * percentile(times, 50), 1),
                "query_p95_ms": round(1000 * percentile(times, 95), 1),
                "p50_vs_unfiltered": round(percentile(times, 50) / percentile(latencies, 50), 3),
            }
            for name, times in filtered.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--stores", nargs="+", default=["embedded", "server"], choices=["embedded", "server"])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    copies = max(1, round(args.chunks / CHUNKS_PER_COPY))
    results = []
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as scratch:
        root = Path(scratch)
        folders = write_copies(root / "articles", copies)
        base = Settings(merge_wire_copies=False)
        embedder = Embedder.from_settings(base)
        embedder.cache_size = 2 * CHUNKS_PER_COPY
        for store in args.stores:
            settings = base.model_copy(update={"index_dir": root / f"{store}-app"})
            if store == "embedded":
                results.append(measure(store, settings, embedder, folders, [settings.index_dir]))
                continue
            server, port = start_chroma(root / "server-data")
            try:
                settings = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
                results.append(measure(store, settings, embedder, folders, [root / "server-data", settings.index_dir]))
            finally:
                server.kill()
    save("scale", {"copies": copies, "stores": results})


if __name__ == "__main__":
    main()
