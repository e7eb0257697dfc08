from rag.clean import clean, is_boilerplate, parse_date
from rag.load import load_file
from rag.types import Article

from .conftest import SEED_ARTICLE


def seed() -> Article:
    return clean(load_file(SEED_ARTICLE))


def test_seed_boilerplate_is_gone_and_text_kept():
    text = seed().text
    for junk in (
        "top of page",
        "bottom of page",
        "Featured Review",
        "Tag Cloud",
        "Credit...",
        "(c) 2021 The New York Times",
    ):
        assert junk not in text
    assert "Kata’ib Sayyid al-Shuhada and Kata’ib Hezbollah" in text
    assert text.rstrip().endswith("well beyond Iran’s borders.")


def test_seed_title_and_date():
    article = seed()
    assert article.title == "Iraq Is Caught in the Middle as U.S. and Iran Spar on Its Soil"
    assert article.date == "2021-06-28"
    assert article.text.startswith(article.title)


def test_clean_does_not_mutate_input():
    raw = load_file(SEED_ARTICLE)
    before = raw.text
    clean(raw)
    assert raw.text == before


def test_markdown_heading_becomes_title():
    article = clean(Article("d", "x.md", "# Floods Hit the Valley\n\nMarch 3, 2022\n\nRain fell for days."))
    assert article.title == "Floods Hit the Valley"
    assert article.date == "2022-03-03"


def test_html_goes_through_the_extractor():
    html = (
        "<html><head><title>Port Strike Ends</title></head><body><nav>Home | World | Sport</nav>"
        "<article><h1>Port Strike Ends</h1><p>Dock workers returned to work on Friday after a "
        "two-week strike over pay, the union said in a statement on its website.</p>"
        "<p>The agreement raises wages by six percent over two years, according to the port "
        "authority, which had warned of shortages.</p></article><footer>© 2024 Example News</footer>"
        "</body></html>"
    )
    article = clean(Article("d", "page.html", html))
    assert "Dock workers returned to work" in article.text
    assert "Home | World" not in article.text
    assert "© 2024" not in article.text
    assert article.title == "Port Strike Ends"


def test_boilerplate_lines_and_dates():
    assert is_boilerplate("Tag Cloud")
    assert is_boilerplate("(c) 2021 The New York Times")
    assert is_boilerplate("A parade on Saturday.Credit...Associated Press")
    assert not is_boilerplate("The strikes hit facilities used by two militias.")
    assert parse_date("Published 5 March 2020 by staff") == "2020-03-05"
    assert parse_date("no date here") == ""


def test_the_date_comes_from_a_dateline_and_says_how_it_was_found():
    dated = clean(Article("d", "a.txt", "Port reopens\n\nMarch 2, 2021\n\nThe port reopened on Monday."))
    assert (dated.date, dated.date_source) == ("2021-03-02", "text")
    story = "Bob Simpson, who coached Australia " + "to the World Cup win and much else " * 5
    undated = clean(Article("u", "b.txt", story + "in the final on November 8, 1987 in Kolkata."))
    assert (undated.date, undated.date_source) == ("", "")
    page = "<html><head><meta property='article:published_time' content='2023-04-18'><title>T</title></head>"
    page += (
        "<body><article><p>" + "The reservoir is full again after a wet spring. " * 8 + "</p></article></body></html>"
    )
    html = clean(Article("h", "c.html", page))
    assert (html.date, html.date_source) == ("2023-04-18", "html")
