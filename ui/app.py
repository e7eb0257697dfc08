"""The web chat (Gradio) and the JSON endpoint ``POST /api/ask``, on one FastAPI app."""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from rag.condense import read_history
from rag.display import plural
from rag.errors import IndexUnavailableError, ModelUnavailableError, RagError
from rag.load import SUPPORTED_SUFFIXES
from rag.pipeline import Assistant
from rag.timeframe import build_filters
from rag.types import Reply
from ui import render

log = logging.getLogger(__name__)

EXAMPLES = [
    "Which militias were struck?",
    "Who is Saeed Khatibzadeh?",
    "How many U.S. troops remain in Iraq?",
    "What did the Iraqi government say about the strikes?",
]
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CSS = """
.gradio-container {max-width: 1200px !important; margin: auto;}
#chat .message-wrap blockquote {border-left: 4px solid #d97706; background: #fffbeb;
  color: #78350f; padding: 0.4em 0.8em; margin: 0;}
#chat .message-wrap strong {background: #fef08a; font-weight: 600;}
footer {display: none !important;}
"""


class AskRequest(BaseModel):
    """Body of ``POST /api/ask``."""

    question: str = ""
    history: list[Any] = Field(
        default_factory=list,
        description='Earlier turns: [[question, answer], ...] or [{"role": "user", "content": ...}, ...].',
    )
    as_of: str | None = Field(None, description="Answer as of this date (ISO); later articles are not used.")
    since: str | None = Field(None, description="Only articles dated on or after this date.")
    until: str | None = Field(None, description="Only articles dated on or before this date.")
    source: str | None = Field(None, description="Only articles from this folder, file pattern or site.")


def safe_name(name: str) -> str:
    """A file name with no folders, no leading dots and only plain characters."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")
    return base or "upload"


def save_uploads(paths: list[str], folder: Path) -> tuple[list[Path], list[str]]:
    """Copy accepted uploads into ``folder``; return them and a message per rejected file."""
    folder.mkdir(parents=True, exist_ok=True)
    accepted, rejected = [], []
    for raw in paths:
        source = Path(raw)
        name = safe_name(source.name)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            rejected.append(f"{name}: not an article file ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
        elif source.stat().st_size > MAX_UPLOAD_BYTES:
            rejected.append(f"{name}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        else:
            target = (folder / name).resolve()
            if folder.resolve() not in target.parents:
                rejected.append(f"{name}: not a valid file name")
                continue
            shutil.copyfile(source, target)
            accepted.append(target)
    return accepted, rejected


def control_day(value: Any) -> str | None:
    """A date control's value as text ("" and ``None`` mean no date)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC).date().isoformat()
    return str(value)[:10]


