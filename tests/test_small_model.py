"""A weaker chat model (the packaged Qwen2.5-Coder-0.5B behind `gguf:`) stays grounded.

Users plug in other models; whatever a model writes, an answer must be found in the passage it
cites, and a question the article does not answer must be refused.
"""

import pytest

from rag.cite import SUPPORT_THRESHOLD, support
from rag.llm import SMALL_MODEL
from rag.packaged import assemble_packaged_model
from rag.pipeline import Assistant

pytestmark = pytest.mark.llm

QUESTIONS = [
    "Which militias were struck?",
    "How many U.S. troops remain in Iraq?",
    "Who is Saeed Khatibzadeh?",
    "Who won the 2020 World Cup?",
    "What is the population of Baghdad?",
]


@pytest.fixture(scope="module")
def small_assistant(seed_index_settings, embedder):
    path = assemble_packaged_model(SMALL_MODEL, seed_index_settings.model_cache)
    return Assistant(seed_index_settings.model_copy(update={"llm": f"gguf:{path}"}), embedder=embedder)


def test_every_answer_of_a_weaker_model_is_found_in_its_cited_passage(small_assistant):
    replies = [small_assistant.ask(q) for q in QUESTIONS]
    for reply in replies:
        if reply.abstained:
            assert not reply.citations and reply.withheld_by
            continue
        cited = " ".join(c.text for c in reply.citations)
        assert support(reply.short_answer or reply.answer, cited, reply.question) >= SUPPORT_THRESHOLD, reply
    assert replies[3].abstained, "the article does not say who won the 2020 World Cup"
    assert sum(not r.abstained for r in replies[:3]) >= 1, "a model that answers nothing is no use either"


def test_a_gguf_file_runs_with_the_rope_base_it_was_trained_with(small_assistant):
    client = small_assistant.chat_model.client
    assert float(client.metadata["qwen2.rope.freq_base"]) == 1_000_000
    assert client.context_params.rope_freq_base == 0, "0 makes llama.cpp read the base from the file"


def test_gpu_layers_reach_llama_cpp_and_a_cpu_build_still_answers(small_assistant):
    from rag.llm import load_chat_model

    settings = small_assistant.settings.model_copy(update={"llm_gpu_layers": -1})
    model = load_chat_model(settings)
    assert model.client.model_params.n_gpu_layers == 2**31 - 1, "-1 (all layers) reaches llama.cpp as the largest int"
    assert small_assistant.chat_model.client.model_params.n_gpu_layers == 0
    on_cpu = small_assistant.ask(QUESTIONS[1])
    asked = Assistant(settings, embedder=small_assistant.embedder, chat_model=model).ask(QUESTIONS[1])
    assert (asked.answer, asked.p_refusal) == (on_cpu.answer, on_cpu.p_refusal)
