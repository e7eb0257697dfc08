"""Reports of an evaluation run: terminal table, report.json, self-contained HTML, comparison."""

from __future__ import annotations

import base64
import html
import io
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.runner import Result, per_category
from evals.suites import half_of
from rag.metrics import flip_test

HEADLINE = [
    ("exact_match", "SQuAD exact match"),
    ("f1", "SQuAD F1"),
    ("f1_answerable", "F1, answerable"),
    ("f1_unanswerable", "F1, unanswerable"),
    ("answer_accuracy", "answer accuracy (must / gold)"),
    ("refusal_precision", "refusal precision"),
    ("refusal_recall", "refusal recall"),
    ("refusal_auc", "refusal AUC (p_refusal)"),
    ("citation_support", "citation support"),
    ("retrieval_hit_at_k", "retrieval hit@k"),
    ("retrieve_p50_s", "retrieve p50 (s)"),
    ("retrieve_p95_s", "retrieve p95 (s)"),
    ("generate_p50_s", "generate p50 (s)"),
    ("generate_p95_s", "generate p95 (s)"),
    ("total_p50_s", "total p50 (s)"),
    ("total_p95_s", "total p95 (s)"),
]


def shown(metrics: dict[str, Any], key: str) -> str:
    """A metric as the reports print it: seconds to the millisecond, a rate with its 95% interval if it has one."""
    value = metrics.get(key)
    if value is None:
        return "-"
    if key.endswith("_s"):
        return f"{value:.3f}"
    interval = metrics.get(f"{key}_interval")
    return f"{value:.1f} ({interval[0]:.0f}–{interval[1]:.0f})" if interval else f"{value:.1f}"


