"""The phone view for city staff in the street (``/m``): alerts first, near me, domains.

One column for a 390 px screen and a slow link: lists and text, no map library; a
site's last 24 hours as an inline SVG sparkline, an alert's place as a small SVG map.
Alerts (threshold alerts and sensor faults) are counted and ordered by severity, each
with how far and which way it is. Signed-in staff acknowledge an alert with a note,
assign it to a colleague, resolve it and undo any of these; each step is kept in the
journal (``cockpit.twin.alert_handling``) and audited with the alert's and the
colleague's names, and every staff phone shows it at its next poll. Every callback reads
the viewer's role on the server: a public viewer sees public data only and cannot act on
an alert, however the request is made.
Text is translated with the ``mobile`` catalogue (``?lang=de``).
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any, cast

import pandas as pd
from dash import (
    ALL,
    MATCH,
    Dash,
    Input,
    Output,
    State,
    ctx,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.domains import all_domains
from cockpit.domains import get as get_domain
from cockpit.present.i18n import available_languages, format_number, format_time, translator
from cockpit.present.report_words import category_words
from cockpit.present.wayfinding import distance_words
from cockpit.storage import Journal
from cockpit.twin import alert_handling
from cockpit.twin.alert_handling import HandlingError, Step
from cockpit.twin.alerts import Alert
from layouts.components.clientside import clientside
from layouts.components.demo_badge import demo_badge_tag
from layouts.components.html_attrs import html_attrs
from layouts.components.mobile_alerts import (
    AlertPlace,
    BoardContext,
    Colleague,
    alert_board,
    city_centre,
    opened_words,
)
from layouts.components.mobile_data import (
    district_names,
    district_sites,
    nearest_sites,
    newest,
    parking_summary,
    site_states,
)
from layouts.components.mobile_parts import (
    alert_title,
    coverage_line,
    site_button,
    site_sheet,
)
from layouts.routes.access import current_viewer, viewer_role
from layouts.routes.security import client_address

__all__ = [
    "alert_outputs",
    "domain_list_outputs",
    "domain_titles",
    "layout",
    "near_outputs",
    "register",
    "sheet_outputs",
]

log = logging.getLogger(__name__)

PATH = "/m"


def domain_titles() -> dict[str, str]:
    """Each registered domain's title on the phone, in the registry's order."""
    return {d.name: d.phone.title for d in all_domains()}


def __getattr__(name: str) -> dict[str, str]:
    # DOMAIN_TITLES follows the registry, domains registered later included.
    if name == "DOMAIN_TITLES":
        return domain_titles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Sites listed per domain when a domain is opened (parking lists districts instead).
LIST_LIMIT = 40


def _language(lang: Any) -> str:
    return lang if isinstance(lang, str) and lang in available_languages() else "en"


def _triggered_value() -> Any:
    """The value of the input that fired the callback (None for a newly drawn button)."""
    return ctx.triggered[0]["value"] if ctx.triggered else None


def colleagues(city: City) -> tuple[Colleague, ...]:
    """The signed-in users who may act on alerts, by the names people read."""
    users = city.config.access.users
    return tuple(
        Colleague(user, u.display_name or user)
        for user, u in sorted(users.items())
        if may_do(city.config, u.role, "acknowledge_alert")
    )


def _you(coords: Any) -> AlertPlace | None:
    if not isinstance(coords, dict):
        return None
    try:
        lat, lon = float(coords["lat"]), float(coords["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
        return None
    return AlertPlace(lat, lon)


def _alert_panel(city: City, journal: Journal, language: str, coords: Any = None) -> list[Any]:
    viewer = current_viewer()
    view = city.view(viewer.role)
    config = city.config
    may_act = viewer.signed_in and may_do(config, viewer.role, "acknowledge_alert")
    context = BoardContext(
        sites=view.sites,
        acks=journal.acknowledgements(),
        may_act=may_act,
        colleagues=colleagues(city) if may_act else (),
        you=_you(coords),
        centre=city_centre(view.sites, config.map.center),
        basemap=str(config.resolve(config.map.basemap)) if config.map.basemap else None,
        language=language,
        timezone=config.city.timezone,
    )
    return alert_board(city.ranked_alerts(view.role), context, translator(language, "mobile"))


def _seen(city: City, journal: Journal) -> dict[str, Any]:
    return {
        "data": city.version(),
        "journal": journal.version(),
        "role": viewer_role(),
    }


def _domain_block(domain: str, view: Any, cover: Any, _: Any) -> html.Div:
    kpi = next((k for k in view.kpis if k.key == get_domain(domain).phone.kpi), None)
    figure = f"{kpi.display} {kpi.unit if kpi.unit != 'EAQI band' else ''}".strip() if kpi else ""
    heading = f"m-domain-{domain}"
    return html.Div(
        className="m-domain",
        children=[
            html.H3(_(get_domain(domain).phone.title), id=heading),
            html.P(
                [
                    html.Strong(figure),
                    html.Span(f" · {_(kpi.level_label)}" if kpi else ""),
                ],
                className="m-domain-figure",
            ),
            html.P(coverage_line(cover, _), className="m-muted"),
            html.Button(
                _("Show sites"),
                id={"type": "m-domain-btn", "domain": domain},
                className="m-secondary",
                **html_attrs({"aria-expanded": "false", "aria-describedby": heading}),
            ),
            html.Div(id={"type": "m-domain-list", "domain": domain}, className="m-domain-list"),
        ],
    )


_REPORTS_LISTED = 3


def _reports_panel(city: City, journal: Journal, language: str) -> html.Section | None:
    """Citizens' reports waiting for staff: how many, the newest few, and the way to the
    moderation list; only for a viewer the server lets moderate them."""
    viewer = current_viewer()
    config = city.config
    if not (
        config.reports.enabled
        and viewer.signed_in
        and may_do(config, viewer.role, "moderate_reports")
    ):
        return None
    _r = translator(language, "reports")
    kept = city.clock() - timedelta(days=config.reports.keep_days)
    waiting = journal.reports(("received",), limit=-1, since=kept)
    newest = [
        html.Li([html.Strong(category_words(r.category, _r)), f" · {r.text[:80]}"])
        for r in waiting[:_REPORTS_LISTED]
    ]
    return html.Section(
        id="m-reports",
        className="m-section",
        **html_attrs({"aria-labelledby": "m-reports-h"}),
        children=[
            html.H2(_r("Citizen reports"), id="m-reports-h"),
            html.P(_r("{n} new, not reviewed yet").format(n=len(waiting)), className="m-muted"),
            html.Ul(newest, className="m-report-list") if newest else None,
            html.A(
                _r("Review reports"),
                href=f"/reports?lang={language}&status=received",
                id="m-reports-link",
                className="m-primary",
            ),
        ],
    )


def layout(city: City, journal: Journal, lang: str | None = None, **_query: Any) -> html.Div:
    """The phone view as the viewer's role sees it now, in ``lang`` (default English)."""
    language = _language(lang)
    _ = translator(language, "mobile")
    viewer = current_viewer()
    config = city.config
    view = city.view(viewer.role)
    found = city.alert_board(view.role)
    covers = {c.domain: c for c in found.coverage}
    tz = config.city.timezone
    if viewer.signed_in:
        account: list[Any] = [
            html.Span(_("Signed in as {user}").format(user=viewer.user), className="m-user"),
            html.A(_("Sign out"), href=f"/signout?next={PATH}", className="m-header-link"),
        ]
    else:
        account = [
            html.A(_("Staff sign-in"), href=f"/signin?next={PATH}", className="m-header-link")
        ]
    other = "de" if language == "en" else "en"
    domains = [d for d in domain_titles() if d in {lay.domain for lay in config.layers.values()}]
    return html.Div(
        className="cc-mobile",
        lang=language,
        children=[
            html.Header(
                className="m-header",
                children=[
                    html.H1([config.city.name, html.Span(_("Staff view"), className="m-sub")]),
                    demo_badge_tag(view, language),
                    html.Div(
                        [
                            *account,
                            html.A(
                                "Deutsch" if other == "de" else "English",
                                href=f"{PATH}?lang={other}",
                                lang=other,
                                className="m-header-link",
                            ),
                        ],
                        className="m-account",
                    ),
                ],
            ),
            html.Main(
                className="m-main",
                children=[
                    html.Section(
                        id="m-alerts",
                        className="m-section",
                        **html_attrs({"aria-labelledby": "m-alerts-h"}),
                        children=[
                            html.H2(_("Alerts"), id="m-alerts-h"),
                            html.Div(
                                _alert_panel(city, journal, language),
                                id="m-alert-list",
                                **html_attrs({"aria-live": "polite"}),
                            ),
                        ],
                    ),
                    _reports_panel(city, journal, language),
                    html.Section(
                        id="m-near",
                        className="m-section",
                        **html_attrs({"aria-labelledby": "m-near-h"}),
                        children=[
                            html.H2(_("Near me"), id="m-near-h"),
                            html.Button(_("Use my location"), id="m-locate", className="m-primary"),
                            html.P(id="m-geo-status", className="m-muted", role="status"),
                            html.Details(
                                [
                                    html.Summary(_("Choose a district")),
                                    html.Ul(
                                        [
                                            html.Li(
                                                html.Button(
                                                    name,
                                                    id={"type": "m-district", "name": name},
                                                    className="m-chip",
                                                )
                                            )
                                            for name in district_names(view.sites)
                                        ],
                                        className="m-chips",
                                    ),
                                ],
                                id="m-choose",
                                open=False,
                            ),
                            html.Div(id="m-near-list"),
                        ],
                    ),
                    html.Section(
                        id="m-domains",
                        className="m-section",
                        **html_attrs({"aria-labelledby": "m-domains-h"}),
                        children=[
                            html.H2(_("City now"), id="m-domains-h"),
                            *[_domain_block(d, view, covers.get(d), _) for d in domains],
                        ],
                    ),
                ],
            ),
            html.Footer(
                className="m-footer",
                children=[
                    html.P(
                        _("Data as of {time}").format(
                            time=format_time(newest(view), language, tz, "EEE d MMM HH:mm")
                        )
                    ),
                    html.Ul([html.Li(s.credit()) for s in view.sources.values()]),
                ],
            ),
            html.Section(
                id="m-sheet",
                className="m-sheet",
                hidden=True,
                **html_attrs({"aria-label": _("Site details")}),
                children=[
                    html.Button(_("Close"), id="m-close", className="m-secondary"),
                    html.Div(id="m-sheet-body"),
                ],
            ),
            dcc.Store(id="m-lang", data=language),
            dcc.Store(id="m-coords", data=None),
            dcc.Store(id="m-seen", data=_seen(city, journal)),
            dcc.Store(id="m-focus", data=None),
            dcc.Store(id="m-scroll", data=None),
            # Polls are version-gated: one with nothing new is answered with no content.
            dcc.Interval(id="m-tick", interval=int(max(config.ui.poll_seconds, 5) * 1000)),
        ],
    )


