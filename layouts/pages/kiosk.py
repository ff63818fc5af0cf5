"""``/kiosk`` and ``/kiosk/<screen>``: the public kiosk for unattended screens.

Slides rotate in the browser (``assets/kiosk.js``), so rotation, the clock and the offline
marker keep going when the server cannot be reached; the server only refreshes what the
slides say, every ``[ui] poll_seconds``, and records the kiosk's heartbeat. Every answer
is built from ``city.view("public")`` whatever the session or the request says: a kiosk
never receives internal data. Of citizens' reports it reads only the published ones,
whoever asks (``published_reports``): they are listed on the reports slide and marked on
the overview map. A failure keeps the last screen and is logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import dash
import flask
import segno
from dash import Dash, Input, Output, State, dcc, html, no_update

from cockpit.city import City, CityView
from cockpit.domains import get as get_domain
from cockpit.present import slides as content
from cockpit.present.i18n import format_time, translator
from cockpit.present.kiosk_reports import MAP_REPORTS, KioskReport, kiosk_reports
from cockpit.present.slides import Heading, Screen, Slide
from cockpit.present.today import TodayCurve, history_start, today_against_usual
from cockpit.reports import Report
from cockpit.storage import Journal, Notice
from cockpit.validate import bounded_int_or_none
from layouts.components.clientside import clientside
from layouts.components.html_attrs import html_attrs
from layouts.components.kiosk_chart import data_uri, nearby_svg, today_svg
from layouts.components.kiosk_map import free_bay_colour, overview_svg, report_colour

__all__ = [
    "BodyCache",
    "KioskState",
    "current_state",
    "default_layout",
    "heartbeat_info",
    "layout",
    "published_reports",
    "qr_data_uri",
    "refresh_outputs",
    "register",
    "render_body",
    "screen_layout",
]

log = logging.getLogger(__name__)

ROLE = "public"  # the only role a kiosk ever reads with
# The only reports a kiosk ever reads, whatever the session says.
PUBLIC_REPORTS = ("published",)
_SYMBOL = {"ok": "●", "warn": "▲", "alert": "■", "none": ""}


@lru_cache(maxsize=16)
def qr_data_uri(url: str) -> str:
    """A QR code for ``url`` as an SVG data URI (dark on light, a quiet zone of 4)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=8, border=4))


def _lang_attrs(lang: str) -> dict[str, str]:
    return {"data-kiosk-lang": lang, "lang": lang}


def _dots(slide: Slide, rotate_seconds: float) -> html.Div:
    _t = translator(slide.language, "kiosk")
    return html.Div(
        [
            html.Div(
                [
                    html.Span(className="cc-dot" + (" cc-dot-on" if i == slide.index else ""))
                    for i in range(slide.count)
                ],
                className="cc-dots",
                **html_attrs({"aria-hidden": "true"}),
            ),
            html.Span(
                _t("Slide {n} of {count}").format(n=slide.index + 1, count=slide.count),
                className="cc-slide-number",
            ),
            html.Div(
                html.Div(
                    className="cc-progress-bar", style={"animationDuration": f"{rotate_seconds}s"}
                ),
                className="cc-progress",
            ),
        ],
        className="cc-rotation",
    )


def _foot(slide: Slide, rotate_seconds: float, host: str) -> html.Footer:
    demo = [html.Div(slide.demo, className="cc-demo-badge")] if slide.demo else []
    age = []
    if slide.age is not None:
        age.append(html.Span(slide.age.text, className="cc-age-text"))
    if slide.stale_label:
        age.append(html.Span(f"? {slide.stale_label}", className="cc-k-stale-badge"))
    about = []
    if slide.about_path:
        about = [
            html.Span(f"{slide.about}: ", className="cc-about-label"),
            html.Span(f"{host}{slide.about_path}", className="cc-name"),
        ]
    return html.Footer(
        [
            *demo,
            html.Div(age, className="cc-age" + (" cc-k-is-stale" if slide.stale_label else "")),
            html.Div(about, className="cc-about"),
            html.Div(
                [html.Div(c, className="cc-k-credit") for c in slide.credits],
                className="cc-k-credits",
            ),
            _dots(slide, rotate_seconds),
        ],
        className="cc-slide-foot",
    )


