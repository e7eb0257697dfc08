"""The question-answering chain: condense -> retrieve -> answer -> cite, as LangChain runnables.

:class:`Assistant` owns the resources (embedder, index, chat model), created once and shared
by every question. ``ask`` runs the chain; ``stream`` runs the same steps but hands out the
answer text as the model writes it.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from rag import answer as answering
from rag.chunk import MAX_GAP, split_sentences
from rag.cite import (
    CitedAnswer,
    anchor_evidence,
    asks_for_holder,
    content_terms,
    contradicts,
    fold,
    history_before,
    is_about,
    left_post,
    missing_full_names,
    missing_numbers,
    stating_sentences,
    stems,
    strip_markers,
    to_citation,
    verify_citations,
    yes_no_evidence,
)
from rag.condense import condense, restates_last_turn, without_else
from rag.embed import Embedder
from rag.errors import RagError
from rag.focus import (
    Sentence,
    continuations,
    excerpt,
    newest_first,
    rank_sentences,
    select_excerpts,
    with_headlines,
)
from rag.index import Index
from rag.llm import backend_failure, llama_controls, load_chat_model, start_after_fixed_prefix
from rag.retrieve import HybridRetriever, TimeWeights, document_to_hit, out_of_time, time_boost
from rag.settings import Settings
from rag.timeframe import (
    TimeFrame,
    as_of_note,
    changed_note,
    names_no_time,
    question_frame,
    without_relative_time,
)
from rag.types import Chunk, Filters, Reply

History = Sequence[tuple[str, str]]
EMPTY_QUESTION_REPLY = "Please type a question about the news articles, for example: “Which militias were struck?”"


def refusal_text(question: str, notes: Sequence[str] = ()) -> str:
    """The plain 'not in the articles' reply, or why no article could be searched."""
    unmatched = next((note for note in notes if note.startswith(NO_MATCH)), "")
    if unmatched:
        return f"{unmatched} Widen the dates or the source and ask again."
    return f"The articles don't say. None of the passages I found answers “{question}”."


NO_MATCH = "No article matches the filters"


def dated_answer(cited: CitedAnswer, frame: TimeFrame, short: str, question: str, read: Sequence[Chunk]) -> str:
    """The answer, opened with its article's date when the question asks how things stand.

    "Who leads the party?" has a different answer each year, so the reader is told when it
    held: "As of June 28, 2021: ...". The newest cited article gives the date. When an older
    article the model read tells the same story and none of the older ones holds this answer,
    the reply says that the answer changed.
    """
    dates = sorted((c.date for c in cited.citations if c.date), reverse=True)
    if not frame.about_present or not dates:
        return cited.answer
    answer = as_of_note(cited.answer, dates[0])
    cited_docs = {c.doc_id for c in cited.citations}
    story = set(content_terms(question))
    earlier = [
        chunk
        for chunk in read
        if chunk.date
        and chunk.date < dates[0]
        and chunk.doc_id not in cited_docs
        and len(story & stems(chunk.text)) >= STORY_SHARE * len(story)
    ]
    if short and earlier and not any(fold(short) in fold(chunk.text) for chunk in earlier):
        oldest = min(chunk.date for chunk in earlier)
        answer += changed_note(oldest)
    return answer


STORY_SHARE = 0.6
"""Share of the question's content words an older article must hold to tell the same story."""


GATES = {
    "no_passages": "nothing was retrieved",
    "probe": "the model's probability of refusing was above the threshold",
    "model": "the model replied that the passages do not say",
    "support": "no passage contained the draft's words, even at a second look",
    "numbers": "the cited passages lack a number of the question (a year, a count, a date)",
    "names": "the cited passages hold none of the question's names of several words (an event, a prize)",
    "contradiction": "the draft's yes or no contradicted a sentence stating the question, which could not be quoted",
    "kind": "the answer is not the kind the question asks for (no time for “when”)",
    "left_post": "asked who holds a post, the answer named someone its passage says left it, and no one else was found",
    "similarity": "no sentence was similar enough to the question (extractive mode)",
}
"""The checks that can withhold an answer, by the name a reply's ``withheld_by`` gives."""


