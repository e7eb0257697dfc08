"""One settings object for the whole engine.

Precedence: a CLI flag beats an environment variable (``RAG_*``), which beats the default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the pipeline, read from ``RAG_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    corpus: Path = Field(Path("corpus"), description="Folder of articles ingested by default.")
    index_dir: Path = Field(Path(".rag-index"), description="Where Chroma and BM25 data live.")
    collection: str = Field("news", description="Chroma collection name.")
    chroma_host: str | None = Field(None, description="Chroma server host; embedded if unset.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    max_file_mb: float = Field(100.0, description="Corpus files larger than this are skipped unread, with a warning.")
    max_html_mb: float = Field(
        10.0, description="HTML is parsed whole, so HTML files larger than this are skipped, with a warning."
    )
    read_section_mb: float = Field(
        1.0, description="Larger text files are read, cleaned and chunked a section of this size at a time."
    )
    fetch_timeout_s: float = Field(20.0, description="Seconds before a web page or feed download is given up.")
    user_agent: str = Field("newsrag/0.1 (article indexer)", description="User agent sent with downloads.")
    fetch_private_addresses: bool = Field(
        False,
        description="Allow downloads from loopback and private network addresses (off: a shared server "
        "cannot be made to probe the machines behind it).",
    )
    merge_wire_copies: bool = Field(
        True, description="Keep one copy of a story republished by several outlets; note the others beside it."
    )
    wire_copy_threshold: float = Field(
        0.8, description="Estimated Jaccard similarity of two articles' leads above which one is a copy."
    )
    wire_copy_lead_words: int = Field(300, description="Words at the start of an article compared for copies.")
    ingest_wait_s: float = Field(10.0, description="How long an ingest waits for another one on the same index.")
    index_refresh_s: float = Field(
        30.0,
        description="How often a running app checks whether another process changed the index.",
    )

    embedding_model: str = Field(
        "packaged:all-MiniLM-L6-v2",
        description=(
            "Embeds the chunks and the search: 'packaged:all-MiniLM-L6-v2', 'packaged:nomic-embed-text-v1.5', "
            "a sentence-transformers name or folder, gguf:PATH, ollama:MODEL or openai:MODEL."
        ),
    )
    sentence_embedding_model: str = Field(
        "packaged:all-MiniLM-L6-v2",
        description=(
            "Ranks the sentences of the retrieved passages for each question (the same kinds of name). "
            "It embeds ~50 sentences per question, and the ranking's weights were tuned with MiniLM."
        ),
    )
    embedding_backend: str = Field(
        "onnx-int8",
        description="onnx-int8 (1.8x faster, same retrieval), onnx or torch; ONNX files are exported locally once.",
    )
    embedding_batch_size: int = Field(64, description="Chunks embedded per batch.")

    chunk_size: int = Field(600, description="Target chunk length in characters.")
    chunk_overlap: int = Field(100, description="Characters shared by neighbouring chunks.")

    llm: str = Field(
        "local",
        description="Chat backend: local, gguf:PATH, ollama:MODEL, openai:MODEL or extractive.",
    )
    model_cache: Path = Field(
        Path.home() / ".cache" / "newsrag",
        description="Folder where the packaged GGUF model is assembled once.",
    )
    openai_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible API.")
    ollama_base_url: str = Field("http://127.0.0.1:11434", description="Ollama server URL.")
    llm_threads: int | None = Field(None, description="CPU threads for llama.cpp (all cores).")
    llm_context: int = Field(2048, description="Context window of the local model, in tokens.")
    llm_gpu_layers: int = Field(
        0,
        description="Layers of a GGUF model that llama.cpp runs on the GPU (-1: all). Needs llama-cpp-python "
        "built with GPU support; a CPU build runs every layer on the CPU whatever this says.",
    )
    llm_rope_freq_base: float | None = Field(
        None,
        description="RoPE base frequency of a local GGUF model; 0 reads the file's own. Unset, the "
        "packaged model runs with 10,000 (what its thresholds were tuned with), any other GGUF file with its own.",
    )
    refusal_threshold: float = Field(
        0.05, description="Refuse when the local model's probability of refusing is above this."
    )
    stated_yes_no_threshold: float = Field(
        0.5,
        description="Refusal threshold for a yes/no question one excerpt sentence states in full "
        "(every content word of the question in it): 0.5 leaves the choice to the model.",
    )
    max_answer_tokens: int = Field(60, description="Upper bound on generated answer tokens.")

    top_k: int = Field(6, description="Passages retrieved per question, narrowed by focus.")
    context_chars: int = Field(600, description="Characters of best-matching sentences given to the chat model.")
    candidate_k: int = Field(20, description="Candidates each retriever returns before fusion.")
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.")
    recency_weight: float = Field(
        1.0,
        description="How far articles near the as-of date rise for questions about the present "
        "(“currently”, “this week”): an article of that day scores 1 + this times more.",
    )
    unmarked_recency_weight: float = Field(0.5, description="The same rise for questions that name no time at all.")
    recency_half_life_days: float = Field(30.0, description="Days after which the recency rise halves.")
    sentence_time_weight: float = Field(
        1.0,
        description="How far sentences of articles from the wrong time fall when choosing what the model reads.",
    )
    superseded_days: int = Field(
        90,
        description="Asked how things stand, the model is not shown articles this many days older than "
        "the newest article about the question.",
    )
    period_weight: float = Field(
        1.0,
        description="How far articles dated in a period the question names (“in 2021”, “last month”) rise.",
    )
    max_question_chars: int = Field(2000, description="Longer questions are truncated.")
    extractive_min_score: float = Field(
        0.35, description="Minimum question-sentence similarity for an extractive answer."
    )
    require_question_numbers: bool = Field(
        True,
        description="Refuse when a year, decade or century the question names is missing from the cited passages, "
        "or another number of it (a count) from the cited articles.",
    )
    history_years: int = Field(
        10,
        description="A year the question names this long before the cited articles' dates is history: "
        "it may be anywhere in the cited articles, not only in the cited passages.",
    )
    require_question_names: bool = Field(
        True,
        description="Refuse when the cited passages hold none of the question's names of several words "
        "(“Harlow Open”, “Kestrel Book Award”): they answer about another event.",
    )
    check_left_post: bool = Field(
        True,
        description="Asked who holds a post now, or who took it over, do not answer with someone the cited passage "
        "says left it (“has stepped down”, “former”); ask again without those sentences.",
    )
    second_look_min_score: float = Field(
        0.6,
        description="An unsupported draft gets a second try on the closest sentence if it is at least this similar.",
    )

    @property
    def prompt_state_dir(self) -> Path:
        """Where llama.cpp's evaluated prompt prefix is kept between runs (see ``rag.llm``)."""
        return self.model_cache / "prompt-states"