def build_report(suite: str, metrics: dict[str, Any], results: Sequence[Result], run: dict[str, Any]) -> dict[str, Any]:
    """Everything about a run, as one JSON-able object."""
    return {
        "suite": suite,
        "run": run | {"machine": machine()},
        "metrics": {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "categories": {k: round(v, 2) for k, v in per_category(results).items()},
        "cases": [
            {"case": r.case.as_dict(), "reply": r.reply, "scores": r.scores, "failed": r.failed} for r in results
        ],
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def print_report(report: dict[str, Any], failures: int = 20) -> None:
    """A metrics table and the first failures, for the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{report['suite']} — {report['run']['llm']} ({report['metrics']['questions']} questions)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in HEADLINE:
        if key in report["metrics"]:
            table.add_row(label, shown(report["metrics"], key))
    console.print(table)
    print_extras(console, report)
    failed = [c for c in report["cases"] if c["failed"]]
    unlisted = 0
    if len(report.get("halves", {})) > 1:
        listed = [c for c in failed if half_of(c["case"]["id"]) == "tune"]
        failed, unlisted = listed, len(failed) - len(listed)
    if failed:
        console.print(f"[bold]{len(failed)} failures[/bold] (first {min(failures, len(failed))}):")
    for item in failed[:failures]:
        case, reply = item["case"], item["reply"]
        expected = "refusal" if case.get("unanswerable") else " | ".join(case.get("answers", [])[:3])
        console.print(f"- {case['id']}: {case.get('question') or case.get('turns', [''])[-1]}", markup=False)
        console.print(f"    expected: {expected}\n    got: {reply.get('answer', '')}", markup=False)
    if unlisted:
        console.print(
            f"{unlisted} failures on the check half are not listed: that half is for reporting, "
            "never for tuning (report.json and report.html have them)."
        )


SIDE_BY_SIDE = [
    ("answer_accuracy", "answer accuracy"),
    ("refusal_recall", "refusal recall"),
    ("false_refusal", "false refusals"),
    ("citation_support", "citation support"),
    ("scorer_accuracy", "suite scorer accuracy"),
    ("f1", "SQuAD F1"),
    ("total_p50_s", "total p50 (s)"),
    ("total_p95_s", "total p95 (s)"),
]


def print_extras(console: Any, report: dict[str, Any]) -> None:
    """Per-half metrics, withheld answers per check, the suite's own scorer and the baseline."""
    from rich.table import Table

    columns = {f"{name} half ({m['questions']})": m for name, m in report.get("halves", {}).items()}
    if "baseline" in report and "metrics" in report["baseline"]:
        ours, recipe = report["metrics"], report["baseline"]["metrics"]
        columns |= {"all (ours)": ours, "LangChain recipe": recipe}
    if columns:
        table = Table(title="side by side")
        table.add_column("metric")
        for name in columns:
            table.add_column(name, justify="right")
        for key, label in SIDE_BY_SIDE:
            if any(m.get(key) is not None for m in columns.values()):
                table.add_row(label, *(shown(m, key) for m in columns.values()))
        console.print(table)
    for side, counts in report.get("withheld_by", {}).items():
        if counts:
            listed = ", ".join(f"{gate} {n}" for gate, n in counts.items())
            console.print(f"withheld on {side} questions: {listed}", markup=False)
    if "scorer" in report:
        console.print(f"suite scorer: {report['scorer'].get('summary', report['scorer'])}", markup=False)


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(metric, old, new, change) for every metric both reports measured."""
    rows = []
    for key, _ in HEADLINE:
        before, after = old.get("metrics", {}).get(key), new.get("metrics", {}).get(key)
        if before is not None and after is not None:
            rows.append((key, float(before), float(after), float(after) - float(before)))
    return rows


def print_comparison(old: dict[str, Any], new: dict[str, Any]) -> None:
    """What changed between two runs, plus the cases that flipped."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="compared with the earlier report")
    for column in ("metric", "before", "after", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key, a, b, delta in compare(old, new):
        lower_is_better = key.endswith("_s")
        better = delta < 0 if lower_is_better else delta > 0
        colour = "green" if better and delta else "red" if delta else "white"
        table.add_row(key, f"{a:.3f}", f"{b:.3f}", f"[{colour}]{delta:+.3f}[/{colour}]")
    console = Console()
    console.print(table)
    before = {c["case"]["id"]: c["failed"] for c in old.get("cases", [])}
    fixed = [c["case"]["id"] for c in new["cases"] if before.get(c["case"]["id"]) is True and not c["failed"]]
    broke = [c["case"]["id"] for c in new["cases"] if before.get(c["case"]["id"]) is False and c["failed"]]
    console.print(
        f"now passing: {', '.join(fixed) or 'none'}; now failing: {', '.join(broke) or 'none'}",
        markup=False,
    )
    p_value = flip_test(len(fixed), len(broke))
    verdict = "more than churn" if p_value < 0.05 else "within the churn of a changed run"
    console.print(f"{len(fixed)} fixed against {len(broke)} broken: sign test p = {p_value:.2f}, {verdict}.")


def _figure_png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def plots(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, base64 PNG) for the latency histogram and accuracy per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [c["reply"].get("timings", {}).get("total_s", 0.0) for c in report["cases"]]
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.hist(totals, bins=min(30, max(5, len(totals) // 3)), color="#2563eb")
    axis.set_xlabel("seconds per question (total)")
    axis.set_ylabel("questions")
    latency = _figure_png(figure)
    plt.close(figure)
    categories = report["categories"]
    figure, axis = plt.subplots(figsize=(6, 0.4 * len(categories) + 1))
    axis.barh(list(categories), list(categories.values()), color="#16a34a")
    axis.set_xlim(0, 100)
    axis.set_xlabel("% correct")
    axis.invert_yaxis()
    accuracy = _figure_png(figure)
    plt.close(figure)
    return [("Latency", latency), ("Accuracy per category", accuracy)]


def write_html(report: dict[str, Any], path: Path) -> None:
    """A single self-contained HTML file: metrics, plots and every failure with its passages."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(label)}</td><td>{e(shown(report['metrics'], key))}</td></tr>"
        for key, label in HEADLINE
        if key in report["metrics"]
    )
    images = "".join(
        f"<figure><figcaption>{e(title)}</figcaption><img alt='{e(title)}' src='data:image/png;base64,{data}'></figure>"
        for title, data in plots(report)
    )
    failures = []
    for item in (c for c in report["cases"] if c["failed"]):
        case, reply = item["case"], item["reply"]
        expected = "refusal" if case.get("unanswerable") else " | ".join(case.get("answers", []))
        passages = "".join(
            f"<blockquote><b>[{c['n']}] {e(c['title'])}</b> "
            f"({e(c.get('date', ''))}, {e(c['source'])})<br>{e(c['text'])}</blockquote>"
            for c in reply.get("citations", [])
        )
        question = case.get("question") or " → ".join(case.get("turns", []))
        failures.append(
            f"<section><h3>{e(case['id'])}: {e(question)}</h3><p><b>expected:</b> {e(expected)}<br>"
            f"<b>answer:</b> {e(reply.get('answer', ''))}<br>"
            f"<b>short answer:</b> {e(reply.get('short_answer', ''))}"
            f"{''.join(f'<br><i>{e(note)}</i>' for note in reply.get('notes', []))}</p>"
            f"{passages}</section>"
        )
    run = report["run"]
    title = f"Evaluation: {e(report['suite'])}"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#111}}
table{{border-collapse:collapse}}td{{border-bottom:1px solid #ddd;padding:4px 12px}}
blockquote{{border-left:3px solid #93c5fd;margin:.5em 0;padding:.3em .8em;background:#f8fafc}}
section{{border-top:1px solid #eee;margin-top:1em}}figure{{display:inline-block;margin:1em}}</style></head><body>
<h1>Evaluation: {e(report["suite"])}</h1>
<p>Model: <code>{e(str(run.get("model", run.get("llm"))))}</code> · {report["metrics"]["questions"]} questions ·
{e(str(run.get("finished", "")))} · {e(json.dumps(run.get("machine", {})))}</p>
<table>{rows}</table>{images}
<h2>Failures ({len(failures)})</h2>{"".join(failures) or "<p>None.</p>"}</body></html>"""
    path.write_text(page, encoding="utf-8")


def write_outputs(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """report.json and report.html in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    write_html(report, html_path)
    return json_path, html_path
