"""The cockpit's "Brief for 12 November" download: a day picker limited to the days the
history holds (a dropdown: Dash's date picker marks its field up in a way screen readers
are not given) and a link to that day's PDF brief in the viewer's language.

Shown to the roles that may read the brief (``read_brief``); the link's callback checks
the role again on the server, and the route (``layouts.routes.brief``) on every download.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dash
from babel.dates import format_date
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.present.brief import DayOutsideHistory, brief_days, parse_day
from cockpit.present.i18n import Gettext, locale_of, translator
from layouts.components.html_attrs import html_attrs
from layouts.routes.access import viewer_role
from layouts.routes.brief import brief_url

__all__ = ["brief_link", "brief_panel", "day_options", "register"]

PICKER_ID = "cc-brief-day"
LINK_ID = "cc-brief-link"


def brief_link(prefix: str, day: date, language: str, _: Gettext) -> dict[str, Any]:
    """The link's address and words for the brief of ``day``."""
    words = _("Brief for {day} (PDF)").format(
        day=format_date(day, "d MMMM", locale=locale_of(language))
    )
    return {"href": brief_url(prefix, day.isoformat(), language), "children": words}


def day_options(first: date, last: date, language: str) -> list[dict[str, str]]:
    """The days of the history, newest first, as the picker's options ("Tue 24 Nov")."""
    locale = locale_of(language)
    days = [last - timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        {"label": format_date(day, "EEE d MMM y", locale=locale), "value": day.isoformat()}
        for day in days
    ]


def _prefix() -> str:
    try:
        return str(dash.get_app().config.requests_pathname_prefix)
    except Exception:  # outside an app (unit use): the site root
        return "/"


def brief_panel(city: City, role: str, language: str) -> html.Section | None:
    """The download panel, or None for a role that may not read the brief."""
    if not may_do(city.config, role, "read_brief"):
        return None
    prefix = _prefix()
    _ = translator(language, "brief")
    first, last = brief_days(city, city.clock())
    link = brief_link(prefix, last, language, _)
    return html.Section(
        [
            html.H2(_("Daily brief"), className="cc-panel-title"),
            html.Label(_("Day"), htmlFor=PICKER_ID, className="cc-brief-label"),
            dcc.Dropdown(
                id=PICKER_ID,
                options=day_options(first, last, language),
                value=last.isoformat(),
                clearable=False,
                searchable=False,
                className="cc-brief-day",
            ),
            html.A(
                link["children"],
                id=LINK_ID,
                href=link["href"],
                className="cc-brief-link",
                **html_attrs({"download": ""}),
            ),
        ],
        className="cc-brief-panel",
        **html_attrs({"aria-label": _("Daily brief")}),
    )


def register(app: Dash, city: City) -> None:
    """The link follows the picked day (a day outside the history leaves it as it is)."""
    prefix = app.config.requests_pathname_prefix

    @app.callback(
        output={"href": Output(LINK_ID, "href"), "children": Output(LINK_ID, "children")},
        inputs=[Input(PICKER_ID, "value")],
        state=[State("cc-lang", "data")],
        prevent_initial_call=True,
    )
    def follow(value: object, language: object) -> dict[str, Any]:
        if not may_do(city.config, viewer_role(), "read_brief") or not isinstance(value, str):
            raise PreventUpdate
        lang = language if language in city.config.city.languages else "en"
        try:
            day = parse_day(value, city, city.clock())
        except DayOutsideHistory:
            raise PreventUpdate from None
        return brief_link(prefix, day, str(lang), translator(str(lang), "brief"))