def _items(slide: Slide) -> html.Ul | None:
    if not slide.items:
        return None
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(_SYMBOL.get(item.level, ""), className="cc-k-symbol"),
                    html.Span(item.label, className="cc-item-label cc-name"),
                    html.Span(item.value, className="cc-item-value"),
                    html.Span(item.unit, className="cc-item-unit") if item.unit else None,
                ],
                className=f"cc-item cc-k-{item.level}",
            )
            for item in slide.items
        ],
        className="cc-items",
    )


def _map_src(base: str, reports: Sequence[KioskReport]) -> str:
    """The overview map's address: a new one whenever the reports' places change."""
    places = sorted({(r.lat, r.lon) for r in reports if r.lat is not None})
    if not places:
        return base
    digest = hashlib.sha256(repr(places).encode()).hexdigest()[:12]
    return f"{base}&r={digest}"


def _overview_extra(slide: Slide, map_src: str) -> list[Any]:
    _t = translator(slide.language, "kiosk")
    reports = (
        [
            html.Span(
                [
                    html.Span("◆", className="cc-k-report-mark", style={"color": report_colour()}),
                    " ",
                    _t("citizens' report"),
                ],
                className="cc-k-legend-reports",
            )
        ]
        if slide.reports
        else []
    )
    legend = html.Div(
        [
            html.Span([html.Span("●", className="cc-k-ok"), " ", _t("normal")]),
            html.Span([html.Span("▲", className="cc-k-warn"), " ", _t("raised")]),
            html.Span([html.Span("■", className="cc-k-alert"), " ", _t("high")]),
            html.Span(
                [html.Span("●", style={"color": free_bay_colour()}), " ", _t("free parking")]
            ),
            *reports,
        ],
        className="cc-k-legend",
    )
    tiles = html.Div(
        [
            html.Div(
                [
                    html.Div(item.label, className="cc-tile-label"),
                    html.Div(
                        [
                            html.Span(_SYMBOL.get(item.level, ""), className="cc-k-symbol"),
                            item.value,
                        ],
                        className="cc-tile-value",
                    ),
                    html.Div(item.unit, className="cc-tile-unit") if item.unit else None,
                ],
                className=f"cc-tile cc-k-{item.level}",
            )
            for item in slide.items
        ],
        className="cc-tiles",
    )
    alt = (
        _t("Map of the city's measuring places and of citizens' published reports")
        if slide.reports
        else _t("Map of the city's measuring places")
    )
    figure = html.Figure(
        [html.Img(src=_map_src(map_src, slide.reports), alt=alt, className="cc-k-map")],
        className="cc-map-frame",
    )
    return [html.Div([figure, html.Div([tiles, legend], className="cc-k-side")], className="cc-ov")]


def _pictures(slide: Slide) -> list[Any]:
    """The slide's second half: today against usual and the free parking around the
    kiosk, each a still picture with its title (none without data)."""
    _t = translator(slide.language, "kiosk")
    out: list[Any] = []
    if slide.chart is not None:
        svg = today_svg(slide.chart, *slide.chart_legend)
        out.append(
            html.Figure(
                [
                    html.Figcaption(
                        [slide.chart_title, html.Span(slide.usual, className="cc-usual")],
                        className="cc-picture-title",
                    ),
                    html.Img(src=data_uri(svg), alt=slide.usual or slide.chart_title),
                ],
                className="cc-picture cc-today",
            )
        )
    if slide.nearby is not None:
        here = _t("You are here: {place}").format(place=slide.nearby.here)
        svg = nearby_svg(slide.nearby, here, _t("free"), _t("taken"))
        out.append(
            html.Figure(
                [
                    html.Figcaption(slide.nearby_title, className="cc-picture-title"),
                    html.Img(src=data_uri(svg), alt=here, className="cc-nearby-map"),
                ],
                className="cc-picture cc-nearby",
            )
        )
    return [html.Div(out, className="cc-pictures")] if out else []


