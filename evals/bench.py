"""Benchmarks: ingestion throughput, embedding backends, retrieval latency at scale, answer latency.

Usage: python evals/bench.py [ingest] [exports] [backends] [retrieval] [answer] [--scale 10000 100000]
Each section prints a table and writes evals/results/bench-SECTION.json with the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from evals.report import machine
from evals.suites import Case, load_jsonl, load_squad
from rag.chunk import chunk
from rag.clean import clean
from rag.embed import Embedder
from rag.index import Index
from rag.metrics import contains, percentile
from rag.retrieve import hybrid_search
from rag.settings import Settings
from rag.timeframe import question_frame
from rag.types import Article, Filters

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "evals" / "results"
SEED_SUITE = ROOT / "evals" / "suites" / "seed.jsonl"
SQUAD = DATA / "squad2-dev-sample.json"
COLLECTIONS = ("bbc-news-1249.csv", "india-news-233.csv")
NOMIC = "packaged:nomic-embed-text-v1.5"


def news_rows(name: str) -> list[str]:
    """Article texts of one news CSV collection."""
    csv.field_size_limit(1 << 30)
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row.get("text", "").strip()]


def query_latencies(index: Index, settings: Settings, warm_up: int = 5, filters: Filters = Filters()) -> list[float]:
    """Seconds per hybrid query for each seed-suite question, after a few warm-up queries.

    ``filters`` (an as-of date, a date range, a source) apply to every query.
    """
    questions = [c.question for c in load_jsonl(SEED_SUITE) if c.question]

    def search(question: str) -> None:
        frame = question_frame(question, filters.as_of, now=index.newest_day())
        hybrid_search(
            index, question, settings.top_k, settings.candidate_k, settings.rrf_k, filters=filters, frame=frame
        )

    for question in questions[:warm_up]:
        search(question)
    latencies = []
    for question in questions:
        began = time.perf_counter()
        search(question)
        latencies.append(time.perf_counter() - began)
    return latencies


def save(section: str, payload: dict[str, Any]) -> None:
    """Write one section's numbers with the machine description, and print them."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "section": section,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": machine(),
    } | payload
    (RESULTS / f"bench-{section}.json").write_text(json.dumps(payload, indent=1))
    print(json.dumps(payload, indent=1))


def bench_ingest(settings: Settings, scratch: Path) -> None:
    """`rag ingest` of the BBC collection (one file per row) against raw `encode` of its chunks.

    ``ratio`` compares with sentence-transformers' own ``encode`` (torch); ``overhead_ratio``
    with the configured backend's bare encoding, which isolates what chunking and storing cost.
    """
    corpus = scratch / "bbc"
    corpus.mkdir()
    for i, text in enumerate(news_rows(COLLECTIONS[0])):
        (corpus / f"{i:05d}.txt").write_text(text, encoding="utf-8")
    embedder = Embedder.from_settings(settings)
    index = Index(settings.model_copy(update={"index_dir": scratch / "ingest"}), embedder, create=True)
    began = time.perf_counter()
    summary = index.ingest([corpus])
    ingest_s = time.perf_counter() - began
    texts = [r["document"] for r in index.all_records(include=("documents",))]
    began = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True)
    encode_s = time.perf_counter() - began
    began = time.perf_counter()
    embedder.encode(texts)
    backend_s = time.perf_counter() - began
    ingest_rate = summary.chunks_written / ingest_s
    save(
        "ingest",
        {
            "files": summary.added,
            "chunks": summary.chunks_written,
            "backend": settings.embedding_backend,
            "ingest_s": round(ingest_s, 2),
            "ingest_chunks_per_s": round(ingest_rate, 1),
            "encode_s": round(encode_s, 2),
            "encode_chunks_per_s": round(len(texts) / encode_s, 1),
            "ratio": round(ingest_rate / (len(texts) / encode_s), 3),
            "backend_encode_chunks_per_s": round(len(texts) / backend_s, 1),
            "overhead_ratio": round(ingest_rate / (len(texts) / backend_s), 3),
        },
    )


