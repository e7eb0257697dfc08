"""Calibrate the answer checks on the tuning half: answer once with the refusal probe and the
names check switched off, record what each check would have said, then replay every threshold
with and without the names check.

Usage: python evals/tune_gates.py SUITE [--half tune] [--sample N] [--seed S] [--suite-index DIR]
       [--out rows.json] [--rows rows.json (replay only)]

SUITE is anything `rag eval` takes. Choose on the tuning half; the check half is for reporting.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evals.run import index_suite
from evals.suites import sample_cases, select_half
from rag.cite import anchor_evidence, missing_anchors, question_anchors
from rag.embed import Embedder
from rag.metrics import best_over, f1, score_reply
from rag.pipeline import Assistant
from rag.settings import Settings

THRESHOLDS = [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.01]


def replay(rows: list[dict], threshold: float, names: bool) -> dict:
    """Scores of the recorded replies as if ``threshold`` and the names check had been in force."""
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]

    def refused(row: dict) -> bool:
        doubtful = row["p_refusal"] is not None and row["p_refusal"] > threshold
        return row["abstained"] or doubtful or (names and bool(row["missing_anchors"]))

    def share(items: list[dict], test) -> float:
        return 100 * sum(map(test, items)) / len(items) if items else 0.0

    return {
        "threshold": threshold,
        "names": names,
        "accuracy": share(answerable, lambda r: not refused(r) and r["correct_if_answered"]),
        "false_refusal": share(answerable, refused),
        "refusal_recall": share(unanswerable, refused),
        "f1": share(rows, lambda r: (1.0 if r["unanswerable"] else 0.0) if refused(r) else r["f1_if_answered"]),
    }


def record(suite: Path, half: str, sample: int | None, seed: int, suite_index: Path | None) -> list[dict]:
    """Answer every case with the probe and the names check off, keeping what they would say."""
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(refusal_threshold=1.01, require_question_numbers=False)
        embedder = Embedder.from_settings(settings)
        corpus = settings.corpus if suite.suffix == ".jsonl" else None
        cases, _, settings = index_suite(suite, settings, embedder, Path(scratch), corpus, suite_index)
        cases = sample_cases(select_half(cases, half), sample, seed)
        assistant = Assistant(settings, embedder=embedder)
        rows = []
        for case in cases:
            history: list[tuple[str, str]] = []
            for question in case.turns or [case.question]:
                reply = assistant.ask(question, history)
                history.append((reply.question, reply.answer))
            scores = score_reply(case.as_dict(), reply.to_dict(), [c.text for c in reply.retrieved])
            evidence = anchor_evidence(reply.citations, reply.retrieved)
            cited_docs = sorted({c.doc_id for c in reply.citations})
            whole = [*evidence, *(c.text for c in assistant.index.document_chunks(cited_docs))]
            rows.append(
                {
                    "id": case.id,
                    "question": reply.question,
                    "unanswerable": case.unanswerable,
                    "abstained": reply.abstained,
                    "withheld_by": reply.withheld_by,
                    "notes": reply.notes,
                    "p_refusal": reply.p_refusal,
                    "answer": reply.answer,
                    "correct_if_answered": not case.unanswerable and scores["correct"],
                    "f1_if_answered": best_over(f1, reply.short_answer, case.answers),
                    "retrieval_hit": scores["retrieval_hit"],
                    "anchors": question_anchors(case.last_question),
                    "cited_docs": cited_docs,
                    "missing_anchors": missing_anchors(case.last_question, evidence) if reply.citations else [],
                    "missing_in_article": missing_anchors(case.last_question, whole) if reply.citations else [],
                    "total_s": reply.timings.get("total_s", 0.0),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suite", type=Path)
    parser.add_argument("--half", default="tune", choices=["tune", "check", "both"])
    parser.add_argument("--sample", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suite-index", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--rows", type=Path, help="Replay rows recorded earlier instead of answering again.")
    args = parser.parse_args()
    if args.rows:
        rows = json.loads(args.rows.read_text())
    else:
        rows = record(args.suite, args.half, args.sample, args.seed, args.suite_index)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    for names in (True, False):
        for threshold in THRESHOLDS:
            print(
                json.dumps(
                    {k: round(v, 3) if isinstance(v, float) else v for k, v in replay(rows, threshold, names).items()}
                )
            )


if __name__ == "__main__":
    main()
