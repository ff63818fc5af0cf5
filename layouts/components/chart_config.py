"""How a chart's toolbar speaks: Plotly's ``config`` for a chart in the viewer's language.

Plotly words its toolbar ("Zoom in", "Reset axes"…) and its month and day names in
English unless a locale is registered. Rather than load a locale script per language,
each chart carries its own (Plotly's ``config.locales``): the toolbar's words from the
``cockpit`` message catalogue, the month and day names and number signs from Babel, so a
language with a catalogue gets a translated toolbar without another file.
"""

from __future__ import annotations

from typing import Any, Final, cast

from dash import dcc

from cockpit.present.i18n import locale_of, translator

__all__ = ["TOOLBAR_WORDS", "chart_config"]

# The words of Plotly's toolbar and hover hints on the cockpit's charts (Plotly's own
# English messages, its dictionary keys).
TOOLBAR_WORDS: Final = (
    "Download plot as a PNG",
    "Download plot",
    "Preparing image - this may take a few seconds",
    "Image download succeeded",
    "Sorry, there was a problem downloading your image!",
    "Zoom",
    "Pan",
    "Zoom in",
    "Zoom out",
    "Autoscale",
    "Reset axes",
    "Toggle Spike Lines",
    "Show closest data on hover",
    "Compare data on hover",
    "Toggle show closest data on hover",
    "Double-click to zoom back out",
    "Double-click on legend to isolate one trace",
)

# No Plotly logo, the toolbar only while the pointer is on the chart, no selection tools
# (nothing on the cockpit acts on a selection) and never "Share chart…", which would
# upload the city's data to Plotly's cloud.
_BASE: Final = {
    "displaylogo": False,
    "displayModeBar": "hover",
    "showSendToCloud": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def chart_config(language: str, **extra: Any) -> dcc.Graph.Config:
    """``dcc.Graph``'s ``config`` for a chart in ``language`` (``extra`` adds or overrides
    keys). English keeps Plotly's own words."""
    config: dict[str, Any] = {**_BASE, **extra}
    if language == "en":
        return cast(dcc.Graph.Config, config)
    _ = translator(language, "cockpit")
    locale = locale_of(language)
    symbols = locale.number_symbols.get("latn", {})
    days = [locale.days["format"]["wide"][(i - 1) % 7] for i in range(7)]  # Sunday first
    short_days = [locale.days["format"]["abbreviated"][(i - 1) % 7] for i in range(7)]
    months = [locale.months["format"]["wide"][i] for i in range(1, 13)]
    short_months = [locale.months["format"]["abbreviated"][i] for i in range(1, 13)]
    dictionary = {words: _(words) for words in TOOLBAR_WORDS if _(words) != words}
    config["locale"] = language
    config["locales"] = {
        language: {
            "dictionary": dictionary,
            "format": {
                "days": days,
                "shortDays": short_days,
                "months": months,
                "shortMonths": short_months,
                "decimal": symbols.get("decimal", "."),
                "thousands": symbols.get("group", ","),
                "grouping": [3],
                "currency": ["", ""],
                "date": "%d.%m.%Y",
            },
        }
    }
    return cast(dcc.Graph.Config, config)