def _reports_list(slide: Slide) -> html.Ol:
    """The reports slide's list: each report's category, place and day, the citizen's
    words (in the language they were written in) and the city's answer."""
    return html.Ol(
        [
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(
                                "◆",
                                className="cc-k-report-mark",
                                style={"color": report_colour()},
                                **html_attrs({"aria-hidden": "true"}),
                            ),
                            html.Span(r.title, className="cc-k-report-title"),
                            html.Span(
                                " · ".join(p for p in (r.place, r.when) if p),
                                className="cc-k-report-when",
                            ),
                        ],
                        className="cc-k-report-head",
                    ),
                    html.P(f"“{r.text}”", className="cc-k-report-text", lang=r.text_language),
                    html.P(r.answer, className="cc-k-report-answer") if r.answer else None,
                ],
                className=f"cc-k-report cc-k-report-{r.category}",
            )
            for r in slide.reports
        ],
        className="cc-k-reports",
    )


def _slide(slide: Slide, screen: Screen, map_src: str, host: str) -> html.Section:
    answer = []
    if slide.answer:
        answer.append(
            html.Div(
                [
                    html.Span(_SYMBOL[slide.level], className="cc-k-symbol")
                    if _SYMBOL.get(slide.level)
                    else None,
                    html.Span(slide.answer, className="cc-answer"),
                ],
                className=f"cc-answer-row cc-k-{slide.level}",
            )
        )
    if slide.figure or slide.figure_label:
        answer.append(
            html.Div(
                [
                    html.Span(slide.figure, className="cc-figure-value") if slide.figure else "",
                    html.Span(slide.figure_label, className="cc-figure-label"),
                ],
                className="cc-figure",
            )
        )
    lines = html.Ul([html.Li(line) for line in slide.lines], className="cc-lines")
    body: list[Any] = [html.H1(slide.question, className="cc-question"), *answer]
    if slide.key == "overview":
        body += _overview_extra(slide, map_src)
        body.append(lines)
    elif slide.key == "reports":
        body += [_reports_list(slide), lines]
    else:
        body += [lines, _items(slide), *_pictures(slide)]
    return html.Section(
        [html.Div(body, className="cc-slide-main"), _foot(slide, screen.rotate_seconds, host)],
        className=f"cc-slide cc-slide-{slide.key}",
        lang=slide.language,
        **html_attrs({"data-slide": slide.key, "data-lang": slide.language, "aria-hidden": "true"}),
    )


def _banner(notices: list[Notice], screen: Screen) -> html.Div | None:
    shown = [n for n in notices if n.severity != "emergency"][:2]
    if not shown:
        return None
    rows = []
    for lang in screen.languages:
        head = content.heading(lang)
        rows.append(
            html.Div(
                [
                    html.Strong(f"{head.notice}: ", className="cc-banner-label"),
                    *[html.Span(n.text(lang), className="cc-banner-text") for n in shown],
                ],
                className="cc-banner-row",
                **_lang_attrs(lang),
            )
        )
    severity = "warning" if any(n.severity == "warning" for n in shown) else "info"
    return html.Div(rows, className=f"cc-banner cc-sev-{severity}", role="status")


def _emergency(notice: Notice, screen: Screen) -> html.Div:
    heads = [content.heading(lang) for lang in screen.languages]
    return html.Div(
        [
            html.Div(
                [html.Span(h.emergency, lang=h.language) for h in heads],
                className="cc-emergency-title",
            ),
            *[
                html.P(notice.text(lang), lang=lang, className="cc-emergency-text")
                for lang in screen.languages
            ],
        ],
        className="cc-emergency",
        role="alert",
    )


@dataclass(frozen=True)
class KioskState:
    """What the kiosk's changing part is made of, and a key that changes with it."""

    view: CityView
    notices: list[Notice]
    night: bool
    key: str
    reports: tuple[Report, ...] = ()


def published_reports(city: City, journal: Journal, now: datetime) -> tuple[Report, ...]:
    """The citizens' reports a kiosk may show at ``now``: the newest ``MAP_REPORTS``
    published ones made within the keep period, whoever asks (a kiosk is public);
    none when the city takes no reports or the journal cannot be read (logged)."""
    rules = city.config.reports
    if not rules.enabled:
        return ()
    try:
        since = now - timedelta(days=rules.keep_days)
        return tuple(journal.reports(PUBLIC_REPORTS, MAP_REPORTS, since=since))
    except Exception:  # the kiosk shows the rest without reports
        log.exception("kiosk: citizens' reports could not be read; shown without them")
        return ()


