"""The real local model (Qwen2.5-Coder-1.5B via llama.cpp) answering over the seed article."""

import pytest

from rag.cite import fold

pytestmark = pytest.mark.llm


def test_militias_are_named_and_cited(local_assistant):
    reply = local_assistant.ask("Which militias were struck?")
    assert not reply.abstained
    answer = fold(reply.answer)
    assert "sayyid al-shuhada" in answer and "hezbollah" in answer
    assert reply.citations
    cited = fold(" ".join(c.text for c in reply.citations))
    assert "sayyid al-shuhada" in cited and "hezbollah" in cited
    assert "[1]" in reply.answer
    assert reply.short_answer


def test_question_the_article_does_not_answer_is_refused(local_assistant):
    reply = local_assistant.ask("Who won the 2020 World Cup?")
    assert reply.abstained
    assert reply.answer.startswith("The articles don't say")
    assert reply.citations == [] and reply.short_answer == ""


def test_follow_up_uses_the_conversation(local_assistant):
    first = local_assistant.ask("Who is Saeed Khatibzadeh?")
    assert "spokesman" in first.answer.lower()
    second = local_assistant.ask("What did he say about the United States?", [(first.question, first.answer)])
    assert "khatibzadeh" in second.standalone_question.lower()
    assert not second.abstained
    assert "disrupt" in second.answer.lower()


def test_streaming_yields_text_then_the_reply(local_assistant):
    parts = list(local_assistant.stream("How many U.S. troops remain in Iraq?"))
    *pieces, reply = parts
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "2,500" in "".join(pieces)
    assert "2,500" in reply.answer and reply.citations


def test_an_answer_does_not_depend_on_the_question_asked_before_it(local_assistant):
    question = "How many U.S. troops remain in Iraq?"
    replies = []
    for before in ("Which militias were struck?", "Who is the spokesman for Iran's Foreign Ministry?"):
        local_assistant.ask(before)
        replies.append(local_assistant.ask(question))
    first, second = replies
    assert first.p_refusal is not None
    assert (first.answer, first.p_refusal) == (second.answer, second.p_refusal)


def test_the_packaged_model_runs_with_the_rope_base_its_thresholds_were_tuned_with(local_assistant):
    from rag.llm import LOCAL_MODEL

    assert local_assistant.chat_model.client.context_params.rope_freq_base == LOCAL_MODEL.rope_freq_base == 10_000


def test_the_llama_cpp_chat_model_streams_what_it_returns_and_honours_stop(local_assistant):
    from langchain_core.messages import HumanMessage

    model = local_assistant.chat_model
    messages = [HumanMessage("Write the numbers 1 to 5, each on its own line, and nothing else.")]
    whole = model.invoke(messages).content
    assert "".join(chunk.content for chunk in model.stream(messages)) == whole
    assert whole.strip().splitlines()[:2] == ["1", "2"]
    assert model.invoke(messages, stop=["\n"]).content.strip() == "1"


def test_a_saved_prompt_prefix_answers_exactly_as_an_evaluated_one(local_assistant, tmp_path, caplog):
    from rag.answer import answer_prefix
    from rag.llm import start_after_fixed_prefix

    model = local_assistant.chat_model

    def reply_after_prefix():
        model.client.reset()
        start_after_fixed_prefix(model, answer_prefix(), tmp_path)
        reply = local_assistant.ask("How many U.S. troops remain in Iraq?")
        return reply.answer, reply.p_refusal

    evaluated = reply_after_prefix()
    (state,) = tmp_path.glob("prefix-*.llama-state")
    written = state.stat().st_mtime_ns
    assert reply_after_prefix() == evaluated
    assert state.stat().st_mtime_ns == written, "the prefix was evaluated again instead of loaded"
    state.write_bytes(b"not a llama.cpp state")
    assert reply_after_prefix() == evaluated
    assert "Ignoring the saved prompt state" in caplog.text
    assert state.stat().st_size > 1_000_000, "a damaged state file is replaced by a good one"
