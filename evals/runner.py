"""Run a suite through the assistant and compute every metric, without an LLM judge."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from evals.suites import Case
from rag.metrics import accuracy_interval, percentile, refusal_auc, score_reply
from rag.types import Filters


@dataclass
class Result:
    """One case, our reply to it (the last turn's, for a conversation) and its scores."""

    case: Case
    reply: dict[str, Any]
    turns: list[dict[str, Any]]
    scores: dict[str, Any]

    @property
    def failed(self) -> bool:
        """Wrong answer, wrong refusal, or an answer whose citations miss the evidence."""
        s = self.scores
        return not s["correct"] or (not s["unanswerable"] and not s["abstained"] and not s["citation_supported"])


def run_suite(
    assistant: Any,
    cases: Sequence[Case],
    progress: Callable[[int], None] | None = None,
    use_as_of: bool = True,
) -> list[Result]:
    """Ask every case in order; conversations carry their own history.

    A case's ``as_of`` date is passed on, unless ``use_as_of`` is false (to measure what it adds).
    """
    results = []
    for i, case in enumerate(cases):
        questions = case.turns or [case.question]
        history: list[tuple[str, str]] = []
        turns, reply = [], None
        filters = Filters(as_of=date.fromisoformat(case.as_of)) if use_as_of and case.as_of else Filters()
        for question in questions:
            reply = assistant.ask(question, history, filters)
            history.append((reply.question, reply.answer))
            turns.append(reply.to_dict())
        assert reply is not None
        retrieved = [chunk.text for chunk in reply.retrieved]
        results.append(Result(case, turns[-1], turns, score_reply(case.as_dict(), turns[-1], retrieved)))
        if progress:
            progress(i + 1)
    return results


def mean(values: Sequence[float]) -> float:
    """Average, 0.0 for nothing."""
    return sum(values) / len(values) if values else 0.0


def rate(values: Sequence[float]) -> float | None:
    """Percentage of a group, or None when the group is empty.

    A half with no unanswerable questions has no refusal recall, which is not the same as refusing none.
    """
    return 100 * mean(values) if values else None


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """All suite metrics: SQuAD EM/F1, answer accuracy, refusals, citations, retrieval, latency."""
    scores = [r.scores for r in results]
    answerable = [s for s in scores if not s["unanswerable"]]
    unanswerable = [s for s in scores if s["unanswerable"]]
    answered = [s for s in answerable if not s["abstained"]]
    abstained = [s for s in scores if s["abstained"]]
    timings = defaultdict(list)
    for r in results:
        for turn in r.turns:
            for key in ("retrieve_s", "generate_s", "total_s"):
                timings[key].append(float(turn.get("timings", {}).get(key, 0.0)))
    metrics = {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "exact_match": 100 * mean([s["em"] for s in scores]),
        "f1": 100 * mean([s["f1"] for s in scores]),
        "f1_answerable": rate([s["f1"] for s in answerable]),
        "f1_unanswerable": rate([s["f1"] for s in unanswerable]),
        "exact_match_answerable": rate([s["em"] for s in answerable]),
        "answer_accuracy": rate([s["correct"] for s in answerable]),
        "refusal_accuracy": rate([s["correct"] for s in unanswerable]),
        "refusal_precision": rate([s["unanswerable"] for s in abstained]),
        "refusal_recall": rate([s["abstained"] for s in unanswerable]),
        "false_refusal": rate([s["abstained"] for s in answerable]),
        "citation_support": rate([s["citation_supported"] for s in answered]),
        "retrieval_hit_at_k": rate([s["retrieval_hit"] for s in answerable]),
        "overall_accuracy": 100 * mean([s["correct"] for s in scores]),
    }
    for name, group in (("answer_accuracy", answerable), ("refusal_recall", unanswerable)):
        if group:
            metrics[f"{name}_interval"] = accuracy_interval(sum(bool(s["correct"]) for s in group), len(group))
    auc = refusal_auc([(r.reply.get("p_refusal"), r.case.unanswerable) for r in results])
    if auc is not None:
        metrics["refusal_auc"] = auc
    for key, values in timings.items():
        name = key.removesuffix("_s")
        metrics[f"{name}_p50_s"] = percentile(values, 50)
        metrics[f"{name}_p95_s"] = percentile(values, 95)
    return metrics


def per_category(results: Sequence[Result]) -> dict[str, float]:
    """Share of correct replies per case category (percent)."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        groups[r.case.category or ("unanswerable" if r.case.unanswerable else "answerable")].append(
            bool(r.scores["correct"])
        )
    return {name: 100 * mean(values) for name, values in sorted(groups.items())}


def time_run(assistant: Any, cases: Sequence[Case], **kwargs: Any) -> tuple[list[Result], float]:
    """Run the suite and return the results with the wall time in seconds."""
    began = time.perf_counter()
    results = run_suite(assistant, cases, **kwargs)
    return results, time.perf_counter() - began
