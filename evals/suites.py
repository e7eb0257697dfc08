"""Evaluation suites as data: our JSONL format and SQuAD v2.0 JSON."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import UserError


@dataclass
class Case:
    """One question (or conversation) with what a correct reply must contain."""

    id: str
    question: str = ""
    turns: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    must: list[str] = field(default_factory=list)
    must_any: list[str] = field(default_factory=list)
    unanswerable: bool = False
    support: str = ""
    category: str = ""
    evidence: list[str] = field(default_factory=list)
    as_of: str = ""
    """The date the question is asked at (ISO), when the suite gives one."""
    must_not: list[str] = field(default_factory=list)
    """Words a correct answer never holds: another date's answer, say."""

    @property
    def half(self) -> str:
        """``tune`` or ``check``: which half of its suite the case belongs to, fixed by its id."""
        return half_of(self.id)

    @property
    def last_question(self) -> str:
        """The question that is scored: the last turn of a conversation."""
        return self.turns[-1] if self.turns else self.question

    def as_dict(self) -> dict[str, Any]:
        """The case in our JSONL format."""
        return {k: v for k, v in self.__dict__.items() if v not in ("", [], False)}


HALVES = ("tune", "check")


def half_of(case_id: str) -> str:
    """The half a case id falls in, by the parity of its SHA-256.

    Rules, prompts and thresholds are chosen on the ``tune`` half; the ``check`` half is only
    reported, so its numbers say how the engine does on questions nobody tuned on.
    """
    return HALVES[hashlib.sha256(case_id.encode("utf-8")).digest()[0] % 2]


def select_half(cases: list[Case], half: str) -> list[Case]:
    """The cases of one half (``tune`` or ``check``), or all of them for ``both``."""
    return cases if half == "both" else [c for c in cases if c.half == half]


def load_jsonl(path: Path) -> list[Case]:
    """Read our JSONL suite; a bad line raises with its number (a ``corpus`` line is no case)."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if "corpus" in raw and "id" not in raw:
                continue
            fields = {k: raw[k] for k in Case.__dataclass_fields__ if k in raw}
            fields["id"] = str(raw.get("id", number))
            cases.append(Case(**fields))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a suite case ({exc})") from exc
    return cases


def slug(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80] or "article"


def load_squad(path: Path, corpus_dir: Path, sample: int | None = None, seed: int = 0) -> list[Case]:
    """Read SQuAD v2.0: each article becomes one document in ``corpus_dir``, each question a case.

    Questions marked ``is_impossible`` are unanswerable. ``sample`` picks a fixed subset
    (the same for the same ``seed``), keeping the file's order.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for article in data["data"]:
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        (corpus_dir / f"{slug(title)}.txt").write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n")
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                impossible = bool(qa.get("is_impossible")) or not golds
                cases.append(
                    Case(
                        id=qa["id"],
                        question=qa["question"],
                        answers=golds,
                        unanswerable=impossible,
                        support=golds[0] if golds else "",
                        category=f"{title} / {'unanswerable' if impossible else 'answerable'}",
                    )
                )
    return sample_cases(cases, sample, seed)


def choose_cases(cases: list[Case], ids: Sequence[str]) -> list[Case]:
    """The cases named in ``ids`` (all of them when none is named), in the suite's order.

    An id that is not among ``cases`` is an error, not an empty run: a typo, or a case of the
    other half, should not pass as a clean report.
    """
    if not ids:
        return cases
    wanted = set(ids)
    unknown = sorted(wanted - {c.id for c in cases})
    if unknown:
        raise UserError(f"no case {', '.join(unknown)} in the cases chosen (check the id, and --half)")
    return [c for c in cases if c.id in wanted]


def sample_cases(cases: list[Case], sample: int | None, seed: int) -> list[Case]:
    """A fixed random subset of ``sample`` cases (the same for the same ``seed``), in the suite's order."""
    if sample is None or sample >= len(cases):
        return cases
    chosen = set(random.Random(seed).sample(range(len(cases)), sample))
    return [c for i, c in enumerate(cases) if i in chosen]


def is_realtimeqa(path: Path) -> bool:
    """A RealTime QA development folder: ``gold.jsonl`` and an ``articles/`` folder."""
    return path.is_dir() and (path / "gold.jsonl").is_file() and (path / "articles").is_dir()


def load_realtimeqa(folder: Path) -> list[Case]:
    """Read a RealTime QA folder's gold file; its articles stay where they are (never copied).

    ``evidence`` holds the ids (file stems) of the articles that contain the answer, so the
    citation metrics can tell an answer cited to the right article from a lucky guess.
    """
    cases = []
    for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        unanswerable = bool(raw.get("unanswerable"))
        cases.append(
            Case(
                id=raw["id"],
                question=raw["question"],
                answers=[] if unanswerable else list(raw.get("answers", [])),
                unanswerable=unanswerable,
                category=raw.get("type", ""),
                evidence=[str(d) for d in raw.get("evidence_doc_ids", [])],
                as_of=str(raw.get("question_date", "")).replace("/", "-"),
            )
        )
    return cases


def suite_corpus(path: Path, folder: Path) -> Path | None:
    """Write the articles a JSONL suite names in its ``corpus`` line into ``folder``.

    The line ``{"corpus": {"csv": PATH, "rows": [..]}}`` names rows of a news CSV (a path
    relative to the suite file), so a suite over published articles holds only row numbers,
    never the articles themselves. Those rows are written as a CSV of the same columns, which
    ingestion reads as any archive export: a ``url`` column becomes the article's link, not
    text. A line ``{"corpus": {"folder": PATH}}`` names a folder of articles written for the
    suite, used where it is. ``None`` when the suite has no such line.
    """
    import csv

    spec = next(
        (
            raw["corpus"]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and "corpus" in (raw := json.loads(line)) and "id" not in raw
        ),
        None,
    )
    if spec is None:
        return None
    if "folder" in spec:
        return (path.parent / spec["folder"]).resolve()
    source = (path.parent / spec["csv"]).resolve()
    wanted = set(spec["rows"])
    folder.mkdir(parents=True, exist_ok=True)
    csv.field_size_limit(1 << 30)
    with (
        source.open(encoding="utf-8", newline="") as handle,
        (folder / source.name).open("w", encoding="utf-8", newline="") as subset,
    ):
        reader = csv.DictReader(handle)
        writer = csv.DictWriter(subset, fieldnames=list(reader.fieldnames or []))
        writer.writeheader()
        writer.writerows(row for number, row in enumerate(reader) if number in wanted)
    return folder
