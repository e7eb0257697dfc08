"""Retrieval in time: as-of dates, date and source filters on both retrievers, recency, named years."""

from datetime import date

import pytest

from rag.cite import CitedAnswer, to_citation
from rag.condense import conversation_text, previous_entity
from rag.index import Index
from rag.pipeline import Assistant, dated_answer
from rag.retrieve import TimeWeights, hybrid_search, time_boost
from rag.timeframe import question_frame, without_date_notes
from rag.types import Chunk, Filters

WEIGHTS = TimeWeights(recency=1.0, unmarked_recency=0.5, half_life_days=30, period=1.0)


@pytest.fixture(scope="module")
def time_index(time_index_settings, embedder) -> Index:
    return Index(time_index_settings, embedder)


def search(index: Index, question: str, filters: Filters = Filters(), top_k: int = 4):
    frame = question_frame(question, filters.as_of, now=index.newest_day())
    return hybrid_search(index, question, top_k, 20, 60, filters=filters, frame=frame, weights=WEIGHTS)


def test_dates_are_stored_with_how_they_were_found(time_index):
    rows = {row["source"].rsplit("/", 1)[-1]: row for row in time_index.documents()}
    mayor, undated = rows["port-alder-mayor-2021.txt"], rows["kesland-history.txt"]
    assert (mayor["date"], mayor["date_source"]) == ("2021-03-02", "text")
    assert (undated["date"], undated["date_source"]) == ("", "")
    assert {c.date_source for c in time_index.document_chunks([mayor["doc_id"]])} == {"text"}
    assert time_index.newest_day() == date(2024, 5, 20)


def test_no_article_after_as_of_is_used_by_either_retriever(time_index):
    as_of = date(2022, 6, 1)
    hits = search(time_index, "Who is the mayor of Port Alder?", Filters(as_of=as_of), top_k=10)
    assert hits and all(not h.chunk.date or date.fromisoformat(h.chunk.date) <= as_of for h in hits)
    assert any("Lena Ortiz" in h.chunk.text for h in hits)
    lexical = time_index.bm25.search("Reyes mayor Port Alder", 10, time_index.allowed(Filters(as_of=as_of)))
    assert all("Reyes" not in c.text for c in time_index.chunks([i for i, _ in lexical]))


def test_undated_articles_are_kept_by_as_of_but_not_by_a_date_range(time_index):
    question = "When was the Kesland border drawn?"
    kept = search(time_index, question, Filters(as_of=date(2015, 1, 1)))
    assert any("1962" in h.chunk.text for h in kept)
    ranged = search(time_index, question, Filters(since=date(2015, 1, 1)))
    assert all("1962" not in h.chunk.text for h in ranged)


def test_since_and_until_bound_the_dates(time_index):
    hits = search(time_index, "Meridian Prize winner", Filters(since=date(2020, 1, 1), until=date(2020, 12, 31)))
    assert hits and all(h.chunk.date.startswith("2020-") for h in hits)
    assert hits[0].chunk.date == "2020-10-08"


def test_source_filter_names_a_file_pattern_or_a_folder(time_index):
    hits = search(time_index, "peacekeepers", Filters(source="kesland-peacekeepers-202[04]*"))
    assert hits and all(("2020" in h.chunk.source or "2024" in h.chunk.source) for h in hits)
    undated = search(time_index, "Kesland border", Filters(source="undated/"))
    assert undated and all(h.chunk.source.startswith("undated/") or "/undated/" in h.chunk.source for h in undated)
    assert search(time_index, "peacekeepers", Filters(source="no-such-site.example")) == []


def test_questions_about_the_present_rank_the_newest_article_first(time_index):
    top = search(time_index, "How many peacekeepers remain in Kesland now?")[0]
    assert top.chunk.date == "2024-05-20"
    asked_earlier = search(time_index, "How many peacekeepers remain in Kesland now?", Filters(as_of=date(2023, 1, 1)))
    assert asked_earlier[0].chunk.date == "2022-07-08"


def test_a_named_year_is_matched_and_not_pulled_toward_recent_articles(time_index):
    top = search(time_index, "Who won the 2019 Meridian Prize?")[0]
    assert top.chunk.date == "2019-10-10"


def test_time_boost_weights():
    chunk = Chunk("c", "d", "Text from 2019.", 0, 10, date="2023-05-05")
    undated = Chunk("c", "d", "Text.", 0, 5)
    now = question_frame("Who leads now?", date(2023, 5, 5))
    assert time_boost(chunk, now, WEIGHTS) == pytest.approx(2.0)
    assert time_boost(undated, now, WEIGHTS) == pytest.approx(1.0)
    month_old = Chunk("c", "d", "Text.", 0, 5, date="2023-04-05")
    assert time_boost(month_old, now, WEIGHTS) == pytest.approx(1.5)
    named = question_frame("Who won in 2019?", date(2023, 5, 5))
    assert time_boost(chunk, named, WEIGHTS) == pytest.approx(2.0)  # mentions 2019, no recency
    assert time_boost(month_old, named, WEIGHTS) == pytest.approx(1.0)