def _near_list(city: City, rows: pd.DataFrame, heading: str, language: str) -> list[Any]:
    _ = translator(language, "mobile")
    view = city.view(viewer_role())
    states = site_states(view)
    out: list[Any] = [html.H3(heading)]
    parking = rows[rows["domain"] == "parking"]
    for domain, title in domain_titles().items():
        own = rows[rows["domain"] == domain]
        if own.empty:
            continue
        items = []
        for row in own.itertuples(index=False):
            distance = getattr(row, "distance_m", None)
            extra = (
                f" · {distance_words(float(distance), language)}" if distance is not None else ""
            )
            items.append(site_button(row, states.get(str(row.id)), _, extra))
        out += [html.H4(_(title)), html.Ul(items, className="m-sites")]
    if not parking.empty:
        free, total = parking_summary(view, list(parking["id"].astype(str)))
        out.append(
            html.P(
                _("{free} of {total} bays listed are free").format(
                    free=format_number(free, language), total=format_number(total, language)
                )
            )
        )
    if len(out) == 1:
        out.append(html.P(_("No sites here."), className="m-muted"))
    return out


def _domain_list(city: City, domain: str, language: str) -> list[Any]:
    _ = translator(language, "mobile")
    view = city.view(viewer_role())
    sites = view.sites[view.sites["domain"] == domain]
    if domain == "parking":
        rows = []
        for name in district_names(sites):
            ids = list(sites.loc[sites["district"].astype(str) == name, "id"].astype(str))
            free, total = parking_summary(view, ids)
            rows.append(
                html.Li(
                    html.Button(
                        [
                            html.Span(name, className="m-site-name"),
                            html.Span(
                                _("{free} of {total} bays free").format(
                                    free=format_number(free, language),
                                    total=format_number(total, language),
                                ),
                                className="m-site-value",
                            ),
                        ],
                        id={"type": "m-district", "name": name},
                        className="m-site",
                    )
                )
            )
        return [html.Ul(rows, className="m-sites")]
    states = site_states(view)
    order = {"alert": 0, "warn": 1, "stale": 2, "ok": 3}
    sites = sites.assign(
        rank=[order.get(states[i].level, 4) if i in states else 5 for i in sites["id"]]
    ).sort_values(["rank", "name"])
    items = [site_button(r, states.get(str(r.id)), _) for r in sites.head(LIST_LIMIT).itertuples()]
    out: list[Any] = [html.Ul(items, className="m-sites")]
    if len(sites) > LIST_LIMIT:
        out.append(html.P(_("and {n} more").format(n=len(sites) - LIST_LIMIT), className="m-muted"))
    return out


