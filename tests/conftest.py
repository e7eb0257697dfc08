"""Shared fixtures: the real packaged embedder, real Chroma indexes in temporary folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.embed import Embedder  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
SEED_ARTICLE = next(SEED_CORPUS.glob("*.txt"))


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(Settings().embedding_model)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", corpus=tmp_path / "corpus", llm="extractive")


@pytest.fixture
def corpus(settings: Settings) -> Path:
    settings.corpus.mkdir(parents=True)
    shutil.copy(SEED_ARTICLE, settings.corpus / SEED_ARTICLE.name)
    return settings.corpus


@pytest.fixture
def index(settings: Settings, embedder: Embedder, corpus: Path) -> Index:
    built = Index(settings, embedder, create=True)
    built.ingest([corpus])
    return built


@pytest.fixture(scope="session")
def seed_index_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """One index of the seed corpus shared by the slow answering tests."""
    folder = tmp_path_factory.mktemp("seed")
    settings = Settings(index_dir=folder / "index", corpus=SEED_CORPUS)
    Index(settings, embedder, create=True).ingest([SEED_CORPUS])
    return settings


@pytest.fixture(scope="session")
def local_assistant(seed_index_settings: Settings, embedder: Embedder):
    """The real default stack: packaged Qwen2.5-Coder-1.5B through llama.cpp."""
    from rag.pipeline import Assistant

    return Assistant(seed_index_settings.model_copy(update={"llm": "local"}), embedder=embedder)