class ChatApp:
    """The Gradio page and its event handlers around one shared :class:`Assistant`."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.index_dir = Path(assistant.settings.index_dir)
        self.feedback_file = self.index_dir / "feedback.jsonl"

    # ---- handlers ------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        messages: list[dict[str, Any]],
        as_of: Any = None,
        since: Any = None,
        until: Any = None,
        source: str = "",
    ) -> Iterator[Any]:
        """Stream the answer into the chat, then replace it with the verified reply.

        The date controls and the source box limit the articles used (empty: no limit).
        """
        history = render.history_pairs(messages)
        messages = [*messages, {"role": "user", "content": render.escape(message or "")}]
        yield "", messages
        streamed = ""
        try:
            filters = build_filters(*(control_day(v) for v in (as_of, since, until)), source)
            for part in self.assistant.stream(message, history, filters):
                if isinstance(part, Reply):
                    yield "", [*messages, *render.reply_messages(part)]
                    return
                streamed += part
                yield (
                    "",
                    [*messages, {"role": "assistant", "content": render.answer_text(streamed)}],
                )
        except RagError as exc:
            yield (
                "",
                [*messages, {"role": "assistant", "content": f"> ⚠️ {render.escape(str(exc))}"}],
            )
        except Exception:
            log.exception("answering failed")
            note = "> ⚠️ Something went wrong while answering. Please try again."
            yield "", [*messages, {"role": "assistant", "content": note}]

    def record_feedback(self, messages: list[dict[str, Any]], data: gr.LikeData) -> None:
        """Append a thumbs up or down, with the question and answer, to feedback.jsonl."""
        index = data.index if isinstance(data.index, int) else data.index[0]
        answer = render.answer_only(render.message_text(messages[index])) if 0 <= index < len(messages) else ""
        question = next(
            (render.message_text(m) for m in reversed(messages[:index]) if m.get("role") == "user"),
            "",
        )
        record = {"time": time.time(), "liked": data.liked, "question": question, "answer": answer}
        with self.feedback_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def articles(self) -> tuple[str, list[list[str]], list[dict[str, Any]]]:
        """The side panel's count line, its table of indexed articles, and those articles in table order."""
        documents = self.assistant.index.documents()
        rows, shown = render.article_rows(documents)
        return render.articles_summary(documents), rows, shown

    def choose_article(self, shown: list[dict[str, Any]], event: gr.SelectData) -> tuple[str, str, Any]:
        """A click on an article's remove button asks for confirmation; other clicks close the question."""
        row, column = event.index if isinstance(event.index, list | tuple) else (event.index, 0)
        if column != 1 or not 0 <= row < len(shown):
            return "", "", gr.update(visible=False)
        article = shown[row]
        question = (
            f"Remove **{render.escape(article['title'] or article['source'])}** from the index? "
            "Its passages will no longer be used to answer."
        )
        return article["doc_id"], question, gr.update(visible=True)

    def remove_article(self, doc_id: str) -> tuple[Any, ...]:
        """Remove the confirmed article from Chroma and BM25 together."""
        status = ""
        if doc_id:
            try:
                removed = self.assistant.index.remove(doc_id, ids_only=True)
                status = (
                    f"✅ Removed {render.escape(removed[0]['title'] or removed[0]['source'])}."
                    if removed
                    else "Nothing removed: the article was already gone."
                )
            except RagError as exc:
                status = f"❌ {render.escape(str(exc))}"
        return status, *self.articles(), "", gr.update(visible=False)

    def upload(self, files: list[str] | None, progress: gr.Progress | None = None) -> tuple[Any, ...]:
        """Add uploaded articles to the index without a restart."""
        progress = progress or gr.Progress()
        if not files:
            return "Choose article files first.", *self.articles()
        progress(0.1, desc="Checking files")
        accepted, rejected = save_uploads([str(f) for f in files], self.index_dir / "uploads")
        lines = [f"❌ {render.escape(r)}" for r in rejected]
        if accepted:
            progress(0.4, desc=f"Indexing {plural(len(accepted), 'file')}")
            summary = self.assistant.index.ingest(accepted)
            lines.insert(0, f"✅ {summary.line()}")
            lines += [f"❌ {render.escape(s.source)}: {render.escape(s.reason)}" for s in summary.skipped_files]
        progress(1.0)
        return "\n\n".join(lines), *self.articles()

    # ---- layout --------------------------------------------------------------------------
    def blocks(self) -> gr.Blocks:
        """The page: chat on the left, articles and upload on the right."""
        with gr.Blocks(title="News Q&A", fill_height=True) as page:
            gr.Markdown("## Ask the news archive\nAnswers quote the articles they come from.")
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        height=560,
                        layout="panel",
                        label="Conversation",
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
                        placeholder="Ask about the indexed articles. Follow-up questions understand the conversation.",
                        sanitize_html=True,
                        allow_tags=False,
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask a question, e.g. Which militias were struck?",
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            autofocus=True,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Accordion("Time and source", open=False, elem_id="filters"):
                        with gr.Row():
                            as_of = gr.DateTime(
                                include_time=False,
                                type="string",
                                label="As of",
                                info="Answer as on this day: later articles are not used.",
                                elem_id="as-of",
                            )
                            since = gr.DateTime(include_time=False, type="string", label="Since", elem_id="since")
                            until = gr.DateTime(include_time=False, type="string", label="Until", elem_id="until")
                        source = gr.Textbox(
                            label="Source",
                            placeholder="A folder, file pattern (*.html) or site; empty for all",
                            elem_id="source",
                        )
                    with gr.Row():
                        gr.Examples(EXAMPLES, inputs=box, label="Examples")
                        clear = gr.Button("Clear conversation", elem_id="clear", size="sm")
                with gr.Column(scale=2, min_width=280):
                    with gr.Tab("Articles"):
                        count = gr.Markdown(elem_id="article-count")
                        table = gr.Dataframe(
                            headers=render.ARTICLE_COLUMNS,
                            datatype=["markdown", "str"],
                            column_widths=["82%", "18%"],
                            interactive=False,
                            wrap=True,
                            max_height=520,
                            elem_id="articles",
                        )
                        chosen = gr.State("")
                        listed = gr.State([])
                        with gr.Group(visible=False, elem_id="confirm-remove") as confirm:
                            question = gr.Markdown()
                            with gr.Row():
                                really = gr.Button("Remove", variant="stop", size="sm", elem_id="confirm-remove-yes")
                                cancel = gr.Button("Cancel", size="sm", elem_id="confirm-remove-no")
                        removal = gr.Markdown(elem_id="remove-status")
                    with gr.Tab("Add articles"):
                        files = gr.File(
                            file_count="multiple",
                            file_types=sorted(SUPPORTED_SUFFIXES),
                            label="Articles: text, Markdown, HTML, PDF, or CSV/JSONL/JSON exports",
                            elem_id="upload",
                        )
                        add = gr.Button("Add to index", elem_id="add")
                        status = gr.Markdown(elem_id="upload-status")
            for trigger in (box.submit, send.click):
                trigger(
                    self.respond,
                    [box, chatbot, as_of, since, until, source],
                    [box, chatbot],
                    concurrency_id="answer",
                )
            clear.click(lambda: ("", []), None, [box, chatbot], queue=False)
            chatbot.like(self.record_feedback, [chatbot], None)
            add.click(self.upload, [files], [status, count, table, listed], concurrency_id="answer")
            page.load(self.articles, None, [count, table, listed])
            table.select(self.choose_article, [listed], [chosen, question, confirm])
            really.click(
                self.remove_article, [chosen], [removal, count, table, listed, chosen, confirm], concurrency_id="answer"
            )
            cancel.click(lambda: ("", gr.update(visible=False)), None, [chosen, confirm], queue=False)
        return page


