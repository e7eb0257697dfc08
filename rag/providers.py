"""Model servers reached through optional LangChain packages: Ollama and OpenAI-compatible APIs."""

from __future__ import annotations

import importlib
import os
from typing import Any

from rag.errors import ModelUnavailableError, UserError
from rag.settings import Settings


def optional_module(module: str, extra: str) -> Any:
    """Import ``module``, or say which extra of ours installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelUnavailableError(f"This backend needs {module}: pip install 'newsrag[{extra}]'.") from exc


def openai_api_key(settings: Settings) -> str:
    """The key for an OpenAI-compatible server; a local server without a base URL set is a user error."""
    if not os.environ.get("OPENAI_API_KEY") and not settings.openai_base_url:
        raise UserError("Set OPENAI_API_KEY (and RAG_OPENAI_BASE_URL for a compatible server).")
    return os.environ.get("OPENAI_API_KEY", "not-needed")


SECRET_VARIABLES = ("OPENAI_API_KEY",)


def failure_reason(exc: Exception) -> str:
    """The first line of a server's error, with any API key blanked out."""
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    for variable in SECRET_VARIABLES:
        secret = os.environ.get(variable)
        if secret:
            reason = reason.replace(secret, "***")
    return reason
