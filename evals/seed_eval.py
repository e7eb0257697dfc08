"""Run the seed-article question set through `rag ask --jsonl` and print accuracy and latency.

Usage: python evals/seed_eval.py [--suite evals/suites/seed.jsonl] [--llm local] [-- extra rag args]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rag.metrics import percentile, score_reply


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", type=Path, default=Path(__file__).parent / "suites" / "seed.jsonl")
    parser.add_argument("--llm", default="local")
    parser.add_argument("--index-dir", default=None)
    parser.add_argument("--show-failures", action="store_true")
    args, extra = parser.parse_known_args()
    cases = [json.loads(line) for line in args.suite.read_text().splitlines() if line.strip()]
    rag = shutil.which("rag") or str(Path(sys.executable).parent / "rag")
    command = [rag, "ask", "--jsonl", "-", "--llm", args.llm, *extra]
    if args.index_dir:
        command += ["--index-dir", args.index_dir]
    began = time.perf_counter()
    done = subprocess.run(command, input="\n".join(json.dumps(c) for c in cases), capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    scores = [score_reply(c, r) for c, r in zip(cases, replies, strict=True)]
    answerable = [s for s in scores if not s["unanswerable"]]
    unanswerable = [s for s in scores if s["unanswerable"]]
    answered = [s for s in answerable if not s["abstained"]]
    totals = [r["timings"].get("total_s", 0.0) for r in replies]
    report = {
        "llm": args.llm,
        "questions": len(cases),
        "answer_accuracy": sum(s["correct"] for s in answerable) / max(len(answerable), 1),
        "refusal_accuracy": sum(s["correct"] for s in unanswerable) / max(len(unanswerable), 1),
        "citation_support": sum(s["citation_supported"] for s in answered) / max(len(answered), 1),
        "short_answer_f1": sum(s["f1"] for s in answerable) / max(len(answerable), 1),
        "latency_p50_s": percentile(totals, 50),
        "latency_p95_s": percentile(totals, 95),
        "wall_s": time.perf_counter() - began,
    }
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()}, indent=2))
    if args.show_failures:
        for case, reply, score in zip(cases, replies, scores, strict=True):
            if not score["correct"] or (not score["unanswerable"] and not score["citation_supported"]):
                print(
                    f"- {case['id']} {case.get('question') or ' / '.join(case['turns'])}"
                    f"\n    expected: {case.get('answers', 'refusal')}"
                    f"\n    got: {reply['answer']} | short: {reply['short_answer']!r}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
