"""``/decisions``: the decision log. An executive records an intervention (what, where,
when, which KPIs it should move); the page shows each affected KPI before and after it,
both against the usual for the same weekdays and hours (``cockpit.twin.baseline.before_after``).

The server checks ``may_do(config, role, "write_decision")`` in the callback that writes
(a crafted request from another role is refused with 403); reading the log needs a
signed-in role. Every recorded decision goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
import flask
from dash import Dash, Input, Output, State, dcc, html

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.present.i18n import format_time, translator
from cockpit.storage import Decision, Journal
from cockpit.twin import baseline
from layouts.components.html_attrs import html_attrs
from layouts.pages.notices import form_outputs, parse_local, sign_in_first, staff_header
from layouts.routes.access import current_viewer

__all__ = ["KPI_METRICS", "decision_list", "effects", "register"]

Gettext = Callable[[str], str]
# KPI key -> the metric its before/after is measured on.
KPI_METRICS = baseline.DECISION_METRICS
KPI_TITLES = {
    "traffic": "Traffic flow",
    "footfall": "Footfall",
    "air": "Air quality",
    "parking": "Parking occupancy",
}
DAYS = 7  # compared: a week before against the week after (or the hours so far)


def effects(
    city: City, role: str, decision: Decision, days: int = DAYS
) -> list[tuple[str, baseline.BeforeAfter]]:
    """Each KPI of ``decision`` before and after it, over the sites ``role`` may see."""
    return city.decision_effects(role, decision, days)


def _pct(value: float | None, _: Gettext) -> str:
    if value is None:
        return "–"
    if abs(value) < 0.005:
        return _("as usual")
    text = _("{pct}% above usual") if value > 0 else _("{pct}% below usual")
    return text.format(pct=f"{abs(value) * 100:.0f}")


def effect_table(rows: list[tuple[str, baseline.BeforeAfter]], _: Gettext) -> html.Table:
    """KPI, before, after (each against usual) and the change, in percentage points."""
    head = html.Tr(
        [
            html.Th(_(h), scope="col")
            for h in ("KPI", "Week before", "After", "Change against usual")
        ]
    )
    body = []
    for key, item in rows:
        change = (
            _("{pp} percentage points").format(pp=f"{item.effect * 100:+.0f}")
            if item.effect is not None
            else _("not enough history yet")
        )
        body.append(
            html.Tr(
                [
                    html.Th(_(KPI_TITLES.get(key, key)), scope="row"),
                    html.Td(_pct(item.before_vs_usual, _)),
                    html.Td(_pct(item.after_vs_usual, _)),
                    html.Td(change, className="cc-effect"),
                ],
                className="cc-effect-row",
                **html_attrs({"data-kpi": key}),
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], className="cc-sources cc-effects")


def decision_list(
    city: City, role: str, decisions: list[Decision], language: str, _: Gettext
) -> html.Div:
    """Every recorded decision, newest first, with its KPIs before and after."""
    tz = city.config.city.timezone
    if not decisions:
        return html.Div(html.P(_("No decisions recorded yet."), className="cc-muted"))
    items = []
    for d in decisions:
        items.append(
            html.Li(
                [
                    html.H3(d.what),
                    html.Div(
                        " · ".join(
                            p
                            for p in (
                                d.place,
                                format_time(d.effective, language, tz, "EEE d MMM yyyy HH:mm"),
                                _("recorded by {user}").format(user=d.author),
                            )
                            if p
                        ),
                        className="cc-muted",
                    ),
                    effect_table(effects(city, role, d), _),
                ],
                className="cc-decision",
                id=f"cc-decision-{d.id}",
            )
        )
    return html.Div(html.Ul(items, className="cc-decision-items"))


def _form(config: CityConfig, now_text: str, _: Gettext) -> html.Section:
    return html.Section(
        [
            html.H2(_("Record a decision"), className="cc-panel-title"),
            html.Div(
                [
                    html.Label(_("What was done"), htmlFor="cc-decision-what"),
                    dcc.Input(id="cc-decision-what", type="text", maxLength=300),
                ],
                className="cc-field",
            ),
            html.Div(
                [
                    html.Label(_("Where"), htmlFor="cc-decision-place"),
                    dcc.Input(id="cc-decision-place", type="text", maxLength=200),
                ],
                className="cc-field",
            ),
            html.Div(
                [
                    html.Label(_("When (YYYY-MM-DD HH:MM, city time)"), htmlFor="cc-decision-when"),
                    dcc.Input(id="cc-decision-when", type="text", value=now_text),
                ],
                className="cc-field",
            ),
            html.Div(
                [
                    html.Label(_("KPIs it should move"), id="cc-decision-kpis-label"),
                    dcc.Checklist(
                        id="cc-decision-kpis",
                        options=[
                            {"label": _(KPI_TITLES[k]), "value": k}
                            for k in KPI_METRICS
                            if k in ("traffic", "footfall", "air", "parking")
                        ],
                        value=[],
                        inline=True,
                        className="cc-radio",
                        inputClassName="cc-radio-input",
                    ),
                ],
                className="cc-field",
            ),
            html.Button(_("Record"), id="cc-decision-record", className="cc-btn cc-btn-primary"),
            html.Div(id="cc-decision-status", className="cc-status-line", role="status"),
        ],
        className="cc-panel cc-form",
    )


def page(city: City, journal: Journal, lang: str = "en", **_query: Any) -> html.Div:
    """The decision log for signed-in viewers; the form for those who may write."""
    language = lang if isinstance(lang, str) and lang.isalpha() else "en"
    _ = translator(language, "cockpit")
    config = city.config
    viewer = current_viewer()
    header = staff_header(
        _("Decision log"), config.city.name, "/decisions", ("/notices", _("Notices")), viewer, _
    )
    if not viewer.signed_in:
        body: list[Any] = [
            sign_in_first(
                _("Sign in to see the decision log."), "cc-decision-refused", "/decisions", _
            )
        ]
    else:
        tz = config.city.timezone
        now_text = format_time(city.clock(), "en", tz, "yyyy-MM-dd HH:mm")
        listing = html.Section(
            [
                html.H2(_("Decisions and their effect"), className="cc-panel-title"),
                html.P(
                    _(
                        "Each KPI in the week before and after the decision, against the "
                        "usual for the same weekdays and hours in the four weeks before."
                    ),
                    className="cc-muted",
                ),
                html.Div(
                    decision_list(city, viewer.role, journal.decisions(), language, _),
                    id="cc-decision-list",
                ),
            ],
            className="cc-panel",
        )
        form = (
            [_form(config, now_text, _)]
            if may_do(config, viewer.role, "write_decision")
            else [
                html.Section(
                    html.P(_("Only executives record decisions."), id="cc-decision-readonly"),
                    className="cc-panel",
                )
            ]
        )
        body = [html.Div([*form, listing], className="cc-two-columns")]
    return html.Div(
        [header, html.Main(body), dcc.Store(id="cc-decision-lang", data=language)],
        className="cc-page cc-decisions",
        lang=language,
    )


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/decisions`` page and its callback."""
    config = city.config
    tz = config.city.timezone

    @app.callback(
        output={
            "listing": Output("cc-decision-list", "children"),
            "status": Output("cc-decision-status", "children"),
        },
        inputs=[Input("cc-decision-record", "n_clicks")],
        state=[
            State("cc-decision-what", "value"),
            State("cc-decision-place", "value"),
            State("cc-decision-when", "value"),
            State("cc-decision-kpis", "value"),
            State("cc-decision-lang", "data"),
        ],
        prevent_initial_call=True,
    )
    def record(
        _n: int | None,
        what: str | None,
        place: str | None,
        when: str | None,
        kpis: list[str] | None,
        language: str | None,
    ) -> dict[str, Any]:
        viewer = current_viewer()
        address = flask.request.remote_addr or ""
        if not may_do(config, viewer.role, "write_decision"):
            journal.audit(viewer.user or "(public)", "decision refused", "", address)
            flask.abort(403)
        language = language or "en"
        _ = translator(language, "cockpit")
        try:
            decision = Decision(
                what=what.strip() if isinstance(what, str) else "",
                place=place.strip() if isinstance(place, str) else "",
                effective=parse_local(when, tz),
                author=viewer.user,
                kpis=[
                    k
                    for k in (kpis if isinstance(kpis, list) else [])
                    if isinstance(k, str) and k in KPI_METRICS
                ],
            )
            decision_id = journal.record_decision(decision, city.clock())
        except ValueError as exc:
            reason = _("Not recorded: {reason}").format(reason=str(exc))
            return form_outputs(dash.no_update, reason)
        journal.audit(
            viewer.user,
            "record decision",
            f"decision {decision_id}: {decision.what} ({', '.join(decision.kpis)})",
            address,
        )
        listing = decision_list(city, viewer.role, journal.decisions(), language, _)
        return form_outputs(listing, _("Decision recorded."))
