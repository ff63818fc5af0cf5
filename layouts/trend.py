"""The trend chart of one site's recent observations."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cockpit.model import METRICS

__all__ = ["empty_trend", "trend_figure"]

_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]


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


def trend_figure(series: pd.DataFrame, title: str, timezone: str) -> go.Figure:
    """One line per metric of ``series`` (canonical observations), times in ``timezone``."""
    if series.empty:
        return empty_trend("No observations in the history for this site yet.")
    fig = go.Figure()
    for i, (name, part) in enumerate(series.groupby("metric", sort=True)):
        m = METRICS[str(name)]
        times = part["time"].dt.tz_convert(timezone).dt.tz_localize(None)
        fig.add_trace(
            go.Scatter(
                x=times,
                y=part["value"],
                name=f"{m.label} ({m.unit})",
                mode="lines",
                line={
                    "color": _COLOURS[i % len(_COLOURS)],
                    "width": 2,
                    "shape": "hv" if name == "bay_occupied" else "linear",
                },
            )
        )
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "font": {"size": 15}},
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        hovermode="x unified",
    )
    return fig
