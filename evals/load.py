"""Load and memory runs against a real `rag serve` on loopback, and in process.

Usage:
  python evals/load.py clients --llm extractive   # 20 concurrent clients x 5 questions to /api/ask
  python evals/load.py clients --llm local
  python evals/load.py memory --questions 300     # resident memory over sequential questions

Each run is bounded in time and count, prints its numbers and writes evals/results/load-*.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from evals.bench import ROOT, SEED_SUITE, save
from evals.suites import load_jsonl
from rag.metrics import percentile


def seed_questions() -> list[str]:
    """The seed suite's single questions, answerable and not."""
    return [c.question for c in load_jsonl(SEED_SUITE) if c.question]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, llm: str) -> tuple[subprocess.Popen, str]:
    """`rag serve` on a free loopback port over the seed corpus; returns once it answers."""
    corpus = folder / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    port = free_port()
    command = [str(Path(sys.executable).parent / "rag"), "serve", "--port", str(port), "--llm", llm]
    command += ["--index-dir", str(folder / "index"), "--corpus", str(corpus)]
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError((folder / "server.log").read_text())
        try:
            httpx.get(f"{url}/api/health", timeout=2).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("server did not start in 600 s")


def rss_mb(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


def run_clients(llm: str, clients: int, per_client: int, budget_s: float) -> None:
    """``clients`` threads each asking ``per_client`` questions in turn; every request must succeed."""
    questions = seed_questions()
    with tempfile.TemporaryDirectory(prefix="rag-load-") as scratch:
        process, url = start_server(Path(scratch), llm)
        results: list[dict[str, Any]] = []
        lock = threading.Lock()
        deadline = time.time() + budget_s

        def client(number: int) -> None:
            with httpx.Client(base_url=url, timeout=budget_s) as http:
                for turn in range(per_client):
                    question = questions[(number * per_client + turn) % len(questions)]
                    began = time.perf_counter()
                    record: dict[str, Any] = {"client": number, "question": question}
                    try:
                        response = http.post("/api/ask", json={"question": question})
                        record["status"] = response.status_code
                        if response.status_code == 200:
                            body = response.json()
                            record["queue_s"] = body["timings"].get("queue_s", 0.0)
                            record["answered"] = bool(body["answer"])
                    except httpx.HTTPError as exc:
                        record["status"] = f"{type(exc).__name__}: {exc}"
                    record["latency_s"] = time.perf_counter() - began
                    with lock:
                        results.append(record)
                    if time.time() > deadline:
                        return

        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        memory = rss_mb(process.pid)
        process.terminate()
        process.wait(timeout=60)
    ok = [r for r in results if r["status"] == 200 and r.get("answered")]
    latencies = [r["latency_s"] for r in results]
    waits = [r["queue_s"] for r in ok]
    save(
        f"load-{llm}",
        {
            "llm": llm,
            "clients": clients,
            "questions_per_client": per_client,
            "requests": len(results),
            "expected": clients * per_client,
            "answered": len(ok),
            "errors": [r for r in results if r not in ok],
            "wall_s": round(wall, 1),
            "throughput_per_s": round(len(results) / wall, 2),
            "latency_p50_s": round(percentile(latencies, 50), 3),
            "latency_p95_s": round(percentile(latencies, 95), 3),
            "queue_wait_p50_s": round(percentile(waits, 50), 3) if waits else None,
            "queue_wait_p95_s": round(percentile(waits, 95), 3) if waits else None,
            "server_memory": memory,
        },
    )
    if len(ok) != clients * per_client:
        raise SystemExit(f"{clients * per_client - len(ok)} requests failed")


def run_memory(llm: str, count: int) -> None:
    """Resident memory of one Assistant over ``count`` sequential questions (follow-ups included)."""
    from rag.embed import Embedder
    from rag.index import Index
    from rag.pipeline import Assistant
    from rag.settings import Settings

    questions = seed_questions()
    with tempfile.TemporaryDirectory(prefix="rag-memory-") as scratch:
        settings = Settings(index_dir=Path(scratch) / "index", llm=llm)
        embedder = Embedder.from_settings(settings)
        Index(settings, embedder, create=True).ingest([ROOT / "corpus"])
        assistant = Assistant(settings, embedder=embedder)
        assistant.warm_up()
        samples = [{"after": 0} | rss_mb(os.getpid())]
        history: list[tuple[str, str]] = []
        began = time.perf_counter()
        for n in range(1, count + 1):
            question = "What did he say?" if n % 10 == 0 else questions[n % len(questions)]
            reply = assistant.ask(question, history[-2:])
            history.append((question, reply.answer))
            if n % 50 == 0 or n == count:
                samples.append({"after": n} | rss_mb(os.getpid()))
                print(samples[-1], flush=True)
    growth = samples[-1]["rss_mb"] - samples[0]["rss_mb"]
    later = samples[-1]["rss_mb"] - samples[min(2, len(samples) - 1)]["rss_mb"]
    save(
        f"memory-{llm}",
        {
            "llm": llm,
            "questions": count,
            "seconds": round(time.perf_counter() - began, 1),
            "rss_start_mb": samples[0]["rss_mb"],
            "rss_end_mb": samples[-1]["rss_mb"],
            "growth_mb": round(growth, 1),
            "growth_after_100_mb": round(later, 1),
            "samples": samples,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", choices=["clients", "memory"])
    parser.add_argument("--llm", default="local")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--budget-s", type=float, default=1800, help="Stop asking after this long.")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.run == "clients":
        run_clients(args.llm, args.clients, args.per_client, args.budget_s)
    else:
        run_memory(args.llm, args.questions)


if __name__ == "__main__":
    main()