def _act(city: City, journal: Journal, key: str, action: str, to: str, note: str) -> None:
    """Take ``action`` ("acknowledge", "assign" to ``to``, "resolve" or "undo") on the
    open alert ``key`` for the signed-in viewer, keep it in the journal and audit it by
    the alert's and the colleague's names. Refuses (no update) otherwise."""
    viewer = current_viewer()
    if not viewer.signed_in or not may_do(city.config, viewer.role, "acknowledge_alert"):
        log.warning("refused %s of %r for role %s", action, key, viewer.role)
        raise PreventUpdate
    view = city.view(viewer.role)
    found = {a.key: a for a in city.alert_board(view.role).alerts}
    alert = found.get(key)
    if alert is None or action not in (*alert_handling.ACTIONS, "undo"):
        raise PreventUpdate
    now = city.clock()
    current = alert_handling.handling(journal.acknowledgements(), key)
    names = {c.user: c.name for c in colleagues(city)}
    try:
        if action == "undo":
            undone = current.last
            changed = alert_handling.undo(current)
        else:
            undone = None
            kind = cast("alert_handling.Action", action)
            step = Step(kind, viewer.user, now, note, to if action == "assign" else "")
            changed = alert_handling.apply(current, step, set(names))
    except HandlingError as error:
        log.info("alert %s: %s", key, error)
        raise PreventUpdate from None
    journal.acknowledge(key, viewer.user, now=now, note=alert_handling.encode(changed))
    _en = translator("en", "mobile")
    what = (
        f"{alert_title(alert, _en)} at {alert.site_name}, opened "
        f"{opened_words(alert.opened, 'en', city.config.city.timezone)}"
    )
    if action == "assign":
        what += f"; to {names.get(to, to)}"
    if action == "undo" and undone is not None:
        what += f"; undid {undone.action}"
    if note.strip() and action != "undo":
        what += f"; note: {note.strip()}"
    journal.audit(viewer.user, f"{action} alert", what, client_address(), now=now)


