"""Evaluation suites as data: our JSONL format and SQuAD v2.0 JSON."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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

    @property
    def last_question(self) -> str:
        """The question that is scored: the last turn of a conversation."""
        return self.turns[-1] if self.turns else self.question

    def as_dict(self) -> dict[str, Any]:
        """The case in our JSONL format."""
        return {k: v for k, v in self.__dict__.items() if v not in ("", [], False)}


def load_jsonl(path: Path) -> list[Case]:
    """Read our JSONL suite; a bad line raises with its number."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
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
    if sample is not None and sample < len(cases):
        chosen = set(random.Random(seed).sample(range(len(cases)), sample))
        cases = [c for i, c in enumerate(cases) if i in chosen]
    return cases