def bench_exports(settings: Settings, scratch: Path) -> None:
    """Each news CSV ingested as an export against the same rows as one text file each.

    Reports chunks per second on both paths (the export path must keep at least 0.9 of the
    text path's rate), articles known, titled and dated, and the share merged as wire copies.
    """
    embedder = Embedder.from_settings(settings)
    results: dict[str, Any] = {}
    for name in COLLECTIONS:
        folder = scratch / name.removesuffix(".csv")
        texts = folder / "texts"
        texts.mkdir(parents=True)
        for i, text in enumerate(news_rows(name)):
            (texts / f"{i:05d}.txt").write_text(text, encoding="utf-8")
        runs = {}
        for path, source in (("text", texts), ("csv", DATA / name)):
            embedder._cache.clear()
            index = Index(settings.model_copy(update={"index_dir": folder / f"index-{path}"}), embedder, create=True)
            began = time.perf_counter()
            summary = index.ingest([source])
            seconds = time.perf_counter() - began
            documents = index.documents()
            runs[path] = {
                "seconds": round(seconds, 1),
                "chunks": summary.chunks_written,
                "chunks_per_s": round(summary.chunks_written / seconds, 1),
                "articles": len(documents),
                "indexed": summary.added,
                "wire_copies": summary.merged,
                "wire_copy_share": round(summary.merged / max(1, len(documents)), 4),
                "failed": summary.failed,
                "titled": sum(1 for d in documents if d["title"]),
                "dated": sum(1 for d in documents if d["date"]),
                "dated_by": dict(Counter(d["date_source"] for d in documents if d["date"])),
            }
        runs["csv_to_text_rate"] = round(runs["csv"]["chunks_per_s"] / runs["text"]["chunks_per_s"], 3)
        results[name] = runs
        print(name, json.dumps(runs))
    save("exports", results)


def hit_at_k(embedder: Embedder, settings: Settings, corpus: Path, cases: list[Case], folder: Path) -> float:
    """Hybrid retrieval hit@k on the answerable single questions of a suite.

    A hit is a retrieved chunk holding the case's support text, or else one of its answers.
    """
    index = Index(settings.model_copy(update={"index_dir": folder}), embedder, create=True)
    index.ingest([corpus])
    answerable = [c for c in cases if not c.unanswerable and not c.turns]
    hits = 0
    for case in answerable:
        found = hybrid_search(index, case.question, settings.top_k, settings.candidate_k, settings.rrf_k)
        evidence = [case.support] if case.support else case.answers
        hits += any(contains(h.chunk.text, e) for h in found for e in evidence)
    return 100 * hits / len(answerable)


def bench_backends(settings: Settings, scratch: Path) -> None:
    """Throughput and retrieval quality of the embedding backends: MiniLM by torch, ONNX and int8
    ONNX, and the packaged nomic-embed-text by llama.cpp (needs the ``nomic`` extra)."""
    texts = [
        c.text
        for i, t in enumerate(news_rows(COLLECTIONS[0])[:200])
        for c in chunk(clean(Article(str(i), "x.txt", t)), settings.chunk_size, settings.chunk_overlap)
    ][:1500]
    seed_cases, squad_cases = load_jsonl(SEED_SUITE), load_squad(SQUAD, scratch / "squad-corpus")
    minilm = settings.embedding_model
    rows = []
    for model, backend in [(minilm, "torch"), (minilm, "onnx"), (minilm, "onnx-int8"), (NOMIC, "")]:
        update = {"embedding_model": model} | ({"embedding_backend": backend} if backend else {})
        embedder = Embedder.from_settings(settings.model_copy(update=update))
        embedder.encode(texts[:32])
        began = time.perf_counter()
        embedder.encode(texts)
        rate = len(texts) / (time.perf_counter() - began)
        folder = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{model}-{embedder.backend}")
        seed = hit_at_k(embedder, settings, ROOT / "corpus", seed_cases, scratch / f"seed-{folder}")
        squad = hit_at_k(embedder, settings, scratch / "squad-corpus", squad_cases, scratch / f"squad-{folder}")
        rows.append(
            {
                "model": model,
                "backend": embedder.backend,
                "chunks_per_s": round(rate, 1),
                "seed_hit_at_k": round(seed, 1),
                "squad_hit_at_k": round(squad, 1),
            }
        )
    save("backends", {"chunks": len(texts), "top_k": settings.top_k, "backends": rows})


