import dataclasses

import pytest

from rag.cite import (
    anchor_evidence,
    asks_for_holder,
    cited_numbers,
    contradicts,
    date_words,
    history_before,
    is_about,
    left_post,
    missing_anchors,
    missing_full_names,
    missing_numbers,
    question_anchors,
    stating_sentences,
    strip_markers,
    support,
    to_citation,
    unstated_numbers,
    verify_citations,
    words,
    yes_no_evidence,
)
from rag.types import Chunk, Citation


def passage(text: str, n: int = 0) -> Chunk:
    return Chunk(f"c{n}", "doc", text, 100 * n, 100 * n + len(text), "Title", "2021-06-28", "a.txt")


PASSAGES = [
    passage("The Pentagon said the strikes were meant to send a message.", 0),
    passage("The two militias, Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah, were targeted.", 1),
    passage("About 2,500 U.S. troops remain in Iraq.", 2),
]


def test_markers_are_parsed_in_order_without_repeats():
    assert cited_numbers("A [2] and B [1, 3] and again [2].") == [2, 1, 3]
    assert strip_markers("Troops remain [3].") == "Troops remain."


def test_supported_citation_is_kept_and_renumbered():
    cited = verify_citations("About 2,500 troops remain [3].", "2,500", PASSAGES, "How many troops?")
    assert cited.supported
    assert cited.answer == "About 2,500 troops remain [1]."
    assert [(c.n, c.text) for c in cited.citations] == [(1, PASSAGES[2].text)]
    assert cited.citations[0].start == 200


def test_stray_commas_before_the_markers_are_dropped():
    cited = verify_citations("About 2,500,, [3]", "2,500", PASSAGES, "How many troops?")
    assert cited.answer == "About 2,500 [1]"


def test_wrong_number_is_replaced_by_the_supporting_passage():
    answer = "Kata'ib Sayyid al-Shuhada and Kata'ib Hezbollah were struck [1]."
    cited = verify_citations(answer, "Kata'ib Sayyid al-Shuhada and Kata'ib Hezbollah", PASSAGES)
    assert cited.supported
    assert cited.citations[0].text == PASSAGES[1].text


def test_out_of_range_and_unsupported_markers_are_dropped():
    cited = verify_citations("Troops number 2,500 [9][1][3].", "2,500", PASSAGES)
    assert [c.text for c in cited.citations] == [PASSAGES[2].text]
    assert "[9]" not in cited.answer and cited.answer.endswith("[1].")


def test_an_answer_stating_a_number_no_cited_passage_holds_is_unsupported():
    rockets = [passage("Later on Monday, militias fired rockets at American forces in Syria.")]
    question = "How many rockets were fired?"
    claim = "militias fired rockets at American forces in Syria"
    assert not verify_citations(f"2. {claim} [1].", claim, rockets, question).supported
    assert verify_citations(f"{claim} [1].", claim, rockets, question).supported
    counted = [passage("Militias fired two rockets at American forces in Syria and an 11-day truce ended.")]
    assert verify_citations("2 rockets; an 11-day truce ended [1].", "2", counted, question).supported
    assert unstated_numbers("An 11-day truce, 2,500 troops [1]", "", ["a truce of 11 days; 2500 troops"]) == []


def test_unsupported_answer_gets_no_citation():
    cited = verify_citations("Five hundred tanks were destroyed [1].", "500 tanks", PASSAGES)
    assert not cited.supported and cited.citations == []


def test_a_sentence_is_about_the_question_when_its_passage_is():
    question = "Which town in the valley has seen a recent surge of flood-relief crews?"
    scene = "Flood-relief crews have surged into several valley towns this month. "
    whole = passage(scene + "Dunmore is the latest town to see more relief work.", 0)
    sentence = dataclasses.replace(whole, text=whole.text[len(scene) :], start=whole.start + len(scene))
    assert not verify_citations("Dunmore [1].", "Dunmore", [sentence], question).supported
    assert verify_citations("Dunmore [1].", "Dunmore", [sentence], question, sources=[whole]).supported
    elsewhere = dataclasses.replace(whole, doc_id="other")
    assert not verify_citations("Dunmore [1].", "Dunmore", [sentence], question, sources=[elsewhere]).supported
    aside = passage(scene + "Dunmore has a new stadium.", 0)
    stadium = dataclasses.replace(aside, text=aside.text[len(scene) :], start=aside.start + len(scene))
    assert not verify_citations("Dunmore [1].", "Dunmore", [stadium], question, sources=[aside]).supported


