"""`rag eval`: load a suite, build its index, answer every case, score, report per half."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.report import build_report, print_comparison, print_report, write_outputs
from evals.runner import Result, run_suite, summarize
from evals.suites import (
    Case,
    choose_cases,
    is_realtimeqa,
    load_jsonl,
    load_realtimeqa,
    load_squad,
    sample_cases,
    select_half,
    suite_corpus,
)
from rag.embed import Embedder
from rag.index import Index
from rag.llm import model_fingerprint
from rag.settings import Settings


def load_cases(suite: Path, folder: Path, corpus: Path | None) -> tuple[list[Case], Path | None]:
    """The suite's cases and the folder of articles to answer them from (None: the configured index).

    Articles the suite names but does not hold as files (SQuAD paragraphs, rows of a news CSV)
    are written into ``folder``.
    """
    if is_realtimeqa(suite):
        return load_realtimeqa(suite), suite / "articles"
    if suite.suffix.lower() == ".json":
        return load_squad(suite, folder), folder
    return load_jsonl(suite), suite_corpus(suite, folder) or corpus


def index_suite(
    suite: Path,
    settings: Settings,
    embedder: Embedder,
    scratch: Path,
    corpus: Path | None = None,
    suite_index: Path | None = None,
) -> tuple[list[Case], Path | None, Settings]:
    """The suite's cases, its folder of articles, and settings whose index holds them (unchanged without any).

    With ``suite_index`` the articles the suite writes are kept in its ``articles`` folder, so
    their sources stay the same from one run to the next, and the index is pruned to them: a
    suite whose articles changed is never answered from the old ones.
    """
    cases, articles = load_cases(suite, suite_index / "articles" if suite_index else scratch / "corpus", corpus)
    if articles is None:
        return cases, None, settings
    settings = settings.model_copy(update={"index_dir": suite_index or scratch / "index", "chroma_host": None})
    Index(settings, embedder, create=True).ingest([articles], prune=True, progress=sys.stderr.isatty())
    return cases, articles, settings


def withheld_counts(results: Sequence[Result]) -> dict[str, dict[str, int]]:
    """How many answers each check withheld, on answerable and on unanswerable cases."""
    counts: dict[str, Counter[str]] = {"answerable": Counter(), "unanswerable": Counter()}
    for r in results:
        gate = r.reply.get("withheld_by") or ""
        if gate:
            counts["unanswerable" if r.case.unanswerable else "answerable"][gate] += 1
    return {side: dict(sorted(c.items())) for side, c in counts.items()}


def scorer_summary(suite: Path, results: Sequence[Result], scratch: Path) -> dict[str, Any] | None:
    """The suite's own scorer (RealTime QA's ``score.py``) run on our replies, when it has one."""
    script = suite / "score.py" if suite.is_dir() else None
    if script is None or not script.is_file():
        return None
    asked = {r.case.id for r in results}
    gold = scratch / "gold.jsonl"
    gold.write_text(
        "".join(
            line + "\n"
            for line in (suite / "gold.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["id"] in asked
        ),
        encoding="utf-8",
    )
    replies = scratch / "replies.jsonl"
    replies.write_text(
        "".join(json.dumps({"id": r.case.id, **r.reply}, ensure_ascii=False) + "\n" for r in results),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script), str(replies), "--gold", str(gold), "--articles", str(suite / "articles")],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode not in (0, 1) or not lines:
        return {"error": (done.stderr or done.stdout)[-500:]}
    summary = lines[-1]
    values = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", summary)}
    return {"summary": summary, **values}


def evaluate_suite(
    settings: Settings,
    suite: Path,
    *,
    sample: int | None = None,
    seed: int = 0,
    half: str = "both",
    corpus: Path | None = None,
    suite_index: Path | None = None,
    baseline: bool = False,
    out: Path | None = None,
    compare_to: Path | None = None,
    failures: int = 20,
    use_as_of: bool = True,
    case_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Run ``suite`` and return its report (also printed, and written to ``out``)."""
    from rich.progress import Progress

    from rag.pipeline import Assistant

    with tempfile.TemporaryDirectory(prefix="rag-eval-") as scratch_name:
        scratch = Path(scratch_name)
        embedder = Embedder.from_settings(settings)
        cases, articles, settings = index_suite(suite, settings, embedder, scratch, corpus, suite_index)
        cases = sample_cases(choose_cases(select_half(cases, half), case_ids), sample, seed)
        assistant = Assistant(settings, embedder=embedder)
        assistant.warm_up()
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        began = time.perf_counter()
        with Progress(transient=True) as bar:
            task = bar.add_task(f"Evaluating {suite.name}", total=len(cases))
            results = run_suite(assistant, cases, progress=lambda n: bar.update(task, completed=n), use_as_of=use_as_of)
        run = {
            "llm": settings.llm,
            "model": model_fingerprint(settings),
            "embedding_model": settings.embedding_model,
            "embedding_backend": embedder.backend,
            "sentence_embedding_model": settings.sentence_embedding_model,
            "refusal_threshold": settings.refusal_threshold,
            "top_k": settings.top_k,
            "context_chars": settings.context_chars,
            "half": half,
            "as_of": "per case" if use_as_of else "ignored",
            "recency_weight": settings.recency_weight,
            "unmarked_recency_weight": settings.unmarked_recency_weight,
            "period_weight": settings.period_weight,
            "sample": sample,
            "seed": seed,
            "cases": list(case_ids),
            "started": started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "wall_s": round(time.perf_counter() - began, 2),
        }
        report = build_report(suite.name, summarize(results), results, run)
        report["halves"] = {
            name: summarize(part) for name in ("tune", "check") if (part := [r for r in results if r.case.half == name])
        }
        report["withheld_by"] = withheld_counts(results)
        scored = scorer_summary(suite, results, scratch)
        if scored is not None:
            report["scorer"] = scored
            for name, metrics in report["halves"].items():
                half_scored = scorer_summary(suite, [r for r in results if r.case.half == name], scratch)
                if half_scored and "acc" in half_scored:
                    metrics["scorer_accuracy"] = round(100 * half_scored["acc"], 1)
        if baseline:
            from evals.baseline import run_baseline

            report["baseline"] = run_baseline(settings, embedder, articles, cases)
    print_report(report, failures)
    if out:
        json_path, html_path = write_outputs(report, out)
        print(f"wrote {json_path} and {html_path}")
    if compare_to:
        print_comparison(json.loads(compare_to.read_text()), report)
    return report