def test_a_filter_that_matches_nothing_says_so(time_index_settings, embedder):
    assistant = Assistant(time_index_settings, embedder=embedder)
    reply = assistant.ask("Who won the Harbour Cup?", filters=Filters(until=date(2001, 1, 1)))
    assert reply.abstained
    assert "No article matches the filters (until 2001-01-01)" in reply.answer
    answered = assistant.ask("Who won the Harbour Cup?", filters=Filters(as_of=date(2023, 1, 10)))
    assert answered.as_of == "2023-01-10"
    assert all(c.date <= "2023-01-10" for c in answered.citations)


def test_answers_about_how_things_stand_are_dated_and_say_when_they_changed():
    newer = Chunk("n", "doc-2023", "Tomas Reyes became the mayor of Port Alder on Monday.", 0, 50, date="2023-03-06")
    older = Chunk("o", "doc-2021", "Lena Ortiz was sworn in as the mayor of Port Alder.", 0, 50, date="2021-03-02")
    cited = CitedAnswer("Tomas Reyes [1]", [to_citation(1, newer)], supported=True)
    question = "Who is the mayor of Port Alder?"
    frame = question_frame(question, date(2024, 6, 1))
    assert dated_answer(cited, frame, "Tomas Reyes", question, [newer]) == "As of March 6, 2023: Tomas Reyes [1]"
    assert dated_answer(cited, frame, "Tomas Reyes", question, [newer, older]) == (
        "As of March 6, 2023: Tomas Reyes [1] This changed: an article of March 2, 2021 said otherwise."
    )
    event = question_frame("Who was sworn in as mayor of Port Alder?", date(2024, 6, 1))
    assert dated_answer(cited, event, "Tomas Reyes", question, [newer, older]) == "Tomas Reyes [1]"


def test_a_follow_up_reads_the_answer_without_our_date_notes():
    newer = Chunk("n", "doc-2023", "Tomas Reyes became the mayor of Port Alder on Monday.", 0, 50, date="2023-03-06")
    older = Chunk("o", "doc-2021", "Lena Ortiz was sworn in as the mayor of Port Alder.", 0, 50, date="2021-03-02")
    cited = CitedAnswer("Tomas Reyes [1]", [to_citation(1, newer)], supported=True)
    question = "Who is the mayor of Port Alder?"
    shown = dated_answer(cited, question_frame(question, date(2024, 6, 1)), "Tomas Reyes", question, [newer, older])
    assert shown.startswith("As of") and "This changed" in shown
    assert without_date_notes(shown) == "Tomas Reyes [1]"
    assert previous_entity([(question, shown)]) == "Tomas Reyes"
    assert "As of" not in conversation_text([(question, shown)])
    assert without_date_notes("As of now, nothing changed.") == "As of now, nothing changed."


def test_an_index_stored_before_days_gets_them_at_the_next_ingest_without_embedding_again(index, corpus, caplog):
    got = index.collection.get(include=["documents", "metadatas", "embeddings"])
    index.collection.delete(ids=got["ids"])
    old_metadata = [{k: v for k, v in meta.items() if k != "day"} for meta in got["metadatas"]]
    index.collection.add(
        ids=got["ids"], documents=got["documents"], embeddings=got["embeddings"], metadatas=old_metadata
    )
    index.rebuild_bm25()
    assert "before article dates were stored" in caplog.text
    assert index.where(Filters(as_of=date(2021, 1, 1))) is None  # ignored, rather than excluding everything

    summary = index.ingest([corpus])
    assert (summary.unchanged, summary.chunks_written) == (1, 0)
    assert all(meta["day"] == 20210628 for meta in index.collection.get(include=["metadatas"])["metadatas"])
    assert search(index, "Which militias were struck?", Filters(as_of=date(2021, 1, 1))) == []
    assert search(index, "Which militias were struck?", Filters(as_of=date(2021, 7, 1)))


@pytest.mark.parametrize(
    "filters",
    [
        Filters(as_of=date(2022, 12, 31)),
        Filters(since=date(2022, 1, 1), until=date(2022, 12, 31)),
        Filters(source="meridian"),
        Filters(source="no-such-site.example"),
    ],
)
def test_filtered_dense_search_equals_chromas_own_where(time_index, filters):
    time_index.ensure_bm25()
    query = time_index.embedder.encode_query("Who won the prize?")
    ours = time_index.dense_search(query, 5, filters, time_index.allowed(filters))
    chromas = time_index._nearest(query, 5, time_index.where(filters))
    assert [i for i, _ in ours] == [i for i, _ in chromas]


@pytest.mark.parametrize(
    "filters",
    [Filters(as_of=date(2022, 12, 31)), Filters(source="meridian"), Filters(source="no-such-site.example")],
)
def test_exact_search_over_stored_embeddings_equals_chromas_where(time_index, filters, monkeypatch):
    import rag.index

    monkeypatch.setattr(rag.index, "MIN_OVERFETCH_SHARE", 2.0)
    time_index.ensure_bm25()
    assert time_index.bm25.vectors is not None and time_index.bm25.vectors.shape[0] == time_index.count()
    query = time_index.embedder.encode_query("Who won the prize?")
    ours = time_index.dense_search(query, 5, filters, time_index.allowed(filters))
    chromas = time_index._nearest(query, 5, time_index.where(filters))
    assert [i for i, _ in ours] == [i for i, _ in chromas]
    assert [round(s, 4) for _, s in ours] == [round(s, 4) for _, s in chromas]