def test_a_quote_ending_with_the_group_said_is_about_the_group_named_just_before_it():
    question = "What else did Kata’ib Sayyid al-Shuhada say?"
    named = "The group Kata’ib Sayyid al-Shuhada said four of its fighters had been killed."
    quote = "“We will go to open war with the American occupation,” the group said in a statement."
    before = Chunk("c0", "doc", named, 0, len(named), "Title")
    after = Chunk("c1", "doc", quote, len(named) + 1, len(named) + 1 + len(quote), "Title")
    answer, claim = "It would go to open war with the American occupation [1].", "open war with the American occupation"
    assert not verify_citations(answer, claim, [after], question).supported
    assert verify_citations(answer, claim, [after], question, sources=[before, after]).supported
    elsewhere = dataclasses.replace(before, doc_id="other")
    assert not verify_citations(answer, claim, [after], question, sources=[elsewhere, after]).supported
    unquoted = dataclasses.replace(after, text="We will go to open war with the American occupation.")
    assert not verify_citations(answer, claim, [unquoted], question, sources=[before, unquoted]).supported


def test_no_passages():
    assert not verify_citations("Anything [1].", "anything", []).supported


def test_support_ignores_question_words_and_quote_styles():
    assert support("Kata'ib Hezbollah", "Kata’ib Hezbollah fighters") == 1.0
    assert support("the militias", "one militia") == 1.0
    assert support("Which militias were struck? Russia", "Russia", question="Which militias were struck?") == 1.0
    assert support("Vienna", "Geneva talks") == 0.0


@pytest.mark.parametrize(
    "question,expected",
    [
        ("Which militias were struck?", []),
        ("Who patented a steam engine in 1883?", ["1883"]),
        ("What did Newcomen's engine produce?", ["Newcomen"]),
        ("Who is Mr. al-Kadhimi's spokesman?", []),
        ("What did Kata’ib Hezbollah say about the U.S. strikes?", ["Kata’ib Hezbollah", "U.S"]),
        ("How many Guardians of Blood fighters died?", ["Guardians of Blood"]),
        ("Rep. Ana Ruiz won a seat. She is a representative for which state?", ["Ana Ruiz"]),
        ("Finish the title: “The Quiet Year”", ["Quiet Year"]),
        ("Which airline cut 31,000 flights over an 11-day period?", ["31,000", "11-day"]),
    ],
)
def test_question_anchors(question, expected):
    assert question_anchors(question) == expected


def test_missing_anchors_finds_a_swapped_year_and_allows_possessives_and_quote_styles():
    passages = ["Corliss patented his engine in 1849.", "Kata'ib Hezbollah's fighters were killed."]
    assert missing_anchors("Who patented a steam engine in 1883?", passages) == ["1883"]
    assert missing_anchors("Who patented a steam engine in 1849?", passages) == []
    assert missing_anchors("How many of Kata’ib Hezbollah's fighters died?", passages) == []
    assert missing_anchors("How many Guardians of Blood fighters died?", passages) == ["Guardians of Blood"]


def test_anchors_match_derived_words_numbers_and_dates():
    passages = ["Saeed Khatibzadeh, spokesman for the Iranian Foreign Ministry, said 31000 flights over 11 days."]
    assert missing_anchors("Who is the spokesman for Iran’s Foreign Ministry?", passages) == []
    assert missing_anchors("Which airline cut 31,000 flights over an 11-day period in March?", passages) == ["March"]
    assert missing_anchors("What happened in March?", [*passages, date_words("2023-03-05")]) == []
    assert missing_anchors("What did Austria say?", ["Australia said no."]) == ["Austria"]
    assert missing_anchors("Who won the 12th title?", ["She won her twelfth title."]) == []


def test_a_question_naming_an_event_in_several_words_needs_one_such_name_in_the_evidence():
    snippet = ["Samir Haddad has won the 2018 Kestrel Book Award for the novel The Glass Orchard."]
    assert missing_full_names("Who won the 2018 Harlow Open?", snippet) == ["Harlow Open"]
    assert missing_full_names("Who won the 2018 Kestrel Book Award?", snippet) == []
    assert missing_full_names("Which book won the Kestrel prize in 2018?", snippet) == []
    assert missing_full_names("Which NFL team won in 2018?", snippet) == []
    assert missing_full_names("How many lives did vaccines save in the United States?", ["U.S. deaths fell."]) == []
    assert missing_full_names("What did the World Health Organization say?", ["The WHO said no."]) == []