def credentials_match(username: str, password: str, auth: tuple[str, str]) -> bool:
    """True when both match, compared in constant time (a timing difference would leak how much matched)."""
    user_ok = secrets.compare_digest(username.encode("utf-8"), auth[0].encode("utf-8"))
    password_ok = secrets.compare_digest(password.encode("utf-8"), auth[1].encode("utf-8"))
    return user_ok and password_ok


def create_app(assistant: Assistant, auth: tuple[str, str] | None = None) -> FastAPI:
    """FastAPI app with the JSON API (``/api/ask``, ``/api/documents``) and the Gradio page at ``/``."""
    app = FastAPI(title="newsrag", docs_url=None, redoc_url=None)
    basic = HTTPBasic(auto_error=False)

    def check_auth(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:
        if auth and (credentials is None or not credentials_match(credentials.username, credentials.password, auth)):
            raise HTTPException(401, "Authentication required", {"WWW-Authenticate": "Basic"})

    @app.post("/api/ask", dependencies=[Depends(check_auth)])
    def ask(body: AskRequest) -> dict[str, Any]:
        try:
            history = read_history(body.history)
            filters = build_filters(body.as_of, body.since, body.until, body.source)
            return assistant.ask(body.question, history, filters).to_dict()
        except (IndexUnavailableError, ModelUnavailableError) as exc:
            raise HTTPException(503, str(exc)) from exc
        except RagError as exc:
            raise HTTPException(400, str(exc)) from exc

    @app.get("/api/documents", dependencies=[Depends(check_auth)])
    def documents() -> list[dict[str, Any]]:
        try:
            return assistant.index.documents()
        except IndexUnavailableError as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.delete("/api/documents/{doc_id}", dependencies=[Depends(check_auth)])
    def remove_document(doc_id: str) -> dict[str, Any]:
        try:
            removed = assistant.index.remove(doc_id, ids_only=True)
        except IndexUnavailableError as exc:
            raise HTTPException(503, str(exc)) from exc
        except RagError as exc:
            raise HTTPException(409, str(exc)) from exc
        if not removed:
            raise HTTPException(404, f"No indexed article has the id {doc_id}.")
        return {"removed": removed}

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        try:
            return {"ok": True, "chunks": assistant.index.count()}
        except IndexUnavailableError as exc:
            raise HTTPException(503, str(exc)) from exc

    page = ChatApp(assistant).blocks()
    page.queue(default_concurrency_limit=1, max_size=256)
    return gr.mount_gradio_app(
        app,
        page,
        path="/",
        auth=(lambda username, password: credentials_match(username, password, auth)) if auth else None,
        ssr_mode=False,
        css=CSS,
        footer_links=[],
        max_file_size=MAX_UPLOAD_BYTES,
    )
