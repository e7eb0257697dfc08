"""Answer metrics as the SQuAD v2 reference script computes them, plus small helpers."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from rag.cite import fold

PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse spaces; curly quotes folded first."""
    text = "".join(ch for ch in fold(text) if ch not in PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    """Token-overlap F1; an empty gold (unanswerable) only matches an empty prediction."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over(metric, prediction: str, golds: Sequence[str]) -> float:
    """The best score of ``prediction`` against any gold answer ([""] when there are none)."""
    return max(metric(prediction, gold) for gold in (list(golds) or [""]))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def refusal_auc(scored: Sequence[tuple[float | None, bool]]) -> float | None:
    """How well the model's refusal probability ranks unanswerable above answerable questions.

    ``scored`` pairs each question's ``p_refusal`` with whether it is unanswerable. The ROC AUC
    (percent) is threshold-free: 50 is chance, 100 a perfect separation. ``None`` when the
    backend gives no probability or one side is missing.
    """
    from sklearn.metrics import roc_auc_score

    pairs = [(p, unanswerable) for p, unanswerable in scored if p is not None]
    if len({unanswerable for _, unanswerable in pairs}) < 2:
        return None
    return 100 * float(roc_auc_score([u for _, u in pairs], [p for p, _ in pairs]))


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval of an accuracy of ``correct`` out of ``total``, in percent ((0, 100) for none).

    Suites here hold tens of questions: 33 of 66 right is 50%, but anything from 38% to 62% is
    as likely a true rate, and a change within that is not evidence of anything.
    """
    if total == 0:
        return 0.0, 100.0
    from scipy.stats import binomtest

    interval = binomtest(correct, total).proportion_ci(confidence_level=confidence, method="wilson")
    return round(100 * float(interval.low), 1), round(100 * float(interval.high), 1)


def flip_test(fixed: int, broke: int) -> float:
    """Two-sided p-value that ``fixed`` cases passing and ``broke`` failing anew is more than churn.

    An exact sign (McNemar) test over the cases that changed between two runs of one suite: a
    changed ranking or prompt moves a few answers each way, and only a lopsided count is a real
    gain or loss. 1.0 when nothing changed.
    """
    if fixed + broke == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(fixed, fixed + broke, 0.5).pvalue)


def contains(haystack: str, needle: str) -> bool:
    """Case-, quote- and accent-insensitive substring test."""
    return " ".join(fold(needle).split()) in " ".join(fold(haystack).split())


def score_reply(case: dict, reply: dict, retrieved: Sequence[str] = ()) -> dict:
    """Per-question scores of one reply against one suite case (a dict of our JSONL format).

    ``correct`` means: an answerable case is answered, cited, and its ``must`` / ``must_any``
    (or, lacking those, a gold answer) appear in the answer and none of its ``must_not`` do;
    an unanswerable case is refused.
    """
    golds = [g for g in case.get("answers", []) if g]
    unanswerable = bool(case.get("unanswerable"))
    abstained = bool(reply.get("abstained"))
    answer = reply.get("answer", "")
    citations = reply.get("citations", [])
    must, must_any = case.get("must", []), case.get("must_any", [])
    if must or must_any:
        content_ok = all(contains(answer, m) for m in must) and (
            not must_any or any(contains(answer, m) for m in must_any)
        )
    else:
        content_ok = any(contains(answer, g) for g in golds)
    content_ok = content_ok and not any(contains(answer, m) for m in case.get("must_not", []))
    evidence = [case["support"]] if case.get("support") else golds
    supported = any(contains(c.get("text", ""), e) for c in citations for e in evidence)
    short = "" if abstained else reply.get("short_answer", "")
    hit = any(contains(text, e) for text in retrieved for e in evidence)
    return {
        "retrieval_hit": (not unanswerable and hit),
        "unanswerable": unanswerable,
        "abstained": abstained,
        "correct": abstained if unanswerable else (not abstained and content_ok and bool(citations)),
        "citation_supported": (not unanswerable and not abstained and supported),
        "em": best_over(exact_match, short, [] if unanswerable else golds),
        "f1": best_over(f1, short, [] if unanswerable else golds),
    }