def test_a_dateline_gives_month_and_day_and_the_year_only_when_asked():
    assert date_words("2023-03-05") == "March 5" and date_words("") == ""
    assert date_words("2023-03-05", with_year=True) == "March 5, 2023"
    assert missing_anchors("Who won the 2023 final in March?", ["Ruiz won the final.", date_words("2023-03-05")]) == [
        "2023"
    ]


def test_an_articles_year_answers_for_it_unless_it_names_another_year():
    def evidence(text: str, title: str = "Ruiz takes the title") -> list[str]:
        chunk = Chunk("d1-0", "d1", text, 0, len(text), title, date="2021-06-14")
        return anchor_evidence([to_citation(1, chunk)], [chunk])

    assert missing_anchors("Who won the 2021 final?", evidence("Ruiz won the final on Sunday.")) == []
    assert missing_anchors("Who won the 2020 final?", evidence("Ruiz won the final on Sunday.")) == ["2020"]
    delayed = evidence("Ruiz won the 2020 final on Sunday, a year late.")
    assert missing_anchors("Who won the 2021 final?", delayed) == ["2021"]
    assert missing_anchors("Who won the 2021 final?", evidence("Ruiz won.", title="Ruiz wins 2020 final")) == ["2021"]


def test_a_long_question_needs_only_a_few_shared_words_to_find_its_sentence_relevant():
    question = "The ferry season has officially begun. What is the booking deadline for most island visitors this year?"
    assert is_about(question, "The ferry season deadline for visitors to book is April 15.")
    assert not is_about(question, "Officials said the weather would improve.")
    assert not is_about("Who did the militia say the strikes targeted?", "U.S. troops were near an oil field.")


def test_only_numbers_are_required_of_the_cited_passages():
    passages = ["The Harriers' owner said he had started a formal process to sell the club in 2022."]
    assert missing_numbers("Which rugby club's owner announced a sale process in 2022?", passages) == []
    assert missing_numbers("Which rugby club's owner announced a sale process in 2023?", passages) == ["2023"]
    assert missing_numbers("What treaty was signed in the 9th century?", ["It was signed in the ninth century."]) == []


def test_a_count_may_be_anywhere_in_the_cited_article_but_a_year_must_be_in_the_passage():
    cited = ["Penrose said on Monday that it would close its remaining shops after its second bankruptcy filing."]
    article = [cited[0], "Penrose has more than 800 shops across 49 towns.", "It first filed for bankruptcy in 2024."]
    question = "Which chain is closing all 800 of its locations after filing for bankruptcy?"
    assert missing_numbers(question, cited) == ["800"]
    assert missing_numbers(question, cited, article) == []
    assert missing_numbers("Which store is closing all 900 of its locations?", cited, article) == ["900"]
    assert missing_numbers("Which store closed its locations in 2024?", cited, article) == ["2024"]
    assert missing_numbers("Which store opened its first location in 1943?", cited, [*article, "in 1943"]) == ["1943"]
    assert missing_numbers("Which treaty was signed in the 10th century?", cited, [*article, "the 10th"]) != []


def test_a_year_long_past_may_be_anywhere_in_the_cited_article():
    cited = ["Mira Holt plays Ada Vane in the new video for Northern Lights."]
    article = [cited[0], "The song was released in November 1973 and topped the chart."]
    question = "Who plays Ada Vane in a new video for her 1973 winter classic?"
    assert missing_numbers(question, cited, article) == ["1973"]
    assert missing_numbers(question, cited, article, history_before=2014) == []
    assert missing_numbers(question, cited, [cited[0]], history_before=2014) == ["1973"]
    recent = "Who plays Ada Vane in the video released in 2020?"
    assert history_before([cite_dated("2024-12-18"), cite_dated("2023-01-02")], 10) == 2013
    assert history_before([cite_dated("2024-12-18"), cite_dated("")], 10) is None
    assert missing_numbers(recent, cited, [*article, "in 2020"], history_before=2014) == ["2020"]


def test_a_number_is_the_same_however_its_thousands_are_grouped():
    passage = "In 2001 he won the seat with 20 645 votes, giving him a majority of 5 907."
    assert support("5,907", passage) == 1.0
    assert support("5907", passage) == 1.0
    assert support("20645 votes", passage) == 1.0
    assert support("5,908", passage) == 0.0
    assert words("in 2004 500 homes") == ["in", "2004", "500", "homes"]


def cite_dated(date: str) -> Citation:
    return Citation(n=1, doc_id="d", title="", date=date, source="s.txt", text="", start=0, end=0)