def current_state(city: City, journal: Journal, now: datetime) -> KioskState:
    """The public view, the active notices, the published reports and night mode at
    ``now``; cheap when nothing changed (the view is cached per data version)."""
    config = city.config
    view = city.view(ROLE)
    notices = journal.notices(now)
    reports = published_reports(city, journal, now)
    night = content.is_night(
        content.local_time(now, config.city.timezone),
        config.kiosk.night_start,
        config.kiosk.night_end,
    )
    # Ages are shown in minutes: the screen changes at least once a minute.
    parts = [view.version, journal.version(), now.strftime("%Y%m%d%H%M"), night]
    key = "|".join([*map(str, parts), ",".join(str(n.id) for n in notices)])
    return KioskState(view, notices, night, key, reports)


def heartbeat_info(screen_id: str, language: str, state: KioskState) -> dict[str, Any]:
    """What a kiosk's heartbeat records: its screen, the language it shows, the data
    version it shows and the ids of the notices on it (its receipt of each)."""
    return {
        "screen": screen_id,
        "language": language,
        "version": state.view.version,
        "notices": [n.id for n in state.notices],
    }


def today_curves(
    city: City, view: CityView, screen: Screen, now: datetime
) -> dict[str, TodayCurve]:
    """Today against usual for the screen's counting slides (a sum or a mean over
    places), from the public hourly history; kept once per data version."""
    config = city.config
    weeks = config.twin.baseline_weeks
    out: dict[str, TodayCurve] = {}
    for key in screen.slides:
        if key not in content.domain_slides():
            continue
        spec = get_domain(key).kpi
        if spec.aggregation not in ("sum", "mean") or not spec.metrics:
            continue
        metric = spec.metrics[0]

        def make(metric: str = metric, aggregation: str = spec.aggregation) -> TodayCurve | None:
            start = history_start(now, config.city.timezone, weeks)
            hourly = city.hourly_metric(ROLE, metric, start, now)
            return today_against_usual(hourly, now, config.city.timezone, weeks, aggregation)

        hour = now.strftime("%Y%m%d%H")
        curve = city.remember(view, ("kiosk-today", metric, hour), make)
        if curve is not None:
            out[key] = curve
    return out


def render_body(
    city: City, screen: Screen, state: KioskState, now: datetime, host: str, kiosk: str = ""
) -> list[Any]:
    """The kiosk's changing part: the notice banner, the slides and an emergency
    takeover, from the public view in ``state``; only the notices meant for the kiosk
    ``kiosk`` showing ``screen`` (and approved)."""
    curves = today_curves(city, state.view, screen, now)
    notices = [n for n in state.notices if n.shown_on(kiosk or screen.id, screen.id)]
    slides = content.build_slides(
        city.config, state.view, notices, screen, now, curves, state.reports
    )
    map_src = f"{_prefix()}kiosk-map.svg?v={state.view.version}"
    children: list[Any] = []
    banner = _banner(notices, screen)
    if banner is not None:
        children.append(banner)
    children.append(
        html.Div([_slide(s, screen, map_src, host) for s in slides], className="cc-slides")
    )
    emergency = content.emergency_notice(notices)
    if emergency is not None:
        children.append(_emergency(emergency, screen))
    return children


def _prefix() -> str:
    try:
        return str(dash.get_app().config.requests_pathname_prefix)
    except Exception:  # outside an app (unit use): the site root
        return "/"


def _host() -> str:
    return flask.request.host if flask.has_request_context() else ""


def _class(night: bool) -> str:
    return "cc-kiosk" + (" cc-night" if night else "")


def refresh_outputs(body: Any, class_name: Any, state: dict[str, Any]) -> dict[str, Any]:
    """The refresh callback's outputs by name: the slides, the page's class (day or
    night) and the state the browser sends back (``no_update`` leaves one as it is)."""
    return {"body": body, "class_name": class_name, "state": state}


