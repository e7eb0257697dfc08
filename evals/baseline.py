"""The plain LangChain RAG recipe, as the tutorial builds it, for side-by-side reports.

Splitter 1000/200, top-4 similarity from a Chroma collection, the tutorial's prompt and the
same chat model as the engine. No focus, no refusal probe, no citation checks: what a user
gets from the recipe. It reads the same articles through the same loader, so the difference
in a report is the answering, not the files.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_text_splitters import RecursiveCharacterTextSplitter

from evals.runner import Result, summarize
from evals.suites import Case
from rag.clean import clean
from rag.embed import ChromaEmbeddingFunction, Embedder
from rag.llm import load_chat_model
from rag.load import Skipped, load
from rag.metrics import score_reply
from rag.settings import Settings

RECIPE_PROMPT = ChatPromptTemplate.from_template(
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
    "to answer the question. If you don't know the answer, just say that you don't know. Use three "
    "sentences maximum and keep the answer concise.\nQuestion: {question}\nContext: {context}\nAnswer:"
)
DONT_KNOW = re.compile(
    r"\b(i )?(do not|don't|cannot|can't) (know|say|determine|find)|not (mentioned|provided|stated|specified)|"
    r"no (information|mention)|does not (say|mention|specify|provide)",
    re.IGNORECASE,
)
RECIPE_CHUNK_SIZE, RECIPE_CHUNK_OVERLAP, RECIPE_TOP_K = 1000, 200, 4


def build_collection(embedder: Embedder, articles: Path, folder: Path) -> Any:
    """A Chroma collection of the articles split as the recipe splits them."""
    import chromadb

    client = chromadb.PersistentClient(path=str(folder))
    collection = client.create_collection("recipe", embedding_function=ChromaEmbeddingFunction(embedder))
    splitter = RecursiveCharacterTextSplitter(chunk_size=RECIPE_CHUNK_SIZE, chunk_overlap=RECIPE_CHUNK_OVERLAP)
    ids, texts, metas = [], [], []
    for item in load([articles]):
        if isinstance(item, Skipped):
            continue
        article = clean(item)
        for n, text in enumerate(splitter.split_text(article.text)):
            ids.append(f"{article.doc_id}-{n}")
            texts.append(text)
            metas.append(
                {"doc_id": article.doc_id, "title": article.title, "date": article.date, "source": item.source}
            )
    for start in range(0, len(ids), 256):
        end = start + 256
        collection.add(ids=ids[start:end], documents=texts[start:end], metadatas=metas[start:end])
    return collection


def run_baseline(
    settings: Settings,
    embedder: Embedder,
    articles: Path | None,
    cases: Sequence[Case],
    chat_model: Any = None,
) -> dict[str, Any]:
    """The recipe's metrics on ``cases`` (single questions; a conversation's last turn alone).

    The recipe answers in up to three sentences, so it may write more tokens than the engine.
    """
    if articles is None:
        articles = settings.corpus
    model = chat_model or load_chat_model(
        settings.model_copy(update={"max_answer_tokens": max(settings.max_answer_tokens, 120)})
    )
    if model is None:
        return {"error": "the recipe needs a chat model; extractive mode has none"}
    with tempfile.TemporaryDirectory(prefix="rag-recipe-") as scratch:
        collection = build_collection(embedder, articles, Path(scratch))

        def retrieve(question: str) -> list[dict[str, Any]]:
            found = collection.query(query_texts=[question], n_results=RECIPE_TOP_K)
            return [{"text": t, **m} for t, m in zip(found["documents"][0], found["metadatas"][0], strict=True)]

        chain = (
            {"hits": RunnableLambda(retrieve), "question": RunnablePassthrough()}
            | RunnablePassthrough.assign(context=lambda x: "\n\n".join(h["text"] for h in x["hits"]))
            | {"answer": RECIPE_PROMPT | model | StrOutputParser(), "hits": lambda x: x["hits"]}
        )
        results = []
        for case in cases:
            began = time.perf_counter()
            out = chain.invoke(case.last_question)
            answer = out["answer"].strip()
            abstained = bool(DONT_KNOW.search(answer))
            citations = [
                {
                    "n": n,
                    "doc_id": h["doc_id"],
                    "title": h["title"],
                    "date": h["date"],
                    "source": h["source"],
                    "text": h["text"],
                }
                for n, h in enumerate(out["hits"], start=1)
            ]
            reply = {
                "answer": answer,
                "short_answer": "" if abstained else answer,
                "abstained": abstained,
                "citations": [] if abstained else citations,
                "timings": {"total_s": time.perf_counter() - began},
            }
            scores = score_reply(case.as_dict(), reply, [h["text"] for h in out["hits"]])
            results.append(Result(case, reply, [reply], scores))
    return {
        "recipe": "LangChain RAG tutorial (1000/200 splitter, top-4 Chroma similarity, tutorial prompt)",
        "metrics": summarize(results),
        "cases": [{"id": r.case.id, "answer": r.reply["answer"], "correct": r.scores["correct"]} for r in results],
    }
