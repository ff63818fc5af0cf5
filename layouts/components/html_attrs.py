"""``aria-*`` and ``data-*`` attributes for Dash's HTML components, with their types.

Dash takes these attributes only through ``**kwargs``, since their names are not Python
identifiers. Its generated signatures type every named prop, so a ``dict[str, str]``
spread into a component looks to mypy as if it might reach ``n_clicks`` or ``hidden``;
the spread is typed once, here, instead of at every component.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["html_attrs"]


def html_attrs(attributes: Mapping[str, str]) -> dict[str, Any]:
    """``attributes`` (e.g. ``{"aria-label": "Pages"}``) as keyword arguments for a
    Dash HTML component: ``html.Nav(links, **html_attrs({...}))``. Raises nothing."""
    return dict(attributes)