def near_outputs(sites: Any, status: Any, choose: Any) -> dict[str, Any]:
    """The near-me callback's outputs by name: the site list, the location message and
    whether the district chooser is open (``no_update`` leaves one as it is)."""
    return {"sites": sites, "status": status, "choose": choose}


def alert_outputs(alerts: Any, seen: Any) -> dict[str, Any]:
    """The alert panel's outputs by name: its list and what the phone has now seen."""
    return {"alerts": alerts, "seen": seen}


def domain_list_outputs(sites: Any, expanded: str, label: str) -> dict[str, Any]:
    """A domain block's outputs by name: its site list, its button's ``aria-expanded``
    and the button's label."""
    return {"sites": sites, "expanded": expanded, "label": label}


def sheet_outputs(hidden: bool, body: Any) -> dict[str, Any]:
    """The site sheet's outputs by name: whether it is hidden and what it holds."""
    return {"hidden": hidden, "body": body}


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the ``/m`` page and its callbacks."""

    app.clientside_callback(
        clientside("locate"),
        Output("m-coords", "data"),
        Input("m-locate", "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        clientside("showNear"),
        Output("m-scroll", "data"),
        Input("m-near-list", "children"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        clientside("focusSheet"),
        Output("m-focus", "data"),
        Input("m-sheet", "hidden"),
        prevent_initial_call=True,
    )

    @app.callback(
        output={
            "sites": Output("m-near-list", "children"),
            "status": Output("m-geo-status", "children"),
            "choose": Output("m-choose", "open"),
        },
        inputs=[Input("m-coords", "data"), Input({"type": "m-district", "name": ALL}, "n_clicks")],
        state=[State("m-lang", "data")],
        prevent_initial_call=True,
    )
    def near(coords: Any, _clicks: Any, lang: Any) -> dict[str, Any]:
        language = _language(lang)
        _ = translator(language, "mobile")
        view = city.view(viewer_role())
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("type") == "m-district":
            if not _triggered_value():
                raise PreventUpdate
            name = str(trigger.get("name", ""))
            if name not in district_names(view.sites):
                raise PreventUpdate
            rows = district_sites(view.sites, name)
            return near_outputs(_near_list(city, rows, name, language), "", no_update)
        if not isinstance(coords, dict):
            raise PreventUpdate
        if "lat" not in coords or "lon" not in coords:
            message = _("Your location is not available. Choose a district instead.")
            return near_outputs(no_update, message, True)
        try:
            lat, lon = float(coords["lat"]), float(coords["lon"])
        except (TypeError, ValueError):
            raise PreventUpdate from None
        rows = nearest_sites(view.sites, lat, lon)
        return near_outputs(_near_list(city, rows, _("Nearest sites"), language), "", False)

    @app.callback(
        output={"alerts": Output("m-alert-list", "children"), "seen": Output("m-seen", "data")},
        inputs=[
            Input("m-tick", "n_intervals"),
            Input({"type": "m-act", "key": ALL, "action": ALL, "to": ALL}, "n_clicks"),
            Input("m-coords", "data"),
        ],
        state=[
            State("m-lang", "data"),
            State("m-seen", "data"),
            State({"type": "m-note", "key": ALL}, "value"),
            State({"type": "m-note", "key": ALL}, "id"),
        ],
        prevent_initial_call=True,
    )
    def alerts_panel(
        _tick: Any, _acts: Any, coords: Any, lang: Any, seen: Any, notes: Any, note_ids: Any
    ) -> dict[str, Any]:
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("type") == "m-act":
            if not _triggered_value():
                raise PreventUpdate
            key = str(trigger.get("key", ""))
            written = {
                str(i.get("key")): str(v or "")
                for i, v in zip(note_ids or [], notes or [], strict=False)
                if isinstance(i, dict)
            }
            _act(
                city,
                journal,
                key,
                str(trigger.get("action", "")),
                str(trigger.get("to", "")),
                written.get(key, "")[:500],
            )
        elif (trigger != "m-coords" or _you(coords) is None) and seen == _seen(city, journal):
            # Nothing new since the last poll, and no new position: nothing sent.
            raise PreventUpdate
        return alert_outputs(
            _alert_panel(city, journal, _language(lang), coords), _seen(city, journal)
        )

    @app.callback(
        output={
            "sites": Output({"type": "m-domain-list", "domain": MATCH}, "children"),
            "expanded": Output({"type": "m-domain-btn", "domain": MATCH}, "aria-expanded"),
            "label": Output({"type": "m-domain-btn", "domain": MATCH}, "children"),
        },
        inputs=[Input({"type": "m-domain-btn", "domain": MATCH}, "n_clicks")],
        state=[State("m-lang", "data")],
        prevent_initial_call=True,
    )
    def domain_list(clicks: Any, lang: Any) -> dict[str, Any]:
        language = _language(lang)
        _ = translator(language, "mobile")
        domain = str(ctx.triggered_id["domain"]) if isinstance(ctx.triggered_id, dict) else ""
        if domain not in domain_titles() or not clicks:
            raise PreventUpdate
        if clicks % 2 == 0:
            return domain_list_outputs([], "false", _("Show sites"))
        return domain_list_outputs(_domain_list(city, domain, language), "true", _("Hide sites"))

    @app.callback(
        output={"hidden": Output("m-sheet", "hidden"), "body": Output("m-sheet-body", "children")},
        inputs=[Input({"type": "m-site", "id": ALL}, "n_clicks"), Input("m-close", "n_clicks")],
        state=[State("m-lang", "data")],
        prevent_initial_call=True,
    )
    def sheet(_clicks: Any, _close: Any, lang: Any) -> dict[str, Any]:
        trigger = ctx.triggered_id
        if trigger == "m-close":
            return sheet_outputs(True, [])
        if not isinstance(trigger, dict) or not _triggered_value():
            raise PreventUpdate
        language = _language(lang)
        role = viewer_role()
        view = city.view(role)
        site_id = str(trigger.get("id", ""))
        end = city.clock()
        start = end - timedelta(hours=24)
        series = city.series(role, site_id, hours=24)
        centre = city_centre(view.sites, city.config.map.center)
        body = site_sheet(
            view,
            site_id,
            series,
            site_states(view).get(site_id),
            start,
            end,
            translator(language, "mobile"),
            language,
            city.config.city.timezone,
            tuple(a for a in city.ranked_alerts(role) if a.site_id == site_id),
            centre=(centre.lat, centre.lon),
        )
        return sheet_outputs(False, body)


def open_alerts(city: City, role: str) -> list[Alert]:
    """The open alerts ``role`` sees now (as on the phone)."""
    return city.alert_board(role).alerts
