"""Errors a user can fix, each saying how. Only the CLI and the UI turn them into messages."""


class RagError(Exception):
    """Base class of the errors this package raises on purpose."""


class UserError(RagError):
    """A mistake by whoever calls us: bad configuration, a missing index, a bad flag."""


class IndexMissingError(UserError):
    """Asked a question before anything was ingested."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(f"No index at {index_dir}: run `rag ingest` first.")


class IndexBusyError(UserError):
    """Another process is writing to the same index."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(
            f"The index at {index_dir} is busy: another `rag ingest` is writing to it. "
            "Wait for it to finish and try again."
        )


class IndexUnavailableError(UserError):
    """The Chroma server stopped answering; questions work again as soon as it is back."""

    def __init__(self, host: object, port: object, reason: object) -> None:
        super().__init__(
            f"The Chroma server at {host}:{port} is not answering ({reason}). "
            "Start it again (`chroma run --path DATA --port PORT`); questions work again "
            "as soon as it is back, without restarting this app."
        )


class EmbeddingMismatchError(UserError):
    """The index was built with another embedding model, whose vectors ours cannot be compared with."""

    def __init__(self, where: object, built_with: str, asked_for: str) -> None:
        super().__init__(
            f"The index at {where} was built with the embedding model {built_with!r}, not {asked_for!r}. "
            f"Set RAG_EMBEDDING_MODEL={built_with} (or --embedding-model), or re-create the index: "
            "delete it and run `rag ingest` again."
        )


class ModelUnavailableError(UserError):
    """The configured chat or embedding model cannot be loaded."""


class BadDocumentError(RagError):
    """A corpus file that cannot be read as an article; it is skipped with a warning."""