def _chrome(heads: list[Heading], phone_url: str) -> list[Any]:
    offline = html.Div(
        [html.Span(h.offline, **_lang_attrs(h.language)) for h in heads],
        className="cc-offline-marker",
        role="status",
    )
    qr = html.Aside(
        [
            html.Img(
                src=qr_data_uri(phone_url),
                alt=heads[0].qr,
                className="cc-qr",
                id="cc-kiosk-qr",
                **html_attrs({"data-payload": phone_url}),
            ),
            html.Div(
                [html.Span(h.qr, **_lang_attrs(h.language)) for h in heads],
                className="cc-qr-caption",
            ),
        ],
        className="cc-qr-panel",
    )
    return [offline, qr]


def layout(city: City, journal: Journal, screen_id: str | None, query: dict[str, Any]) -> html.Main:
    """The kiosk page for ``screen_id`` (None: the default set) and the URL's query
    (``id`` the kiosk's name, ``lang`` one language)."""
    config = city.config
    lang = query.get("lang") if isinstance(query.get("lang"), str) else None
    screen = content.screen_for(config, screen_id, lang)
    kid = content.kiosk_id(query.get("id"), screen.id)
    now = city.clock()
    prefix = _prefix()
    phone_url = config.kiosk.phone_url or (
        f"{flask.request.host_url.rstrip('/')}{prefix}c" if flask.has_request_context() else "/c"
    )
    heads = [content.heading(lang) for lang in screen.languages]
    try:
        state = current_state(city, journal, now)
        body = render_body(city, screen, state, now, _host(), kid)
        key, night = state.key, state.night
    except Exception:  # a kiosk never shows an error page
        log.exception("kiosk %s: first render failed; the next refresh tries again", kid)
        body, key, night = [html.Div(className="cc-slides")], "", False
    tz = config.city.timezone
    return html.Main(
        [
            dcc.Store(
                id="cc-kiosk-params",
                data={
                    "screen": screen.id,
                    "id": kid,
                    "lang": lang or "",
                    "named": isinstance(query.get("id"), str) and bool(query.get("id")),
                },
            ),
            dcc.Store(id="cc-kiosk-state", data={"key": key, "beat": -1}),
            dcc.Store(id="cc-kiosk-contact"),
            dcc.Store(id="cc-kiosk-ask"),
            dcc.Interval(id="cc-kiosk-tick", interval=int(config.ui.poll_seconds * 1000)),
            html.Header(
                [
                    html.Span(screen.title, className="cc-kiosk-title cc-name"),
                    html.Span(
                        format_time(now, screen.languages[0], tz),
                        className="cc-clock",
                        **html_attrs({"data-tz": tz}),
                    ),
                ],
                className="cc-kiosk-head",
            ),
            html.Div(body, id="cc-kiosk-body", className="cc-kiosk-body"),
            *_chrome(heads, phone_url),
        ],
        id="cc-kiosk",
        className=_class(night),
        **{
            "data-rotate-ms": str(int(screen.rotate_seconds * 1000)),
            "data-reload-ms": str(int(screen.reload_hours * 3600 * 1000)),
            "data-poll-ms": str(int(config.ui.poll_seconds * 1000)),
            "data-kiosk-id": kid,
        },
    )


class BodyCache:
    """Rendered kiosk bodies by (state key, screen, host): kiosks showing the same screen
    set share one rendering per change instead of rendering it once each."""

    def __init__(self, city: City, size: int = 32) -> None:
        self.city = city
        self.size = size
        self._lock = threading.Lock()
        self._bodies: dict[tuple[str, ...], list[Any]] = {}
        self._rendering: dict[tuple[str, ...], threading.Lock] = {}

    def body(
        self, screen: Screen, state: KioskState, now: datetime, host: str, kiosk: str = ""
    ) -> list[Any]:
        # Kiosks that show the same notices share a rendering, whatever their ids.
        shown = ",".join(str(n.id) for n in state.notices if n.shown_on(kiosk, screen.id))
        key = (state.key, screen.id, ",".join(screen.languages), host, shown)
        with self._lock:
            found = self._bodies.get(key)
            if found is not None:
                return found
            # Kiosks told of a change together ask together: one renders, the rest wait.
            rendering = self._rendering.setdefault(key, threading.Lock())
        with rendering:
            with self._lock:
                found = self._bodies.get(key)
            if found is None:
                found = render_body(self.city, screen, state, now, host, kiosk)
                with self._lock:
                    if len(self._bodies) >= self.size:
                        self._bodies.pop(next(iter(self._bodies)))
                    self._bodies[key] = found
        with self._lock:
            self._rendering.pop(key, None)
        return found


