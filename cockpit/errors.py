"""Typed errors of City Cockpit, each carrying what a person needs to fix the cause."""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "CockpitError",
    "ConfigError",
    "ConnectorError",
    "DataError",
    "FetchError",
    "MoveError",
    "ParseError",
    "PushRefused",
    "ResponseTooLarge",
    "TooManyPages",
    "UpstreamStatusError",
    "WordedError",
]


class CockpitError(Exception):
    """Base of every error City Cockpit raises on purpose."""


class WordedError(CockpitError, ValueError):
    """A reason a person can act on, kept as its English template and values so that a
    page can word it in the viewer's language; ``str()`` is the English sentence. A
    ``ValueError`` too, so that a config model's check may raise it."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = {key: str(value) for key, value in values.items()}
        super().__init__(template.format(**self.values))


class ConfigError(CockpitError):
    """A city config file is wrong: names the file, the key and what was expected."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        super().__init__(f"{file}: {key}: {reason}")


class DataError(CockpitError):
    """A frame does not follow the canonical model (wrong column, dtype or value)."""


class BackendUnavailable(CockpitError):
    """A server backend (Redis, PostgreSQL) cannot be reached or refused the request."""


class MoveError(CockpitError):
    """A city's embedded data cannot be moved to its server backends: names the data
    directory, or the records in the way, and what to do."""


class PushRefused(CockpitError):
    """A notification posted to the cockpit was refused: ``status`` is the HTTP answer
    (401 unsigned, 403 forged, 404 no such pushed source, 400 not a notification) and
    ``reason`` says why, in words safe to send back."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status}: {reason}")


class ConnectorError(CockpitError):
    """A source could not be read. Says which source, which URL (without secrets) and why."""

    def __init__(self, source: str, reason: str, url: str | None = None) -> None:
        self.source = source
        self.url = url
        self.reason = reason
        where = f" ({url})" if url else ""
        super().__init__(f"source {source!r}{where}: {reason}")


class FetchError(ConnectorError):
    """The platform could not be reached: refused, timed out, reset."""


class UpstreamStatusError(ConnectorError):
    """The platform answered with an HTTP error status."""

    def __init__(self, source: str, reason: str, url: str | None = None, status: int = 0) -> None:
        self.status = status
        super().__init__(source, reason, url)


class ParseError(ConnectorError):
    """The platform answered, but not with what its protocol promises."""


class ResponseTooLarge(ConnectorError):
    """An answer was larger than the source's configured maximum."""


class TooManyPages(ConnectorError):
    """Paging went on past the source's configured maximum page count."""
