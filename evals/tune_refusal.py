"""Calibrate the refusal threshold: answer with it disabled, record each question's probability of
refusing, then replay every threshold and print SQuAD F1 and accuracy for each.

Usage: python evals/tune_refusal.py SUITE [--sample N] [--seed S] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evals.suites import load_jsonl, load_squad
from rag.embed import Embedder
from rag.index import Index
from rag.metrics import best_over, f1
from rag.pipeline import Assistant
from rag.settings import Settings

THRESHOLDS = [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.01]


def replay(rows: list[dict], threshold: float) -> dict:
    """Scores of the recorded replies as if ``threshold`` had been in force."""
    scores, answerable, unanswerable = [], [], []
    for row in rows:
        refuse = row["abstained"] or (row["p_refusal"] is not None and row["p_refusal"] > threshold)
        score = (1.0 if row["unanswerable"] else 0.0) if refuse else row["f1_if_answered"]
        scores.append(score)
        (unanswerable if row["unanswerable"] else answerable).append(score)
    mean = lambda xs: 100 * sum(xs) / len(xs) if xs else 0.0  # noqa: E731
    return {
        "threshold": threshold,
        "f1": mean(scores),
        "f1_answerable": mean(answerable),
        "f1_unanswerable": mean(unanswerable),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suite", type=Path)
    parser.add_argument("--sample", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(index_dir=Path(scratch) / "index", refusal_threshold=1.01)
        embedder = Embedder.from_settings(settings)
        if args.suite.suffix == ".json":
            cases = load_squad(args.suite, Path(scratch) / "corpus", args.sample, args.seed)
            Index(settings, embedder, create=True).ingest([Path(scratch) / "corpus"])
        else:
            cases = load_jsonl(args.suite)
            Index(settings, embedder, create=True).ingest([settings.corpus])
        assistant = Assistant(settings, embedder=embedder)
        rows = []
        for case in cases:
            history: list[tuple[str, str]] = []
            for question in case.turns or [case.question]:
                reply = assistant.ask(question, history)
                history.append((reply.question, reply.answer))
            rows.append(
                {
                    "id": case.id,
                    "unanswerable": case.unanswerable,
                    "abstained": reply.abstained,
                    "p_refusal": reply.p_refusal,
                    "f1_if_answered": best_over(f1, reply.short_answer, case.answers),
                }
            )
    if args.out:
        args.out.write_text(json.dumps(rows))
    for threshold in THRESHOLDS:
        print(json.dumps({k: round(v, 3) for k, v in replay(rows, threshold).items()}))


if __name__ == "__main__":
    main()