def bench_retrieval(settings: Settings, scratch: Path, scales: list[int]) -> None:
    """Hybrid query latency with ~N chunks: the news collections, repeated under new ids."""
    embedder = Embedder.from_settings(settings)
    base = [
        c
        for name in COLLECTIONS
        for i, t in enumerate(news_rows(name))
        for c in chunk(
            clean(Article(f"{name}-{i}", f"{name}/{i}.txt", t)),
            settings.chunk_size,
            settings.chunk_overlap,
        )
    ]
    vectors = embedder.encode([c.text for c in base])
    results = []
    for scale in scales:
        index = Index(
            settings.model_copy(update={"index_dir": scratch / f"scale-{scale}"}),
            embedder,
            create=True,
        )
        began = time.perf_counter()
        written = 0
        batch = index.client.get_max_batch_size()
        while written < scale:
            copy = written // len(base)
            take = min(batch, scale - written, len(base) - written % len(base))
            start = written % len(base)
            part = base[start : start + take]
            index.collection.add(
                ids=[f"{c.chunk_id}-r{copy}" for c in part],
                documents=[c.text for c in part],
                embeddings=vectors[start : start + take],
                metadatas=[c.metadata() | {"doc_id": f"{c.doc_id}-r{copy}", "n_chunks": 0} for c in part],
            )
            written += take
        index.rebuild_bm25()
        build_s = time.perf_counter() - began
        latencies = query_latencies(index, settings)
        size = sum(f.stat().st_size for f in (scratch / f"scale-{scale}").rglob("*") if f.is_file())
        results.append(
            {
                "chunks": index.count(),
                "build_s": round(build_s, 1),
                "queries": len(latencies),
                "p50_ms": round(1000 * percentile(latencies, 50), 1),
                "p95_ms": round(1000 * percentile(latencies, 95), 1),
                "index_mb": round(size / 2**20, 1),
            }
        )
    save("retrieval", {"unique_chunks": len(base), "scales": results})


def bench_answer(settings: Settings, scratch: Path) -> None:
    """Time to first streamed token and to the full reply with the default local model."""
    from rag.pipeline import Assistant
    from rag.types import Reply

    settings = settings.model_copy(update={"index_dir": scratch / "answer"})
    embedder = Embedder.from_settings(settings)
    Index(settings, embedder, create=True).ingest([ROOT / "corpus"])
    assistant = Assistant(settings, embedder=embedder)
    assistant.warm_up()
    first, total = [], []
    for case in load_jsonl(SEED_SUITE):
        if not case.question:
            continue
        began = time.perf_counter()
        seen_first = None
        for part in assistant.stream(case.question):
            if seen_first is None:
                seen_first = time.perf_counter() - began
            if isinstance(part, Reply):
                break
        total.append(time.perf_counter() - began)
        first.append(seen_first or total[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    save(
        "answer",
        {
            "llm": settings.llm,
            "questions": len(total),
            "first_token_p50_s": round(percentile(first, 50), 3),
            "first_token_p95_s": round(percentile(first, 95), 3),
            "total_p50_s": round(percentile(total, 50), 3),
            "total_p95_s": round(percentile(total, 95), 3),
            "peak_rss_mb": round(peak_mb, 1),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sections", nargs="*", default=["ingest", "exports", "backends", "retrieval", "answer"])
    parser.add_argument("--scale", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as folder:
        scratch = Path(folder)
        for section in args.sections:
            if section == "retrieval":
                bench_retrieval(settings, scratch, args.scale)
            else:
                globals()[f"bench_{section}"](settings, scratch)


if __name__ == "__main__":
    main()