def withheld(turn: Turn, gate: str) -> tuple[CitedAnswer, str]:
    """No answer, and which check withheld it (one of :data:`GATES`)."""
    if gate not in GATES:
        raise ValueError(f"unknown check {gate!r}; one of {', '.join(GATES)}")
    turn.withheld_by = gate
    return CitedAnswer("", [], supported=False), ""


def supported_answer(
    draft: answering.Draft, excerpts: Sequence[Chunk], question: str, passages: Sequence[Chunk]
) -> tuple[CitedAnswer, str] | None:
    """The draft with verified citations, checked by its short answer, then its whole answer.

    ``passages`` are the retrieved passages the excerpts were cut from.
    """
    for claim in (draft.short, draft.answer):
        if claim:
            cited = verify_citations(draft.answer, claim, excerpts, question, sources=passages)
            if cited.supported:
                return cited, draft.short
    return None


def answered_phrase(found: tuple[CitedAnswer, str]) -> str:
    """What a verified answer names: its short answer, else the answer without citation markers."""
    cited, short = found
    return short or strip_markers(cited.answer)


def sanitize_question(raw: Any, max_chars: int) -> tuple[str, list[str]]:
    """A printable, bounded question, and notes on what was changed."""
    notes: list[str] = []
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
        notes.append(f"The question was longer than {max_chars} characters and was shortened.")
    return text, notes


