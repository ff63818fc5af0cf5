"""The "Demo: replayed and simulated data" badge every view shows beside its title while
any figure it shows is replayed or simulated (``cockpit.present.demo``)."""

from __future__ import annotations

from dash import html

from cockpit.city import CityView
from cockpit.present.demo import demo_badge

__all__ = ["demo_badge_tag"]


def demo_badge_tag(view: CityView, language: str) -> html.Span | None:
    """The badge in ``language`` for ``view``; None when every figure is measured live.
    It wraps rather than being cut off, however narrow the screen."""
    text = demo_badge(view, language)
    if not text:
        return None
    return html.Span(text, className="cc-demo-badge", role="note")
