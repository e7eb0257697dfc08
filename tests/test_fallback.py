"""What happens to a model draft that no passage supports (a scripted chat model stands in)."""

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from rag.pipeline import Assistant


def assistant_drafting(index, *drafts: str, **settings) -> Assistant:
    model = FakeListChatModel(responses=list(drafts))
    configured = index.settings.model_copy(update=settings)
    return Assistant(configured, embedder=index.embedder, index=index, chat_model=model)


def test_an_unsupported_draft_gets_a_second_look_at_the_closest_sentence(index):
    question = "Who did the Popular Mobilization Forces say the airstrikes had targeted?"
    assistant = assistant_drafting(index, "ANSWER: a power plant near Erbil [4].", "ANSWER: its fighters [1].")
    reply = assistant.ask(question)
    assert not reply.abstained and reply.short_answer == "its fighters"
    assert len(reply.citations) == 1 and "targeted its fighters" in reply.citations[0].text
    assert any("second look" in note for note in reply.notes)


def test_a_draft_beyond_the_excerpts_is_cited_to_the_retrieved_sentence_about_the_question(index):
    """With room for one sentence, the model reads another than the one that states its answer."""
    assistant = assistant_drafting(
        index, "ANSWER: both sides of the Iraqi-Syrian border [1].", "ANSWER: a second draft [1].", context_chars=120
    )
    reply = assistant.ask("Where were the targets of the strikes?")
    assert not reply.abstained and "the Iraqi-Syrian border" in reply.short_answer
    assert reply.citations[0].text == "The Pentagon said the strikes had hit both sides of the Iraqi-Syrian border."
    assert any("beyond the excerpts" in note for note in reply.notes)
    assert assistant.chat_model.i == 1, "a second look ran although the draft was verified"


def test_a_draft_found_only_in_a_sentence_about_something_else_is_withheld(index):
    reply = assistant_drafting(index, "ANSWER: Vienna [1].", "ANSWER: Vienna [1].").ask(
        "Where were the targets of the strikes?"
    )
    assert reply.abstained and reply.withheld_by == "support"


def test_an_answer_to_when_that_names_no_time_is_withheld(index):
    question = "When did Saeed Khatibzadeh become spokesman for the Iranian Foreign Ministry?"
    reply = assistant_drafting(index, "ANSWER: spokesman for the Iranian Foreign Ministry [1].").ask(question)
    assert reply.abstained and reply.withheld_by == "kind"
    assert any("names no time" in note for note in reply.notes)


def test_a_second_unsupported_draft_is_withheld(index):
    question = "Who did the Popular Mobilization Forces say the airstrikes had targeted?"
    reply = assistant_drafting(index, "ANSWER: a power plant [1].", "ANSWER: a power plant [1].").ask(question)
    assert reply.abstained and not reply.citations and reply.short_answer == ""
    assert reply.withheld_by == "support" and reply.to_dict()["withheld_by"] == "support"
    assert any("withheld" in note for note in reply.notes)


def test_no_second_look_when_no_sentence_is_close(index):
    assistant = assistant_drafting(index, "ANSWER: France [1].", "ANSWER: a second draft [1].")
    reply = assistant.ask("Who won the 2020 World Cup?")
    assert assistant.chat_model.i == 1, "the model was asked a second time"
    assert reply.abstained and not reply.citations
    assert any("withheld" in note for note in reply.notes)


def test_a_follow_up_about_a_name_the_model_cannot_resolve_uses_the_previous_answer(index):
    assistant = assistant_drafting(index, "His", "ANSWER: Maj. Gen. Yahya Rasool [1].")
    history = [("Which official leads Iraq's government?", "Mr. al-Kadhimi [1].")]
    reply = assistant.ask("Who is his military spokesman?", history)
    assert reply.standalone_question == "Who is Mr. al-Kadhimi's military spokesman?"
    assert "Yahya Rasool" in reply.answer and not reply.abstained


def test_he_after_a_name_that_answered_who_is_that_name_without_asking_the_model(index):
    assistant = assistant_drafting(index, "ANSWER: Maj. Gen. Yahya Rasool [1].", "Never asked")
    history = [("Who is the prime minister of Iraq?", "As of June 28, 2021: Mr. al-Kadhimi [1].")]
    reply = assistant.ask("Who is his military spokesman?", history)
    assert reply.standalone_question == "Who is Mr. al-Kadhimi's military spokesman?"
    assert "Yahya Rasool" in reply.answer and assistant.chat_model.i == 1, "the model was asked for the referent"


YEAR_QUESTION = "How many of Kata’ib Sayyid al-Shuhada's fighters were killed in the strikes of 2019?"


def test_a_supported_draft_is_withheld_when_the_passage_lacks_a_number_the_question_asks_about(index):
    reply = assistant_drafting(index, "ANSWER: four [1].").ask(YEAR_QUESTION)
    assert reply.abstained and not reply.citations and reply.withheld_by == "numbers"
    assert any("do not mention 2019" in note for note in reply.notes)