@dataclass
class Turn:
    """The state of one question as it moves through the chain."""

    question: str
    history: History = ()
    filters: Filters = Filters()
    frame: TimeFrame = TimeFrame()
    standalone: str = ""
    passages: list[Chunk] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    excerpts: list[Chunk] = field(default_factory=list)
    raw: str = ""
    p_refusal: float | None = None
    refusal_threshold: float | None = None
    withheld_by: str = ""
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Assistant:
    """Answers questions over the index with cited passages."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        index: Index | None = None,
        chat_model: Any = "load",
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder.from_settings(settings)
        self.index = index or Index(settings, self.embedder)
        self.sentence_embedder = (
            self.embedder
            if settings.sentence_embedding_model == self.embedder.name
            else Embedder.from_settings(settings, settings.sentence_embedding_model)
        )
        if chat_model != "load":
            self.__dict__["chat_model"] = chat_model
        self._lock = threading.Lock()
        self.retriever = HybridRetriever(
            index=self.index,
            top_k=settings.top_k,
            candidate_k=settings.candidate_k,
            rrf_k=settings.rrf_k,
            weights=TimeWeights(
                recency=settings.recency_weight,
                unmarked_recency=settings.unmarked_recency_weight,
                half_life_days=settings.recency_half_life_days,
                period=settings.period_weight,
                superseded_days=settings.superseded_days,
            ),
        )

    @cached_property
    def chat_model(self) -> Any:
        """The LangChain chat model, loaded on first use (``None`` in extractive mode)."""
        return load_chat_model(self.settings)

    @cached_property
    def chain(self) -> Runnable:
        """``{"question", "history"}`` -> :class:`Reply`: condense | retrieve | generate | cite."""
        return (
            RunnableLambda(self._start)
            | RunnableLambda(self._condense)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._generate)
            | RunnableLambda(self._cite)
        )

    def warm_up(self) -> None:
        """Answer one question so the model and the prompt's fixed prefix are loaded and cached."""
        self.ask("What happened?")

    def ask(self, question: str, history: History = (), filters: Filters = Filters()) -> Reply:
        """Answer one question, with earlier ``(user, assistant)`` turns as context.

        ``filters`` limit the articles it may use (an as-of date, a date range, a source).
        ``timings["queue_s"]`` is how long it waited for questions asked before it.
        """
        waiting = time.perf_counter()
        with self._model_guard():
            queue_s = time.perf_counter() - waiting
            reply = self.chain.invoke({"question": question, "history": list(history), "filters": filters})
        reply.timings["queue_s"] = queue_s
        return reply

    def stream(self, question: str, history: History = (), filters: Filters = Filters()) -> Iterator[str | Reply]:
        """Yield pieces of answer text as they are generated, then the final :class:`Reply`.

        The streamed text is the model's draft; the :class:`Reply` carries the verified answer,
        which may differ (markers renumbered, or a refusal if no passage supports the draft).
        """
        turn = self._start({"question": question, "history": list(history), "filters": filters})
        if isinstance(turn, Reply):
            yield turn
            return
        with self._model_guard():
            turn = self._retrieve(self._condense(turn))
            yield from self._generate_stream(turn)
            yield self._cite(turn)

    def _model_guard(self) -> AbstractContextManager[Any]:
        """One question at a time.

        A plain lock, not an RLock: a web server may resume (and close) the ``stream``
        generator on another thread than the one that started it, and an RLock may only be
        released by its owner, which left it held for good and every later question waiting.

        llama.cpp is not thread-safe, and on a few CPU cores the embedder is fastest without
        other questions competing for the same cores (measured: twice the throughput at 20
        concurrent clients in extractive mode).
        """
        return self._lock

    @contextmanager
    def _calling_model(self) -> Iterator[None]:
        """Around every model call.

        A backend that fails (server down, bad key) becomes a clear ModelUnavailableError, and a
        llama.cpp model starts from the same cached prefix each time, so that an answer does not
        depend on the question asked before it.
        """
        try:
            start_after_fixed_prefix(self.chat_model, answering.answer_prefix(), self.settings.prompt_state_dir)
            yield
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 (every backend raises its own kinds)
            raise backend_failure(self.settings, exc) from exc

    # ---- steps ---------------------------------------------------------------------------
    def _start(self, inputs: dict[str, Any]) -> Turn | Reply:
        question, notes = sanitize_question(inputs.get("question"), self.settings.max_question_chars)
        if not question:
            return Reply(question="", answer=EMPTY_QUESTION_REPLY, abstained=True)
        if answering.INSTRUCTIONS.search(question):
            return Reply(question=question, answer=refusal_text(question), abstained=True, notes=notes)
        history = [(str(u), str(a)) for u, a in inputs.get("history") or []]
        return Turn(question=question, history=history, filters=inputs.get("filters") or Filters(), notes=notes)

    def _condense(self, turn: Turn | Reply) -> Turn | Reply:
        if isinstance(turn, Reply):
            return turn
        began = time.perf_counter()
        with self._calling_model():
            turn.standalone = condense(turn.question, turn.history, self.chat_model)
        turn.timings["condense_s"] = time.perf_counter() - began
        return turn

    def _retrieve(self, turn: Turn | Reply) -> Turn | Reply:
        if isinstance(turn, Reply):
            return turn
        began = time.perf_counter()
        turn.frame = question_frame(turn.standalone, turn.filters.as_of, now=self.index.newest_day())
        found = self.retriever.invoke(turn.standalone, filters=turn.filters, frame=turn.frame)
        turn.passages = [document_to_hit(d).chunk for d in found]
        turn.passages += continuations(turn.passages, self.index.following_chunks(turn.passages, MAX_GAP))
        allowed = self.index.allowed(turn.filters) if not turn.passages else None
        if allowed is not None and not allowed.any():
            turn.notes.append(f"{NO_MATCH} ({turn.filters.describe()}).")
        timeliness = [time_boost(chunk, turn.frame, self.retriever.weights) for chunk in turn.passages]
        ranked = rank_sentences(
            turn.standalone,
            turn.passages,
            self.sentence_embedder,
            timeliness,
            self.settings.sentence_time_weight,
            out_of_time(turn.standalone, turn.passages, turn.frame, self.retriever.weights),
        )
        turn.sentences = [s for s in ranked if not answering.INSTRUCTIONS.search(s.text)]
        restated = restates_last_turn(turn.question, turn.history)
        turn.sentences = [s for s in turn.sentences if not restated(s.text)] or turn.sentences
        turn.excerpts = with_headlines(
            turn.standalone, select_excerpts(turn.sentences, turn.passages, self.settings.context_chars)
        )
        if turn.frame.about_present and not turn.frame.named:
            turn.excerpts = newest_first(turn.excerpts)
        turn.refusal_threshold = self._refusal_threshold(turn.standalone, turn.excerpts)
        turn.timings["retrieve_s"] = time.perf_counter() - began
        return turn

    def _generate(self, turn: Turn | Reply) -> Turn | Reply:
        if isinstance(turn, Reply):
            return turn
        for _ in self._generate_stream(turn):
            pass
        return turn

    def _generate_stream(self, turn: Turn) -> Iterator[str]:
        began = time.perf_counter()
        if self.chat_model is not None and turn.excerpts:
            raw: list[str] = []
            extras, probe = llama_controls(self.chat_model, answering.ANSWER_GRAMMAR, answering.REFUSAL_TOKEN, "ANSWER")

            def tokens() -> Iterator[str]:
                messages = answering.answer_messages(
                    without_relative_time(without_else(turn.standalone, turn.history)), turn.excerpts
                )
                with self._calling_model():
                    for message_chunk in self.chat_model.stream(messages, **extras):
                        if self._doubtful(probe.p_refusal if probe else None, turn.refusal_threshold):
                            raw[:] = [answering.REFUSAL_TOKEN]
                            return
                        text = answering.to_text(message_chunk)
                        raw.append(text)
                        yield text

            yield from answering.stream_answer_text(tokens())
            turn.raw = "".join(raw)
            turn.p_refusal = probe.p_refusal if probe else None
        turn.timings["generate_s"] = turn.timings.get("generate_s", 0.0) + time.perf_counter() - began

    def _cite(self, turn: Turn | Reply) -> Reply:
        if isinstance(turn, Reply):
            return turn
        began, generated = time.perf_counter(), turn.timings.get("generate_s", 0.0)
        if self.chat_model is None:
            cited, short = self._extractive(turn)
        else:
            cited, short = self._verified_draft(turn)
        second_look_s = turn.timings.get("generate_s", 0.0) - generated
        turn.timings["cite_s"] = time.perf_counter() - began - second_look_s
        turn.timings["total_s"] = time.perf_counter() - turn.started
        reply = Reply(
            question=turn.question,
            answer=(
                dated_answer(cited, turn.frame, short, turn.standalone, turn.excerpts)
                if cited.supported
                else refusal_text(turn.question, turn.notes)
            ),
            short_answer=short if cited.supported else "",
            abstained=not cited.supported,
            citations=[replace(c, also_published=self.index.also_published(c.doc_id)) for c in cited.citations],
            timings=turn.timings,
            standalone_question=turn.standalone,
            notes=turn.notes,
            closest=[] if cited.supported else turn.passages[:3],
            retrieved=turn.passages,
            p_refusal=turn.p_refusal,
            withheld_by="" if cited.supported else turn.withheld_by,
            as_of=turn.frame.asked_on.isoformat() if turn.frame.asked_on else "",
        )
        return reply

    def _verified_draft(self, turn: Turn) -> tuple[CitedAnswer, str]:
        draft = answering.parse_draft(turn.raw, turn.standalone)
        if not turn.excerpts:
            return withheld(turn, "no_passages")
        if self._doubtful(turn.p_refusal, turn.refusal_threshold):
            return withheld(turn, "probe")
        if draft.refused:
            return withheld(turn, "model")
        yes_no = bool(answering.YES_NO.search(turn.standalone))
        found = (
            supported_answer(draft, turn.excerpts, turn.standalone, turn.passages)
            or self._found_beyond_excerpts(turn, draft)
            or (self._quoted_evidence(turn, draft.answer) if yes_no else None)
            or self._second_look(turn)
        )
        if found is None:
            turn.notes.append(
                f"The model's draft “{strip_markers(draft.answer)}” was not found in any passage, so it was withheld."
            )
            return withheld(turn, "support")
        if self.settings.check_left_post and asks_for_holder(turn.standalone, turn.frame.about_present):
            found = self._holder_not_leaver(turn, found)
            if found is None:
                return withheld(turn, "left_post")
        if yes_no and contradicts(turn.standalone, found[0].answer, turn.excerpts):
            turn.notes.append("The draft's yes or no contradicted the sentence stating the question.")
            found = self._quoted_evidence(turn, found[0].answer)
            if found is None:
                turn.notes.append("That sentence could not be quoted, so the answer was withheld.")
                return withheld(turn, "contradiction")
        if names_no_time(turn.standalone, answered_phrase(found)):
            turn.notes.append("The question asks when, and the answer names no time, so it was withheld.")
            return withheld(turn, "kind")
        # The user's own words: what a follow-up's rewrite put in stays unchecked.
        evidence = anchor_evidence(found[0].citations, turn.passages)
        if self.settings.require_question_numbers:
            missing = missing_numbers(turn.question, evidence)
            if missing:
                cited = list(dict.fromkeys(c.doc_id for c in found[0].citations))
                articles = [chunk.text for chunk in self.index.document_chunks(cited)]
                missing = missing_numbers(
                    turn.question, evidence, articles, history_before(found[0].citations, self.settings.history_years)
                )
            if missing:
                numbers = ", ".join(missing)
                turn.notes.append(f"The cited passages do not mention {numbers}, so the answer was withheld.")
                return withheld(turn, "numbers")
        if self.settings.require_question_names:
            missing = missing_full_names(turn.question, evidence)
            if missing:
                names = " or ".join(f"“{name}”" for name in missing)
                turn.notes.append(f"The cited passages do not mention {names}, so the answer was withheld.")
                return withheld(turn, "names")
        return found

    def _found_beyond_excerpts(self, turn: Turn, draft: answering.Draft) -> tuple[CitedAnswer, str] | None:
        """The draft verified against the retrieved sentences the model was not shown, if one is about the question.

        The excerpts are a few hundred characters of the best sentences; the model sometimes
        completes them from what it knows (a park "at Larkspur Ridge" lies "in Montana"). When a
        sentence of the retrieved passages that is about the question states the same, that
        sentence is the citation. A sentence that only shares the answer's words is not enough:
        that is how an answer to another question would slip through.
        """
        about = [
            excerpt(turn.passages[s.passage], s.start, s.end)
            for s in turn.sentences
            if is_about(turn.standalone, s.text)
        ]
        found = supported_answer(draft, about, turn.standalone, turn.passages) if about else None
        if found is not None:
            turn.notes.append("The model's answer was found in a retrieved passage beyond the excerpts it read.")
        return found

    def _quoted_evidence(self, turn: Turn, answer: str) -> tuple[CitedAnswer, str] | None:
        """The draft's yes or no, quoting the excerpt sentence it rests on (see :func:`rag.cite.yes_no_evidence`)."""
        found = yes_no_evidence(turn.standalone, answer, turn.excerpts, turn.passages)
        if found is not None:
            turn.notes.append("The draft's yes or no is given with the sentence of the passage it rests on.")
        return found

    def _second_look(self, turn: Turn) -> tuple[CitedAnswer, str] | None:
        """Ask once more with only the best-matching sentence, when it is close to the question.

        A small model shown several excerpts sometimes answers from the wrong one; shown only the
        closest sentence, it either finds the answer there (verified as before) or refuses.
        """
        best = turn.sentences[0] if turn.sentences else None
        if best is None or best.score < self.settings.second_look_min_score:
            return None
        found = self._ask_again(turn, [excerpt(turn.passages[best.passage], best.start, best.end)])
        if found is not None:
            turn.notes.append(
                "The first draft was not supported; this answer comes from a second look at the closest passage."
            )
        return found

    def _holder_not_leaver(self, turn: Turn, found: tuple[CitedAnswer, str]) -> tuple[CitedAnswer, str] | None:
        """``found``, unless its cited passage says the person named left the post asked about.

        Asked "Who is the chief executive?" beside "Hugo Brandt has stepped down as chief
        executive. The board named Ines Moreau as the new chief executive.", the small model
        answers with the name that comes first. Then the model is asked again without the
        sentences saying that person left, and that answer is verified as before.
        """
        name = answered_phrase(found)
        if not any(left_post(name, citation.text) for citation in found[0].citations):
            return found
        turn.notes.append(f"The cited passage says {name} left that post or was replaced in it.")
        remaining = [
            excerpt(chunk, start, end)
            for chunk in turn.excerpts
            for start, end in split_sentences(chunk.text)
            if not left_post(name, chunk.text[start:end])
        ]
        again = self._ask_again(turn, remaining) if remaining else None
        if again is None or any(left_post(answered_phrase(again), c.text) for c in again[0].citations):
            return None
        turn.notes.append("The answer comes from the passages without the sentences saying so.")
        return again

    def _ask_again(self, turn: Turn, excerpts: list[Chunk]) -> tuple[CitedAnswer, str] | None:
        """The model's answer from ``excerpts`` alone, verified as a first draft is; ``None`` if it refuses."""
        retry = Turn(question=turn.question, history=turn.history, standalone=turn.standalone, excerpts=excerpts)
        for _ in self._generate_stream(retry):
            pass
        turn.timings["generate_s"] = turn.timings.get("generate_s", 0.0) + retry.timings["generate_s"]
        turn.timings["second_look_s"] = turn.timings.get("second_look_s", 0.0) + retry.timings["generate_s"]
        draft = answering.parse_draft(retry.raw, turn.standalone)
        if draft.refused or self._doubtful(retry.p_refusal):
            return None
        return supported_answer(draft, retry.excerpts, turn.standalone, turn.passages)

    def _doubtful(self, p_refusal: float | None, threshold: float | None = None) -> bool:
        """True when the model leaned towards refusing more than ``threshold`` (else the tuned one) allows."""
        limit = self.settings.refusal_threshold if threshold is None else threshold
        return p_refusal is not None and p_refusal > limit

    def _refusal_threshold(self, question: str, excerpts: Sequence[Chunk]) -> float:
        """The tuned threshold, or the model's own choice for a yes/no question an excerpt states in full.

        The probe's threshold is tuned on questions whose answer is a name, number or phrase the
        excerpts may lack. A yes/no question one sentence states in full, with every content
        word of the question (see :func:`rag.cite.stating_sentences`), has its answer there: yes,
        or the sentence's negation. Asked "Did they consult ...?" beside "they had not
        consulted", the small model still leaned 7% to 28% towards refusing (tuning halves),
        above the threshold; unanswerable yes/no questions there had no such sentence.
        """
        if answering.YES_NO.search(question) and stating_sentences(question, excerpts):
            return self.settings.stated_yes_no_threshold
        return self.settings.refusal_threshold

    def _extractive(self, turn: Turn) -> tuple[CitedAnswer, str]:
        if not turn.sentences or turn.sentences[0].score < self.settings.extractive_min_score:
            return withheld(turn, "similarity")
        best = turn.sentences[0]
        sentence = best.text.strip()
        text = f"{sentence[:-1]} [1]{sentence[-1]}" if sentence[-1:] in ".!?" else f"{sentence} [1]"
        citation = to_citation(1, excerpt(turn.passages[best.passage], best.start, best.end))
        return CitedAnswer(text, [citation], supported=True), sentence
