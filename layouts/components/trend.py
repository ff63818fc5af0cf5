"""The trend chart of one site's recent observations, with its forecast and the time
machine's cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from cockpit.model import METRICS
from cockpit.present.i18n import Gettext, locale_of

__all__ = ["cursor_shapes", "empty_trend", "pair_figure", "trend_figure"]


def _english(message: str) -> str:
    return message


_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]
_BANDS = [
    "rgba(0,114,178,0.18)",
    "rgba(213,94,0,0.18)",
    "rgba(0,158,115,0.18)",
    "rgba(204,121,167,0.18)",
    "rgba(230,159,0,0.18)",
]
CURSOR = "cc-cursor"


def empty_trend(message: str) -> go.Figure:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        margin={"l": 40, "r": 10, "t": 30, "b": 30},
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 15}}],
    )
    return fig


def _styled(
    fig: go.Figure,
    title: str,
    title_size: int,
    right_margin: int,
    legend_y: float,
    **layout: Any,
) -> go.Figure:
    """``fig`` in the cockpit's chart style: white, titled, legend below, one hover per hour."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "font": {"size": title_size}},
        margin={"l": 50, "r": right_margin, "t": 40, "b": 40},
        legend={"orientation": "h", "y": legend_y},
        hovermode="x unified",
        **layout,
    )
    return fig


def _local(times: pd.Series, timezone: str) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(timezone).dt.tz_localize(None)


def cursor_shapes(moment: datetime | None, timezone: str) -> list[dict[str, Any]]:
    """A vertical line at the time machine's moment (none when live)."""
    if moment is None:
        return []
    x = pd.Timestamp(moment).tz_convert(timezone).tz_localize(None).isoformat()
    return [
        {
            "type": "line",
            "name": CURSOR,
            "xref": "x",
            "yref": "paper",
            "x0": x,
            "x1": x,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#16324f", "width": 2, "dash": "dot"},
        }
    ]


def trend_figure(
    series: pd.DataFrame,
    title: str,
    timezone: str,
    forecast: pd.DataFrame | None = None,
    moment: datetime | None = None,
    labels: dict[str, str] | None = None,
    _: Gettext = _english,
    language: str = "en",
) -> go.Figure:
    """One line per metric of ``series`` (canonical observations), times in ``timezone``;
    ``forecast`` (``cockpit.twin.forecast.forecast`` rows) adds the next hours as a dashed
    line in its uncertainty band; ``moment`` draws the time machine's cursor.
    ``labels`` names the forecast traces and ``_`` words metrics and units in the viewer's
    language, whose numbers and dates the axes follow."""
    if series.empty:
        return empty_trend(_("No observations in the history for this site yet."))
    words = {"forecast": "forecast", "band": "likely range", **(labels or {})}
    fig = go.Figure()
    for i, (name, part) in enumerate(series.groupby("metric", sort=True)):
        m = METRICS[str(name)]
        label = _(m.label)
        colour = _COLOURS[i % len(_COLOURS)]
        fig.add_trace(
            go.Scatter(
                x=_local(part["time"], timezone),
                y=part["value"],
                name=f"{label} ({_(m.unit)})",
                mode="lines",
                line={
                    "color": colour,
                    "width": 2,
                    "shape": "hv" if name == "bay_occupied" else "linear",
                },
            )
        )
        ahead = (
            forecast[forecast["metric"] == name]
            if forecast is not None and not forecast.empty
            else None
        )
        if ahead is None or ahead.empty:
            continue
        last = part.iloc[-1]
        times = pd.concat([pd.Series([last["time"]]), ahead["time"]], ignore_index=True)
        x = _local(times, timezone)
        start = float(last["value"])
        low = [start, *ahead["low"].astype(float)]
        high = [start, *ahead["high"].astype(float)]
        band = f"{label} {words['band']}"
        # The band's upper edge, unseen, then its lower edge filled up to it.
        edges: tuple[tuple[list[float], dict[str, Any]], ...] = (
            (high, {"showlegend": False, "name": f"{band} (high)"}),
            (low, {"fill": "tonexty", "fillcolor": _BANDS[i % len(_BANDS)], "name": band}),
        )
        for edge, look in edges:
            fig.add_trace(
                go.Scatter(x=x, y=edge, mode="lines", line={"width": 0}, hoverinfo="skip", **look)
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[start, *ahead["expected"].astype(float)],
                mode="lines+markers",
                line={"color": colour, "width": 2, "dash": "dash"},
                marker={"size": 5},
                name=f"{label} {words['forecast']}",
            )
        )
    return _in_language(
        _styled(fig, title, 15, 10, -0.2, shapes=cursor_shapes(moment, timezone)), language
    )


def _in_language(fig: go.Figure, language: str) -> go.Figure:
    """The axes' numbers with the language's separators and dates as digits (Plotly's
    own month names are English); English keeps Plotly's defaults."""
    if language == "en":
        return fig
    symbols = locale_of(language).number_symbols.get("latn", {})
    decimal, group = symbols.get("decimal", "."), symbols.get("group", ",")
    fig.update_layout(separators=f"{decimal}{group}", xaxis={"tickformat": "%H:%M\n%d.%m."})
    return fig


def pair_figure(
    frame: pd.DataFrame, title: str, timezone: str, flow_label: str, _: Gettext = _english
) -> go.Figure:
    """Traffic flow (left axis) against NO₂ and PM (right axis), hourly; ``_`` words the
    units and messages in the viewer's language."""
    if frame.empty:
        return empty_trend(_("No hours with both traffic and air data yet."))
    x = _local(frame["time"], timezone)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame["vehicle_flow"],
            name=flow_label,
            mode="lines",
            line={"color": "#0072B2", "width": 2},
        )
    )
    for colour, metric in (("#D55E00", "no2"), ("#009E73", "pm25"), ("#CC79A7", "pm10")):
        if metric in frame and frame[metric].notna().any():
            m = METRICS[metric]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=frame[metric],
                    name=f"{m.label} ({m.unit})",
                    mode="lines",
                    yaxis="y2",
                    line={"color": colour, "width": 2, "dash": "dot"},
                )
            )
    return _styled(
        fig,
        title,
        14,
        50,
        -0.25,
        yaxis={"title": {"text": _("veh/h")}},
        yaxis2={"title": {"text": "µg/m³"}, "overlaying": "y", "side": "right", "showgrid": False},
    )
