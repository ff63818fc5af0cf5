"""The time machine under the cockpit map: replay the last 24 hours or 7 days.

The slider's value is minutes before an anchor (the latest quarter hour when the page
last was live); 0 is live. Play, step and "live" move the slider in the browser (a
clientside callback driven by a ``dcc.Interval``); the server only turns the chosen
moment into markers, KPIs and the trend's cursor, read from the history store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from cockpit.present.i18n import format_time
from cockpit.validate import bounded_int_or_none, finite_or_none
from layouts.components.clientside import clientside
from layouts.components.html_attrs import html_attrs

__all__ = [
    "PREFIX",
    "RANGES",
    "SPEEDS",
    "anchor_for",
    "bounded_step",
    "moment_label",
    "moment_of",
    "register_clientside",
    "time_bar",
]

# Range id -> (minutes shown, minutes per step).
RANGES: dict[str, tuple[int, int]] = {"24h": (24 * 60, 15), "7d": (7 * 24 * 60, 60)}
# Steps per second while playing.
SPEEDS = (1, 2, 4)
ANCHOR_STEP_S = 15 * 60
# The ids of the cockpit's time bar start with this; another page's bar has its own.
PREFIX = "cc-tm"
MAX_ANCHOR_S = 7_258_118_400  # 2200-01-01
MAX_OFFSET_MIN = 366 * 24 * 60


def anchor_for(now: datetime) -> int:
    """The replay anchor for ``now``: the start of its quarter hour, in epoch seconds."""
    seconds = int(now.timestamp())
    return seconds - seconds % ANCHOR_STEP_S


def valid_anchor(anchor: Any) -> int | None:
    """``anchor`` when it is a whole number of epoch seconds before the year 2200."""
    return bounded_int_or_none(anchor, 0, MAX_ANCHOR_S)


def bounded_step(step: Any) -> int | None:
    """A slider step the page can send (whole minutes, one of the ranges' steps)."""
    found = bounded_int_or_none(step, 1, max(s for _, s in RANGES.values()))
    return found if found in {s for _, s in RANGES.values()} else None


def moment_of(anchor: int | None, offset_min: float | None) -> datetime | None:
    """The replayed moment for a slider value, or None for live (offset 0 or unset, or
    an anchor or offset no slider could send: not a finite number, or out of range)."""
    stamp = valid_anchor(anchor)
    offset = finite_or_none(offset_min, -MAX_OFFSET_MIN, MAX_OFFSET_MIN)
    if stamp is None or not offset:
        return None
    return datetime.fromtimestamp(stamp, UTC) + timedelta(minutes=offset)


def moment_label(
    moment: datetime | None, timezone: str, language: str, _: Callable[[str], str]
) -> str:
    """ "Live" or "Replay: Tue 24 Nov 08:15" in the viewer's language."""
    if moment is None:
        return _("Live")
    when = format_time(moment, language, timezone, "EEE d MMM HH:mm")
    return _("Replay: {when}").format(when=when)


def _marks(minutes: int, timezone: str, anchor: int, language: str) -> dict[int, str]:
    every = 6 * 60 if minutes <= 24 * 60 else 24 * 60
    pattern = "HH:mm" if minutes <= 24 * 60 else "EEE"
    base = datetime.fromtimestamp(anchor, UTC)
    return {
        -m: format_time(base - timedelta(minutes=m), language, timezone, pattern)
        for m in range(0, minutes + 1, every)
    }


def slider_props(range_id: str, timezone: str, anchor: int, language: str) -> dict[str, Any]:
    """min, step and marks of the slider for a range (the last 24 hours for an unknown
    one). Raises ``PreventUpdate`` for an anchor no page sends (see ``valid_anchor``)."""
    stamp = valid_anchor(anchor)
    if stamp is None:
        raise PreventUpdate
    anchor = stamp
    minutes, step = RANGES.get(range_id if isinstance(range_id, str) else "", RANGES["24h"])
    return {"min": -minutes, "step": step, "marks": _marks(minutes, timezone, anchor, language)}


def time_bar(
    timezone: str, anchor: int, language: str, _: Callable[[str], str], prefix: str = PREFIX
) -> html.Div:
    """The controls: live, step back, play/pause, step forward, speed, range, slider; each
    id starts with ``prefix`` (``cc-tm-slider``), so that two pages' time machines never
    answer each other's callbacks."""
    props = slider_props("24h", timezone, anchor, language)
    return html.Div(
        className="cc-timebar",
        role="group",
        **html_attrs({"aria-label": _("Time machine")}),
        children=[
            html.Div(
                className="cc-timebar-controls",
                children=[
                    html.Button(_("Live"), id=f"{prefix}-live", className="cc-btn cc-btn-live"),
                    html.Button(
                        "«",
                        id=f"{prefix}-back",
                        className="cc-btn",
                        title=_("Step back"),
                        **html_attrs({"aria-label": _("Step back")}),
                    ),
                    html.Button(
                        "▶",
                        id=f"{prefix}-play",
                        className="cc-btn cc-btn-play",
                        title=_("Play"),
                        **html_attrs({"aria-label": _("Play or pause")}),
                    ),
                    html.Button(
                        "»",
                        id=f"{prefix}-fwd",
                        className="cc-btn",
                        title=_("Step forward"),
                        **html_attrs({"aria-label": _("Step forward")}),
                    ),
                    html.Span(_("Speed"), id=f"{prefix}-speed-label", className="cc-sr-only"),
                    dcc.RadioItems(
                        id=f"{prefix}-speed",
                        options=[{"label": f"{s}×", "value": s} for s in SPEEDS],
                        value=1,
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                    html.Span(_("Period"), id=f"{prefix}-range-label", className="cc-sr-only"),
                    dcc.RadioItems(
                        id=f"{prefix}-range",
                        options=[
                            {"label": _("24 hours"), "value": "24h"},
                            {"label": _("7 days"), "value": "7d"},
                        ],
                        value="24h",
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                    html.Span(
                        _("Live"),
                        id=f"{prefix}-label",
                        className=f"{prefix}-label",
                        **html_attrs({"aria-live": "polite"}),
                    ),
                ],
            ),
            html.Span(_("Moment shown"), id=f"{prefix}-slider-label", className="cc-sr-only"),
            dcc.Slider(
                id=f"{prefix}-slider",
                max=0,
                value=0,
                included=False,
                allow_direct_input=False,
                updatemode="mouseup",
                className=f"{prefix}-slider",
                **props,
            ),
            dcc.Store(id=f"{prefix}-anchor", data=anchor),
            dcc.Store(id=f"{prefix}-playing", data=False),
            # The slider value whose markers and figures are on screen.
            dcc.Store(id=f"{prefix}-shown", data=0),
            dcc.Interval(id=f"{prefix}-interval", interval=1000, disabled=True),
        ],
    )


def register_clientside(app: Dash, prefix: str = PREFIX) -> None:
    """Wire the controls of the time bar whose ids start with ``prefix`` to its slider in
    the browser (``timeMachine`` in ``assets/cockpit.js``): the slider's value is the only
    thing the server hears about."""
    app.clientside_callback(
        clientside("timeMachine"),
        Output(f"{prefix}-slider", "value"),
        Output(f"{prefix}-playing", "data"),
        Output(f"{prefix}-interval", "disabled"),
        Output(f"{prefix}-interval", "interval"),
        Output(f"{prefix}-play", "children"),
        Input(f"{prefix}-interval", "n_intervals"),
        Input(f"{prefix}-back", "n_clicks"),
        Input(f"{prefix}-fwd", "n_clicks"),
        Input(f"{prefix}-live", "n_clicks"),
        Input(f"{prefix}-play", "n_clicks"),
        Input(f"{prefix}-range", "value"),
        Input(f"{prefix}-speed", "value"),
        State(f"{prefix}-slider", "value"),
        State(f"{prefix}-playing", "data"),
        State(f"{prefix}-slider", "min"),
        State(f"{prefix}-slider", "step"),
        State(f"{prefix}-shown", "data"),
        prevent_initial_call=True,
    )