def test_the_numbers_check_can_be_turned_off(index):
    reply = assistant_drafting(index, "ANSWER: four [1].", require_question_numbers=False).ask(YEAR_QUESTION)
    assert not reply.abstained and reply.short_answer == "four"
    assert "four of its fighters" in reply.citations[0].text


def test_names_of_one_word_set_the_scene_and_need_not_be_in_the_passage(index):
    reply = assistant_drafting(index, "ANSWER: four [1].").ask(
        "How many fighters of the Shiite group on the border were killed in the strikes?"
    )
    assert not reply.abstained and reply.short_answer == "four"


def test_a_passage_holding_none_of_the_questions_longer_names_answers_about_something_else(index):
    question = "How many of the Guardians of Blood's fighters were killed in the strikes?"
    reply = assistant_drafting(index, "ANSWER: four [1].").ask(question)
    assert reply.abstained and reply.withheld_by == "names"
    assert any("“Guardians of Blood”" in note for note in reply.notes)
    unchecked = assistant_drafting(index, "ANSWER: four [1].", require_question_names=False).ask(question)
    assert not unchecked.abstained and unchecked.short_answer == "four"


def test_the_numbers_check_reads_the_users_words_not_the_rewritten_follow_up(index):
    """The passage quoting the group says only "the group said"; its name is in the sentence before."""
    assistant = assistant_drafting(index, "Kata’ib Sayyid al-Shuhada", "ANSWER: open war [1].")
    history = [("Which group said four of its fighters were killed?", "Kata’ib Sayyid al-Shuhada [1].")]
    reply = assistant.ask("What did that group say it would go to with the American occupation?", history)
    assert "Kata’ib Sayyid al-Shuhada" in reply.standalone_question
    assert not reply.abstained and reply.short_answer == "open war"


def test_timings_add_up_when_a_second_look_runs(index):
    question = "Who did the Popular Mobilization Forces say the airstrikes had targeted?"
    assistant = assistant_drafting(index, "ANSWER: a power plant near Erbil [4].", "ANSWER: its fighters [1].")
    timings = assistant.ask(question).timings
    assert timings["second_look_s"] <= timings["generate_s"]
    steps = sum(timings[k] for k in ("condense_s", "retrieve_s", "generate_s", "cite_s"))
    assert steps <= timings["total_s"] + 1e-6


def test_machine_output_says_why_an_answer_was_withheld(index):
    out = assistant_drafting(index, "ANSWER: four [1].").ask(YEAR_QUESTION).to_dict()
    assert out["abstained"] and out["withheld_by"] == "numbers"
    assert out["notes"] and "p_refusal" in out


CONSULT = "Did American officials consult the Iraqi government in advance?"


@pytest.mark.parametrize(
    "question,draft,verdict,quoted",
    [
        (
            CONSULT,
            "ANSWER: Yes, they consulted the Iraqi government in advance [1].",
            "No",
            "had not consulted with the Iraqi government in advance",
        ),
        (
            "Did Saeed Khatibzadeh criticize the United States?",
            "ANSWER: Yes, he criticized the United States [1].",
            "Yes",
            "said the United States was disrupting the security of the region",
        ),
    ],
    ids=["contradicted by the passage", "in the question's words"],
)
def test_a_yes_or_no_is_given_with_the_sentence_it_rests_on(index, question, draft, verdict, quoted):
    reply = assistant_drafting(index, draft).ask(question)
    assert not reply.abstained and reply.short_answer == verdict
    assert f"{verdict}. The passage says: “" in reply.answer and quoted in reply.answer
    assert quoted in reply.citations[0].text


def test_a_yes_or_no_the_passage_supports_keeps_the_models_words(index):
    reply = assistant_drafting(index, "ANSWER: No, they had not consulted the Iraqi government in advance [1].").ask(
        CONSULT
    )
    assert not reply.abstained and reply.answer.startswith("No, they had not consulted")


def test_a_yes_about_another_group_than_the_one_asked_about_is_withheld(index):
    question = "Did Kata'ib Hezbollah lose fighters in the strikes?"
    reply = assistant_drafting(index, "ANSWER: Yes, it lost four fighters [1].", "ANSWER: Yes [1].").ask(question)
    assert reply.abstained and reply.withheld_by == "support"


def test_a_yes_no_question_a_sentence_states_in_full_leaves_refusing_to_the_model(index):
    assistant = assistant_drafting(index)

    def retrieved(question: str):
        return assistant._retrieve(assistant._condense(assistant._start({"question": question})))

    stated = retrieved("Did American officials consult the Iraqi government?")
    elsewhere = retrieved("Did Russia condemn the American airstrikes?")
    asking = retrieved("Who did American officials consult in advance?")
    assert stated.refusal_threshold == assistant.settings.stated_yes_no_threshold
    assert elsewhere.refusal_threshold == asking.refusal_threshold == assistant.settings.refusal_threshold
