"""One HTTP session per source: timeouts, bounded retries with backoff, Retry-After,
a size limit and typed errors that never carry a secret.

Retries on connection errors, 5xx and 429 are done by urllib3's ``Retry`` (with the
wait a 429/503 asks for honoured, but capped so a platform cannot stall the refresher).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cockpit.errors import (
    FetchError,
    ParseError,
    ResponseTooLarge,
    UpstreamStatusError,
)
from cockpit.source import redact_url

__all__ = ["HttpClient", "HttpLimits"]

log = logging.getLogger(__name__)

# Query parameters that may carry a secret; their values are never logged or shown.


@dataclass(frozen=True)
class HttpLimits:
    """Per-source limits; all can be set under the source's ``options`` in the config."""

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    retries: int = 3
    backoff_s: float = 0.5
    max_retry_after_s: float = 30.0
    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 200

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> HttpLimits:
        """Limits from a source's ``options`` table; unknown keys are ignored here."""
        names = cls.__dataclass_fields__
        return cls(**{k: options[k] for k in names if k in options})


class _CappedRetry(Retry):
    """urllib3 ``Retry`` that honours Retry-After up to a cap."""

    cap_s: float = 30.0

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.cap_s)

    def new(self, **kw: Any) -> _CappedRetry:
        new: _CappedRetry = super().new(**kw)  # type: ignore[assignment]
        new.cap_s = self.cap_s
        return new


class HttpClient:
    """GETs JSON (or text) for one source, raising ``ConnectorError`` subclasses."""

    def __init__(
        self,
        source: str,
        limits: HttpLimits | None = None,
        headers: dict[str, str] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.limits = limits or HttpLimits()
        self.secrets = tuple(s for s in secrets if s)
        retry = _CappedRetry(
            total=self.limits.retries,
            connect=self.limits.retries,
            read=self.limits.retries,
            status=self.limits.retries,
            backoff_factor=self.limits.backoff_s,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.cap_s = self.limits.max_retry_after_s
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "city-cockpit", "Accept": "application/json"})
        self.session.headers.update(headers or {})

    def close(self) -> None:
        self.session.close()

    def _safe(self, url: str) -> str:
        return redact_url(url, self.secrets)

    def get_bytes(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[bytes, requests.structures.CaseInsensitiveDict[str]]:
        """GET ``url`` and return (body, response headers).

        Raises ``FetchError`` (unreachable, timed out), ``UpstreamStatusError`` (an error
        status after the retries), ``ResponseTooLarge`` (over ``max_bytes``).
        """
        timeout = (self.limits.connect_timeout_s, self.limits.read_timeout_s)
        shown = self._safe(url)
        try:
            response = self.session.get(
                url, params=params, headers=headers, timeout=timeout, stream=True
            )
        except requests.exceptions.RetryError as exc:
            raise UpstreamStatusError(self.source, "still failing after retries", shown) from exc
        except requests.exceptions.Timeout as exc:
            raise FetchError(self.source, "timed out", shown) from exc
        except requests.exceptions.RequestException as exc:
            # A read timeout that outlasted the retries arrives as a ConnectionError.
            if "timed out" in str(exc):
                raise FetchError(self.source, "timed out", shown) from exc
            reason = type(exc).__name__
            raise FetchError(self.source, f"could not connect ({reason})", shown) from exc
        shown = self._safe(response.url)
        with response:
            if response.status_code >= 400:
                raise UpstreamStatusError(
                    self.source, f"HTTP {response.status_code}", shown, response.status_code
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
                raise ResponseTooLarge(
                    self.source, f"answer of {declared} bytes over {self.limits.max_bytes}", shown
                )
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_content(chunk_size=256 * 1024):
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise ResponseTooLarge(
                            self.source, f"answer over {self.limits.max_bytes} bytes", shown
                        )
                    chunks.append(chunk)
            except requests.exceptions.RequestException as exc:
                raise FetchError(self.source, "connection broke mid-answer", shown) from exc
            log.debug("source %s: GET %s -> %d (%d bytes)", self.source, shown, 200, size)
            return b"".join(chunks), response.headers

    def get_json(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[Any, requests.structures.CaseInsensitiveDict[str]]:
        """GET ``url`` and return (parsed JSON, response headers).

        Besides the errors of ``get_bytes``, raises ``ParseError`` when the answer is not
        JSON (e.g. an HTML error page with status 200) or is truncated.
        """
        body, resp_headers = self.get_bytes(url, params, headers)
        ctype = resp_headers.get("Content-Type", "").lower()
        shown = self._safe(url)
        if "json" not in ctype:
            raise ParseError(self.source, f"expected JSON, got content type {ctype!r}", shown)
        try:
            return json.loads(body), resp_headers
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(self.source, f"answer is not valid JSON ({exc})", shown) from exc

    def send(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> tuple[int, requests.structures.CaseInsensitiveDict[str]]:
        """Send ``body`` as JSON with ``method`` (POST, PATCH, DELETE) once, no retries:
        a subscription must not be made twice. Returns (status, response headers).

        Raises ``FetchError`` (unreachable, timed out) and ``UpstreamStatusError`` for an
        error status (a 404 is returned instead when ``missing_ok``).
        """
        timeout = (self.limits.connect_timeout_s, self.limits.read_timeout_s)
        shown = self._safe(url)
        sent = {**(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            response = self.session.request(
                method,
                url,
                data=None if body is None else json.dumps(body),
                headers=sent,
                timeout=timeout,
            )
        except requests.exceptions.RequestException as exc:
            reason = "timed out" if "timed out" in str(exc) else type(exc).__name__
            raise FetchError(self.source, f"{method} failed ({reason})", shown) from exc
        with response:
            status = response.status_code
            if status >= 400 and not (missing_ok and status == 404):
                raise UpstreamStatusError(
                    self.source, f"{method} answered HTTP {status}", shown, status
                )
            log.debug("source %s: %s %s -> %d", self.source, method, shown, status)
            return status, response.headers
