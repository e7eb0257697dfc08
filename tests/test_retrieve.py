import pytest

from rag.retrieve import HybridRetriever, hybrid_search, reciprocal_rank_fusion


@pytest.mark.parametrize(
    "rankings,expected",
    [
        ([], []),
        ([[]], []),
        ([["a", "b", "c"]], ["a", "b", "c"]),
        ([["a", "b"], ["b", "a"]], ["a", "b"]),
        ([["a", "b", "c"], ["c", "b"]], ["c", "b", "a"]),
        ([["a", "b", "c"], ["b"]], ["b", "a", "c"]),
    ],
)
def test_rrf_order(rankings, expected):
    assert [item for item, _ in reciprocal_rank_fusion(rankings, k=60)] == expected


def test_rrf_scores_and_input_untouched():
    rankings = [["x", "y"], ["y"]]
    fused = dict(reciprocal_rank_fusion(rankings, k=10))
    assert fused["y"] == pytest.approx(1 / 12 + 1 / 11)
    assert fused["x"] == pytest.approx(1 / 11)
    assert rankings == [["x", "y"], ["y"]]


def test_hybrid_finds_the_militia_passage(index):
    hits = hybrid_search(index, "Which militias were struck?", top_k=4, candidate_k=20, rrf_k=60)
    assert any("Kata’ib Hezbollah" in hit.chunk.text for hit in hits)
    assert all(hit.chunk.text == hit.chunk.text.strip() for hit in hits)


def test_bm25_alone_matches_rare_names(index):
    ids = [i for i, _ in index.bm25.search("Khatibzadeh", 3)]
    assert any("Khatibzadeh" in c.text for c in index.chunks(ids))


def test_langchain_retriever_interface(index):
    retriever = HybridRetriever(index=index, top_k=3)
    documents = retriever.invoke("Who is Farhad Alaaldin?")
    assert 0 < len(documents) <= 3
    assert any("Alaaldin" in d.page_content for d in documents)
    meta = documents[0].metadata
    assert {"doc_id", "title", "date", "source", "start", "end", "score"} <= set(meta)
