"""``/c``: the citizen's phone page, where the kiosk's QR code leads.

The kiosk's questions ("Is the air good today?", "Where can I park?"…) answered on a
390 px screen for where the citizen stands: the browser's position when they allow it,
or a district they choose, else the whole city. Each answer says how old it is and links
to "how this data is collected". Every answer is built from ``city.view("public")``
whoever asks and however the request is made: the page never shows internal data and
has no staff words. Text comes from the ``kiosk`` catalogue (``?lang=de``).

Below the answers, citizens' reports that staff published (their own layer of the page,
in the page's language) and a link to report a problem where the citizen stands: the
link carries the browser's position only rounded to ``[reports] position_m``, or the
chosen district.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from cockpit.city import City
from cockpit.present import slides as content
from cockpit.present.demo import demo_badge
from cockpit.present.i18n import available_languages, translator
from cockpit.present.report_words import public_items
from cockpit.present.slides import Screen, Slide
from cockpit.reports import round_position
from cockpit.storage import Journal
from layouts.components.clientside import clientside
from layouts.components.mobile_data import district_names

__all__ = [
    "ROLE",
    "answers",
    "answers_outputs",
    "layout",
    "place_of",
    "published_reports",
    "register",
    "report_link",
]

ROLE = "public"  # the only role this page ever reads with
PATH = "/c"
_SYMBOL = {"ok": "●", "warn": "▲", "alert": "■", "none": ""}


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


def _language(lang: Any, offered: list[str]) -> str:
    known = set(available_languages()) & set(offered or ["en"])
    return lang if isinstance(lang, str) and lang in known else (offered or ["en"])[0]


def place_of(
    city: City, coords: Any, district: Any, language: str
) -> tuple[tuple[float, float] | None, str, str]:
    """Where the answers are for: (position or None, the place's name, a message). A
    district is placed at the middle of its measuring places; a position outside the
    city's box falls back to the whole city, saying so."""
    _t = translator(language, "kiosk")
    config = city.config
    sites = city.view(ROLE).sites
    if isinstance(district, str) and district:
        if district not in district_names(sites):
            return None, "", ""
        own = sites[sites["district"].astype(str) == district]
        return (float(own["lat"].mean()), float(own["lon"].mean())), district, ""
    if isinstance(coords, dict):
        try:
            lat, lon = float(coords["lat"]), float(coords["lon"])
        except (KeyError, TypeError, ValueError):
            return None, "", _t("Your position is not available. Choose a district instead.")
        west, south, east, north = config.city.bbox
        if not (south <= lat <= north and west <= lon <= east):
            message = _t("You seem to be outside {city}: here is the whole city.")
            return None, "", message.format(city=config.city.name)
        return (lat, lon), _t("your position"), ""
    return None, "", ""


def answers(
    city: City, language: str, position: tuple[float, float] | None, place: str
) -> list[Slide]:
    """The kiosk's domain slides in ``language`` from the public view, parking answered
    for ``position`` (named ``place``) when there is one."""
    config = city.config
    screen = Screen(
        id="citizen",
        title=config.city.name,
        slides=content.domain_slides(),
        languages=(language,),
        rotate_seconds=config.kiosk.rotate_seconds,
        reload_hours=config.kiosk.reload_hours,
        position=position,
        place=place,
    )
    view = city.view(ROLE)
    return content.build_slides(config, view, [], screen, city.clock())


def _card(slide: Slide, language: str) -> html.Section:
    _t = translator(language, "kiosk")
    answer = html.P(
        [
            html.Span(
                _SYMBOL.get(slide.level, ""), className="cz-symbol", **{"aria-hidden": "true"}
            ),
            html.Span(slide.answer, className="cz-answer"),
        ],
        className=f"cz-answer-row cz-{slide.level}",
    )
    figure = (
        html.P(
            [html.Strong(slide.figure) if slide.figure else "", " ", slide.figure_label],
            className="cz-figure",
        )
        if slide.figure or slide.figure_label
        else None
    )
    items = (
        html.Ul(
            [
                html.Li(
                    [
                        html.Span(i.label, className="cz-item-label"),
                        html.Span(f"{i.value} {i.unit}".strip(), className="cz-item-value"),
                    ]
                )
                for i in slide.items
            ],
            className="cz-items",
        )
        if slide.items
        else None
    )
    return html.Section(
        [
            html.H2(slide.question),
            answer,
            figure,
            html.Ul([html.Li(line) for line in slide.lines], className="cz-lines"),
            html.P(slide.usual, className="cz-usual") if slide.usual else None,
            items,
            html.P(slide.age.text if slide.age else "", className="cz-age"),
            html.P(" · ".join(slide.credits), className="cz-credit"),
            html.A(
                _t("How this data is collected"),
                href=f"{slide.about_path}?lang={language}",
                className="cz-about",
            ),
        ],
        className=f"cz-card cz-card-{slide.key}",
        **{"data-domain": slide.key},
    )


def _cards(
    city: City, language: str, position: tuple[float, float] | None, place: str
) -> list[Any]:
    _t = translator(language, "kiosk")
    heading = (
        _t("Answers for {place}").format(place=place) if place else _t("Answers for the whole city")
    )
    return [
        html.P(heading, className="cz-for"),
        *(_card(s, language) for s in answers(city, language, position, place)),
    ]


_REPORTS_SHOWN = 20


def report_link(
    city: City, language: str, position: tuple[float, float] | None, district: Any
) -> str:
    """Where "Report a problem here" leads: the report form in ``language`` with the
    citizen's ``position`` rounded to the reports' cells, else the chosen ``district``."""
    query: dict[str, str] = {"lang": language}
    if isinstance(district, str) and district:
        query["district"] = district
    elif position is not None:
        lat, lon = round_position(*position, city.config.reports.position_m)
        query |= {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}
    return f"/report?{urlencode(query)}"


def published_reports(city: City, journal: Journal, language: str) -> Any:
    """The citizens' reports staff published, newest first, in ``language``, with the
    link to report a problem (kept hidden when reports are off, for the callback)."""
    if not city.config.reports.enabled:
        return html.A(id="cz-report-link", hidden=True)
    # "_r": the reports catalogue, not the kiosk one this page speaks otherwise.
    _r = translator(language, "reports")
    sites = city.view(ROLE).sites
    names = dict(zip(sites["id"].astype(str), sites["name"].astype(str), strict=True))
    kept = city.clock() - timedelta(days=city.config.reports.keep_days)
    shown = journal.reports(("published",), limit=_REPORTS_SHOWN, since=kept)
    items = public_items(shown, language, city.config.city.timezone, names)
    listed = [
        html.Li(
            [
                html.Strong(item["title"]),
                html.Span(f" · {item['date']}" + (f" · {item['site']}" if item["site"] else "")),
                html.P(item["text"], className="cz-report-text"),
                html.P(item["answer"], className="cz-report-answer") if item["answer"] else None,
            ],
            className=f"cz-report-item cz-report-{item['category']}",
        )
        for item in items
    ]
    return html.Section(
        [
            html.H2(_r("Reports from citizens"), id="cz-reports-h"),
            html.A(
                _r("Report a problem here"),
                id="cz-report-link",
                href=report_link(city, language, None, None),
                className="cz-btn cz-report-link",
            ),
            html.Ul(listed, className="cz-reports-list")
            if listed
            else html.P(_r("No published reports yet."), className="cz-reports-none"),
        ],
        id="cz-reports",
        className="cz-reports",
        **{"aria-labelledby": "cz-reports-h"},
    )


def layout(city: City, journal: Journal, lang: str | None = None, **_query: Any) -> html.Div:
    """The citizen page in ``lang`` (default: the city's first language), for the whole
    city until the citizen says where they are."""
    config = city.config
    language = _language(lang, list(config.city.languages))
    _t = translator(language, "kiosk")
    view = city.view(ROLE)
    badge = demo_badge(view, language)
    others = [code for code in config.city.languages if code != language]
    districts = district_names(view.sites)
    return html.Div(
        className="cc-citizen",
        lang=language,
        children=[
            html.Header(
                [
                    html.H1(config.city.name),
                    html.P(_t("The city's data for where you are"), className="cz-sub"),
                    html.Nav(
                        [
                            html.A(code.upper(), href=f"{PATH}?lang={code}", lang=code)
                            for code in others
                        ],
                        className="cz-langs",
                        **{"aria-label": _t("Languages")},
                    ),
                ],
                className="cz-header",
            ),
            html.P(badge, className="cz-demo-badge", role="note") if badge else None,
            html.Main(
                [
                    html.Section(
                        [
                            html.H2(_t("Where are you?"), id="cz-where-h"),
                            html.Button(_t("Use my location"), id="cz-locate", className="cz-btn"),
                            html.Details(
                                [
                                    html.Summary(_t("or choose a district")),
                                    dcc.RadioItems(
                                        id="cz-district",
                                        options=[{"label": d, "value": d} for d in districts],
                                        value=None,
                                        className="cz-districts",
                                        inputClassName="cz-district-input",
                                    ),
                                ],
                                className="cz-choose",
                            ),
                            html.P(id="cz-status", className="cz-status", role="status"),
                        ],
                        className="cz-where",
                        **{"aria-labelledby": "cz-where-h"},
                    ),
                    html.Div(_cards(city, language, None, ""), id="cz-answers"),
                    published_reports(city, journal, language),
                ]
            ),
            dcc.Store(id="cz-coords"),
            dcc.Store(id="cz-lang", data=language),
        ],
    )


def answers_outputs(answers: Any, status: Any, report: Any = no_update) -> dict[str, Any]:
    """The answers callback's outputs by name (``no_update`` leaves one as it is):
    ``report`` is where "Report a problem here" leads."""
    return {"answers": answers, "status": status, "report": report}


def register(app: Dash, city: City, _journal: Journal) -> None:
    """Add the citizen page's callbacks: the browser's position, and the answers for it
    or for a chosen district."""
    app.clientside_callback(
        clientside("locate"),
        Output("cz-coords", "data"),
        Input("cz-locate", "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        output={
            "answers": Output("cz-answers", "children"),
            "status": Output("cz-status", "children"),
            "report": Output("cz-report-link", "href"),
        },
        inputs=[Input("cz-coords", "data"), Input("cz-district", "value")],
        state=[State("cz-lang", "data")],
        prevent_initial_call=True,
    )
    def answer(coords: Any, district: Any, lang: Any) -> dict[str, Any]:
        # The public view whoever asks: nothing here reads the session's role.
        language = _language(lang, list(city.config.city.languages))
        if coords is None and district is None:
            raise PreventUpdate
        position, place, message = place_of(city, coords, district, language)
        if position is None and message:
            return answers_outputs(_cards(city, language, None, ""), message)
        if position is None and district:
            raise PreventUpdate  # no such district
        link = report_link(city, language, position, district)
        return answers_outputs(_cards(city, language, position, place), message or no_update, link)