def default_layout(city: City, journal: Journal, **query: Any) -> html.Main:
    """The kiosk at ``/kiosk``: the default set of screens."""
    return layout(city, journal, None, query)


def screen_layout(
    city: City, journal: Journal, screen: str | None = None, **query: Any
) -> html.Main:
    """The kiosk screen at ``/kiosk/<screen>``."""
    return layout(city, journal, screen, query)


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the kiosk pages, its overview map image and its refresh callbacks."""
    config = city.config
    bodies = BodyCache(city)

    @app.server.route("/kiosk-map.svg")
    def kiosk_map() -> flask.Response:
        try:
            now = city.clock()
            reports = kiosk_reports(
                config, published_reports(city, journal, now), {}, "en", now, MAP_REPORTS
            )
            svg = overview_svg(config, city.view(ROLE), reports=reports)
        except Exception:  # the slide keeps its previous picture
            log.exception("kiosk map could not be drawn")
            return flask.make_response("", 503)
        response = flask.make_response(svg, 200)
        response.mimetype = "image/svg+xml"
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @app.callback(
        output={
            "body": Output("cc-kiosk-body", "children"),
            "class_name": Output("cc-kiosk", "className"),
            "state": Output("cc-kiosk-state", "data"),
        },
        inputs=[Input("cc-kiosk-ask", "data")],
        state=[State("cc-kiosk-params", "data"), State("cc-kiosk-state", "data")],
        prevent_initial_call=True,
    )
    def refresh(n: Any, params: Any, state: Any) -> dict[str, Any]:
        # Whatever the request claims (a session, a role, other parameters), the kiosk
        # reads the public view: only "screen", "id" and "lang" are used, as names.
        params = params if isinstance(params, dict) else {}
        state = state if isinstance(state, dict) else {}
        # The browser asks with {"n": count, "instance": its own random id}.
        ask = n if isinstance(n, dict) else {"n": n}
        count = bounded_int_or_none(ask.get("n"), 0, 2**53) or 0
        beat = {"key": state.get("key", ""), "beat": count}
        try:
            lang = params.get("lang") if isinstance(params.get("lang"), str) else None
            screen = content.screen_for(config, str(params.get("screen") or ""), lang)
            kid = content.kiosk_id(params.get("id"), screen.id)
            if params.get("named") is False:  # one row per unnamed kiosk on /kiosks
                kid = content.unnamed_id(screen.id, ask.get("instance")) or kid
            now = city.clock()
            _, showing = content.slide_at(screen, datetime.now().timestamp())
            current = current_state(city, journal, now)
            registered = {b.kiosk_id for b in journal.heartbeats()}
            if content.kiosk_listed(config, kid, registered):  # made-up ids leave no trace
                # The notices listed are those this answer puts on the screen: the
                # kiosk's receipt of each one (``/kiosks``).
                journal.beat(kid, heartbeat_info(screen.id, showing, current), now=now)
            if current.key == state.get("key"):
                return refresh_outputs(no_update, no_update, beat)
            body = bodies.body(screen, current, now, _host(), kid)
        except Exception:  # keep the last screen, never an error page
            log.exception("kiosk refresh failed; keeping the last screen")
            return refresh_outputs(no_update, no_update, beat)
        return refresh_outputs(
            body, _class(current.night), {"key": current.key, "beat": beat["beat"]}
        )

    # The browser asks for a refresh only when its previous one was answered (or given
    # up): on a slow server, overlapping requests would each make the last one outdated.
    app.clientside_callback(
        clientside("kioskAsk"),
        Output("cc-kiosk-ask", "data"),
        Input("cc-kiosk-tick", "n_intervals"),
    )
    app.clientside_callback(
        clientside("kioskContact"),
        Output("cc-kiosk-contact", "data"),
        Input("cc-kiosk-state", "data"),
    )