CONSULTED = passage(
    "American officials said they had not relied on Iraqi intelligence, and had not consulted with the Iraqi "
    "government in advance. The strikes hit two militias."
)
ASKED_CONSULTED = "Did American officials consult the Iraqi government in advance?"


def test_a_sentence_states_a_yes_no_question_only_with_all_of_its_words():
    assert stating_sentences(ASKED_CONSULTED, [CONSULTED]) == [
        "American officials said they had not relied on Iraqi intelligence, and had not consulted with the Iraqi "
        "government in advance."
    ]
    assert stating_sentences("Did American officials consult Russia in advance?", [CONSULTED]) == []
    assert stating_sentences("Did they?", [CONSULTED]) == []


def test_a_yes_that_the_stating_sentence_negates_is_a_contradiction():
    assert contradicts(ASKED_CONSULTED, "Yes, they had consulted the Iraqi government [1].", [CONSULTED])
    assert not contradicts(ASKED_CONSULTED, "No, they had not consulted it [1].", [CONSULTED])
    assert not contradicts(ASKED_CONSULTED, "They consulted nobody [1].", [CONSULTED])
    assert not contradicts("Did Russia object?", "Yes [1].", [CONSULTED])


def test_a_yes_or_no_quotes_the_sentence_holding_most_of_the_question():
    strikes = passage(
        "Iraq now faces its biggest threat. On Monday, it strongly protested the U.S. attack on its soil. "
        "The strikes hit two militias."
    )
    said = "On Monday, it strongly protested the U.S. attack on its soil."
    start = strikes.text.index(said)
    protest = Chunk("c1", "doc", said, start, start + len(said), "Title")
    question = "Did the Iraqi government protest the U.S. attack?"
    cited = yes_no_evidence(question, "Yes, it did [1].", [protest], [strikes])
    assert cited is not None and cited[1] == "Yes"
    assert cited[0].answer == f"Yes. The passage says: “{said}” [1]" and cited[0].citations[0].text == protest.text


def test_the_sentence_stating_a_yes_no_question_in_full_gives_the_yes_or_no():
    cited = yes_no_evidence(ASKED_CONSULTED, "Yes, they consulted it [1].", [CONSULTED], [CONSULTED])
    assert cited is not None and cited[1] == "No"
    assert cited[0].answer.startswith("No. The passage says: “American officials said they had not relied")


def test_no_yes_or_no_without_a_sentence_on_what_the_question_names():
    assert yes_no_evidence("Did American officials consult Russia?", "Yes [1].", [CONSULTED], [CONSULTED]) is None
    assert yes_no_evidence("Did the strikes end the war in Yemen?", "No [1].", [CONSULTED], [CONSULTED]) is None
    assert yes_no_evidence(ASKED_CONSULTED, "They consulted nobody [1].", [CONSULTED], [CONSULTED]) is None


def test_a_yes_answer_is_supported_by_the_words_it_repeats():
    claim = "Yes, the Iraqi government protested the U.S. attack [1]."
    question = "Did the Iraqi government protest the U.S. attack?"
    assert support(claim, "The Iraqi government strongly protested the U.S. attack.", question) == 1.0


@pytest.mark.parametrize(
    ("name", "text", "left"),
    [
        ("Hugo Brandt", "BERLIN — Hugo Brandt has stepped down as chief executive of Northwind Rail.", True),
        ("Marta Kowal", "Brandt replaces Marta Kowal, who is retiring.", True),
        ("Babar Azam", "Former Pakistan captains Babar Azam and Mohammad Rizwan were left out.", True),
        ("Anil Ambani", "Anil Ambani resigned from the board on Tuesday.", True),
        ("Ines Moreau", "The board named Ines Moreau, its finance director, as the new chief executive.", False),
        ("Hugo Brandt", "Northwind Rail has appointed Hugo Brandt as its chief executive.", False),
        ("Saeed Khatibzadeh", "Saeed Khatibzadeh, spokesman for the Iranian Foreign Ministry, said so.", False),
        ("Brandt", "Hugo Brandtner has stepped down.", False),
    ],
)
def test_a_sentence_saying_someone_left_a_post(name, text, left):
    assert left_post(name, text) is left


def test_questions_for_whoever_holds_a_post_now():
    assert asks_for_holder("Who is the chief executive of Northwind Rail?", about_present=True)
    assert asks_for_holder("Who replaced Hugo Brandt?", about_present=False)
    assert asks_for_holder("Who is the new coach?", about_present=False)
    assert not asks_for_holder("Who resigned from the board?", about_present=False)
    assert not asks_for_holder("How many troops remain?", about_present=True)
