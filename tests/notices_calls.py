"""The notices page's callback as a script sends it (no browser, no page): one body for
every test that publishes, approves, withdraws or crafts a notice request over HTTP."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NOTICE_OUTPUTS", "button_id", "notices_body"]

NOTICE_OUTPUTS = [
    ("cc-notice-list", "children"),
    ("cc-notice-status", "children"),
    ("cc-notice-preview-body", "children"),
    ("cc-notice-preview-panel", "hidden"),
    ("cc-notice-draft", "data"),
]


def button_id(kind: str, notice_id: Any) -> dict[str, Any]:
    """A listed notice's button: ``kind`` is ``cc-notice-withdraw`` or ``cc-notice-approve``."""
    return {"type": kind, "id": notice_id}


def notices_body(
    pressed: str | dict[str, Any] | None,
    texts: Mapping[str, str] | None = None,
    severity: str = "info",
    starts: str | None = None,
    expires: str | None = None,
    draft: Any = None,
    withdraw: Sequence[dict[str, Any]] = (),
    approve: Sequence[dict[str, Any]] = (),
    kiosks: str = "all",
) -> dict[str, Any]:
    """The callback's request: ``pressed`` is ``"cc-notice-preview"``,
    ``"cc-notice-publish"``, a listed notice's button (``button_id``), or None (nothing
    changed); ``texts`` by language; ``withdraw`` and ``approve`` the listed buttons'
    inputs as sent (each ``{"id": …, "property": "n_clicks", "value": …}``)."""
    texts = texts or {}
    ids = [{"type": "cc-notice-text", "lang": lang} for lang in texts]
    changed = []
    if isinstance(pressed, dict):
        changed = [json.dumps(pressed, separators=(",", ":"), sort_keys=True) + ".n_clicks"]
    elif pressed:
        changed = [f"{pressed}.n_clicks"]
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in NOTICE_OUTPUTS) + "..",
        "outputs": [{"id": i, "property": p} for i, p in NOTICE_OUTPUTS],
        "inputs": [
            {
                "id": name,
                "property": "n_clicks",
                "value": 1 if pressed == name else None,
            }
            for name in ("cc-notice-preview", "cc-notice-publish")
        ]
        + [list(withdraw), list(approve)],
        "state": [
            [{"id": i, "property": "value", "value": texts[i["lang"]]} for i in ids],
            [{"id": i, "property": "id", "value": i} for i in ids],
            {"id": "cc-notice-severity", "property": "value", "value": severity},
            {"id": "cc-notice-starts", "property": "value", "value": starts},
            {"id": "cc-notice-expires", "property": "value", "value": expires},
            {"id": "cc-notice-kiosks", "property": "value", "value": kiosks},
            {"id": "cc-notice-lang", "property": "data", "value": "en"},
            {"id": "cc-notice-draft", "property": "data", "value": draft},
        ],
        "changedPropIds": changed,
    }
