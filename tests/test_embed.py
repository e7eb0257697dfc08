"""The embedding backends: the ONNX exports must embed as the sentence-transformers model does."""

import subprocess
import sys

import numpy as np
import pytest

from rag.embed import Embedder
from rag.settings import Settings

TEXTS = [
    "Which militias were struck?",
    "The two militias that were targeted in the strikes were Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah.",
    "About 2,500 U.S. troops remain in Iraq. " * 20,
]


@pytest.mark.parametrize("backend,min_cosine", [("onnx", 0.999), ("onnx-int8", 0.9)])
def test_onnx_backends_are_exported_locally_and_agree_with_torch(tmp_path, backend, min_cosine):
    settings = Settings(embedding_backend=backend, model_cache=tmp_path)
    exported = Embedder.from_settings(settings).encode(TEXTS)
    reference = Embedder.from_settings(settings.model_copy(update={"embedding_backend": "torch"}))
    cosine = (reference.encode(TEXTS) * exported).sum(axis=1)
    assert exported.shape == (len(TEXTS), 384)
    assert np.all(cosine >= min_cosine), cosine
    assert list(tmp_path.rglob("*.onnx"))


def test_a_text_gets_the_same_vector_whatever_it_is_embedded_with(embedder):
    alone = embedder.encode(TEXTS[1:2])
    among_others = embedder.encode(TEXTS)[1:2]
    assert np.array_equal(alone, among_others)


def test_the_exported_model_reads_the_same_tokens_without_loading_sentence_transformers(embedder):
    from pathlib import Path

    from rag.embed import fast_tokenizer, model_tokenizer

    texts = [*TEXTS, "", "Ünïcödé façade — naïve café ½ 中文 😀", "Kata’ib " * 400]
    fast, own = fast_tokenizer(Path(embedder.location)), model_tokenizer(embedder.model)
    for batch in [texts, *([t] for t in texts)]:
        ours, theirs = fast(batch), own(batch)
        assert all(np.array_equal(ours[key], theirs[key]) for key in theirs), batch
    check = (
        "import sys; from rag.embed import Embedder; from rag.settings import Settings; "
        "Embedder.from_settings(Settings()).encode(['Which militias were struck?']); "
        "print('sentence_transformers' in sys.modules, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=600)
    assert done.stdout.split() == ["False", "False"], done.stderr
