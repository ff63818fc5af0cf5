"""Asking the URL being discovered, and nothing else: GETs on its own host only, with
short timeouts, no retries and a size limit, answers kept as bytes, JSON and headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from cockpit.errors import ConnectorError, UpstreamStatusError
from connectors.http import HttpClient, HttpLimits

__all__ = ["Answer", "DiscoveryError", "Probe"]

# A probe asks a few pages of a platform it does not know: fail fast, read little.
PROBE_LIMITS = HttpLimits(
    connect_timeout_s=5, read_timeout_s=20, retries=0, max_bytes=30 * 1024 * 1024, max_pages=5
)


class DiscoveryError(Exception):
    """The URL cannot be discovered: unreachable, or nothing in it is recognised. The
    message is one line a person can act on."""


@dataclass(frozen=True)
class Answer:
    """One answer of the platform: its URL, status, content type, body and JSON (None
    when the body is not JSON)."""

    url: str
    status: int
    content_type: str
    body: bytes
    data: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8-sig", errors="replace")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


class Probe:
    """GETs on the host of ``url`` only; a link to another host is refused. ``domain``
    is what the data officer says the data is, when its names do not say it."""

    def __init__(self, url: str, limits: HttpLimits | None = None, domain: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DiscoveryError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.http = HttpClient("discover", limits or PROBE_LIMITS)
        self.http.session.headers["Accept"] = "application/json, text/csv, */*;q=0.5"
        self.asked: list[str] = []
        # platforms whose reading broke on an answer (shown when nothing is recognised)
        self.broken: list[str] = []
        # What the data officer said the data is (a domain): narrows the proposals.
        self.domain = domain

    def close(self) -> None:
        self.http.close()

    def same_host(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def get(
        self, url: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """The answer of ``url`` (relative to the probed URL's host); an error status is
        an answer too. Raises ``DiscoveryError`` when the host cannot be reached or the
        link leaves it."""
        absolute = urljoin(self.origin + "/", url)
        if not self.same_host(absolute):
            raise DiscoveryError(
                f"refusing to follow a link to another host: {absolute} (discover asks "
                "only the host it is given: run it on that address)"
            )
        self.asked.append(absolute)
        try:
            body, resp_headers = self.http.get_bytes(absolute, params, headers)
        except UpstreamStatusError as exc:
            return Answer(absolute, exc.status or 500, "", b"", None, {})
        except ConnectorError as exc:
            raise DiscoveryError(f"cannot read {exc.url or absolute}: {exc.reason}") from None
        ctype = resp_headers.get("Content-Type", "").lower()
        return Answer(absolute, 200, ctype, body, _json(body), dict(resp_headers))

    def json(self, url: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The JSON of ``url``, or None when it answers an error or no JSON."""
        answer = self.get(url, params, **kw)
        return answer.data if answer.ok else None
