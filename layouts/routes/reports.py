"""Citizens' reports over HTTP: the form a citizen fills in on the phone (the kiosk's QR
code leads to the citizen page, which links here), the public status page of one
report, the staff's moderation list, and the published reports as open data.

Routes
    ``GET /report``            the form (``?lang=``, and the place the citizen page knows:
                               ``lat``/``lon`` already rounded, ``district`` or ``site``)
    ``POST /report``           multipart: ``csrf``, ``category``, ``text``, a place, an
                               optional ``photo``; answers 303 to the status page (201
                               JSON for ``Accept: application/json``)
    ``GET /report/<code>``     the report's status, for anyone who has its code
    ``GET /reports``           staff: every report, newest first (``?status=``)
    ``POST /reports/<code>``   staff: publish, close, answer, merge, link (CSRF token)
    ``GET /reports/<code>/photo``  staff: the cleaned photo
    ``GET /reports/published.geojson`` and ``.csv``  everyone: the published reports as
                               open data (no photo, code or device; places rounded)
    ``GET /reports/layer.geojson``  the cockpit map's layer in ``?lang=``: published
                               reports, and for staff the new ones too

Privacy
    Nobody is asked for a name or an address. The place is rounded to
    ``[reports] position_m`` before it is kept; the text loses e-mail addresses and phone
    numbers; a photo is re-encoded without any metadata (``cockpit.report_photos``).
    The audit log records each report and each refusal without the sender's network
    address. A device is the browser's session (its CSRF token): it may send
    ``per_device_per_hour`` reports, and one network address ``per_address_per_hour``;
    both are counted only as salted hashes that expire within the hour. Reports are
    purged ``keep_days`` after they were made (checked at each report and each staff
    visit). The form says all this where the citizen reads it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote, urlencode

import flask
import pandas as pd
from dash import Dash
from werkzeug.wrappers import Response

from cockpit.auth import may_do
from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.present.i18n import format_number, format_time, translator
from cockpit.present.report_words import category_words, status_name, status_words
from cockpit.ratelimit import WindowLimiter
from cockpit.report_photos import PhotoError, clean_photo
from cockpit.reports import (
    CATEGORIES,
    STATUSES,
    Report,
    ReportChange,
    clean_text,
    new_code,
    normal_code,
    open_data_row,
    round_position,
)
from cockpit.storage import Journal
from cockpit.validate import finite_or_none
from layouts.components.mobile_data import district_names
from layouts.routes.access import current_viewer
from layouts.routes.limits import allow_body
from layouts.routes.security import client_address, csrf_token, valid_csrf

__all__ = [
    "FORM_OVERHEAD_BYTES",
    "Place",
    "ReportRefused",
    "parse_place",
    "register",
    "reports_layer_url",
]

LAYER_PATH: Final = "/reports/layer.geojson"


def reports_layer_url(config: CityConfig, language: str) -> str | None:
    """The URL of the cockpit map's reports layer in ``language`` (None when the city
    takes no reports)."""
    return f"{LAYER_PATH}?{urlencode({'lang': language})}" if config.reports.enabled else None


# Room for the form's text fields and multipart boundaries beside the photo.
FORM_OVERHEAD_BYTES: Final = 64 * 1024
_STAFF_LIST: Final = 300
_CITIZEN_ACTOR: Final = "citizen"
_CSS: Final = ("assets/citizen.css",)


def _(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


class ReportRefused(ValueError):
    """A report the form cannot take; the message (in the viewer's language) says why."""


@dataclass(frozen=True)
class Place:
    """Where a report is about, as it is kept: a rounded position, a public site, or both."""

    lat: float | None = None
    lon: float | None = None
    site_id: str = ""


def parse_place(
    fields: dict[str, str],
    sites: pd.DataFrame,
    bbox: tuple[float, float, float, float],
    metres: float,
    _t: Callable[[str], str] = str,
) -> Place:
    """The place of a report from the form's ``site`` (a public site's id: its position),
    else ``lat`` and ``lon`` (inside the city's ``bbox``, west, south, east, north), else
    ``district`` (the middle of its sites), rounded to ``metres``. Raises
    ``ReportRefused`` when none is given or what is given is not in the city."""
    site = fields.get("site", "").strip()
    if site:
        own = sites[sites["id"].astype(str) == site] if not sites.empty else sites
        if own.empty:
            raise ReportRefused(_t("This sensor is not one of the city's public sensors."))
        lat, lon = round_position(float(own["lat"].iloc[0]), float(own["lon"].iloc[0]), metres)
        return Place(lat, lon, site)
    raw_lat, raw_lon = fields.get("lat", "").strip(), fields.get("lon", "").strip()
    if raw_lat or raw_lon:
        lat_f, lon_f = _number(raw_lat, -90, 90), _number(raw_lon, -180, 180)
        west, south, east, north = bbox
        if (
            lat_f is None
            or lon_f is None
            or not (south <= lat_f <= north and west <= lon_f <= east)
        ):
            raise ReportRefused(_t("This place is not in the city. Choose a district instead."))
        return Place(*round_position(lat_f, lon_f, metres))
    district = fields.get("district", "").strip()
    if district and not sites.empty and "district" in sites.columns:
        own = sites[sites["district"].astype(str) == district]
        if not own.empty:
            return Place(
                *round_position(float(own["lat"].mean()), float(own["lon"].mean()), metres)
            )
    if district:
        raise ReportRefused(_t("There is no such district."))
    raise ReportRefused(_t("Please say where: use your location or choose a district."))


def _number(text: str, low: float, high: float) -> float | None:
    try:
        return finite_or_none(float(text), low, high) if len(text) <= 32 else None
    except ValueError:
        return None


_FORM = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }} · {{ city }}</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-citizen cz-report">
<header class="cz-header"><h1>{{ t.title }}</h1>
<nav class="cz-langs" aria-label="{{ t.languages }}">{% for code, href in others %}
<a href="{{ href }}" lang="{{ code }}">{{ code | upper }}</a>{% endfor %}</nav>
<p class="cz-sub"><a href="{{ back }}">{{ t.back }}</a></p></header>
<main>
{% if message %}<p class="cz-report-error" role="alert">{{ message }}</p>{% endif %}
<form method="post" action="{{ action }}" enctype="multipart/form-data" class="cz-report-form">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="lang" value="{{ lang }}">
<fieldset class="cz-card"><legend>{{ t.what }}</legend>
{% for key, label in categories %}<label class="cz-choice"><input type="radio" name="category"
 value="{{ key }}"{% if key == chosen %} checked{% endif %} required> {{ label }}</label>
{% endfor %}</fieldset>
<div class="cz-card"><label for="cz-report-text">{{ t.text }}</label>
<textarea id="cz-report-text" name="text" rows="4"
 maxlength="{{ text_max }}" required>{{ text }}</textarea></div>
<fieldset class="cz-card"><legend>{{ t.where }}</legend>
{% if site %}<input type="hidden" name="site" value="{{ site }}">
<p>{{ t.about_site }} <strong>{{ site_name }}</strong></p>
{% elif lat %}<input type="hidden" name="lat" value="{{ lat }}"><input type="hidden" name="lon"
 value="{{ lon }}">
<p>{{ t.at_position }}</p>
{% endif %}
<label for="cz-report-district">{{ t.district }}</label>
<select id="cz-report-district" name="district"><option value="">–</option>
{% for d in districts %}<option
 value="{{ d }}"{% if d == district %} selected{% endif %}>{{ d }}</option>{% endfor %}
</select></fieldset>
<div class="cz-card"><label for="cz-report-photo">{{ t.photo }}</label>
<input id="cz-report-photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp"></div>
<section class="cz-card cz-report-privacy" aria-labelledby="cz-report-privacy-h">
<h2 id="cz-report-privacy-h">{{ t.privacy_title }}</h2>
<p>{{ t.privacy_kept }}</p><p>{{ t.privacy_not }}</p><p>{{ t.privacy_time }}</p></section>
<button type="submit" class="cz-btn" id="cz-report-send">{{ t.send }}</button>
</form>
<form method="get" action="{{ lookup }}" class="cz-card cz-report-lookup">
<input type="hidden" name="lang" value="{{ lang }}">
<label for="cz-report-code">{{ t.follow }}</label>
<input id="cz-report-code" name="code" type="text" maxlength="16" autocomplete="off">
<button type="submit" class="cz-btn">{{ t.look_up }}</button></form>
</main></div></body></html>
"""

_STATUS = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.status_title }} {{ code }} · {{ city }}</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-citizen cz-report">
<header class="cz-header"><h1>{{ t.status_title }}</h1>
<nav class="cz-langs" aria-label="{{ t.languages }}">{% for code_, href in others %}
<a href="{{ href }}" lang="{{ code_ }}">{{ code_ | upper }}</a>{% endfor %}</nav>
<p class="cz-sub"><a href="{{ back }}">{{ t.back }}</a></p></header>
<main>
{% if report %}
{% if new %}<p class="cz-card cz-report-thanks" role="status">{{ t.thanks }}</p>{% endif %}
<section class="cz-card"><p>{{ t.your_code }}</p>
<p class="cz-report-code" id="cz-report-code">{{ code }}</p>
<dl class="cz-report-facts"><dt>{{ t.status }}</dt><dd id="cz-report-status">{{ status }}</dd>
<dt>{{ t.what }}</dt><dd>{{ category }}</dd>
<dt>{{ t.text }}</dt><dd>{{ report.text }}</dd>
<dt>{{ t.sent }}</dt><dd>{{ sent }}</dd>
{% if report.answer %}<dt>{{ t.answer }}</dt><dd id="cz-report-answer">{{ report.answer }}</dd>
{% endif %}
</dl></section>
<p><a href="{{ status_url }}">{{ t.keep_link }}</a></p>
{% else %}<p class="cz-card" role="alert">{{ t.unknown }}</p>{% endif %}
<p><a href="{{ form }}">{{ t.another }}</a></p>
</main></div></body></html>
"""

_STAFF = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.staff_title }} · City Cockpit · {{ city }}</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-page cc-reports">
<header class="cc-header"><h1>{{ t.staff_title }}</h1><span class="cc-asof">{{ city }}</span>
<nav class="cc-nav">{% for href, label in nav %}<a href="{{ href }}">{{ label }}</a>{% endfor %}
{% for code_, href in others %}<a href="{{ href }}" lang="{{ code_ }}">{{ code_ | upper }}</a>
{% endfor %}</nav></header>
<main>
{% if message %}<p class="cc-status-line cc-reports-message" role="status">{{ message }}</p>
{% endif %}
<nav class="cc-reports-filter" aria-label="{{ t.filter }}">{% for key, label in filters %}
<a href="{{ here }}&status={{ key }}"{% if key == status %}
 aria-current="page"{% endif %}>{{ label }}</a>
{% endfor %}<a href="{{ here }}">{{ t.all }}</a></nav>
<datalist id="cc-report-links">{% for value, label in links %}<option
 value="{{ value }}">{{ label }}</option>{% endfor %}</datalist>
{% for r in rows %}<section class="cc-panel cc-report" data-code="{{ r.code }}"
 id="report-{{ r.code }}">
<h2>{{ r.code }} · {{ r.category }}</h2>
<p class="cc-muted">{{ r.sent }} · {{ r.place }} · <strong
 class="cc-report-state">{{ r.status }}</strong>
{% if r.photo %} · <a href="{{ r.photo }}">{{ t.photo_link }}</a>{% endif %}</p>
<p class="cc-report-text">{{ r.text }}</p>
<form method="post" action="{{ r.action }}" class="cc-form cc-report-moderate">
<input type="hidden" name="csrf" value="{{ csrf }}">
<div class="cc-field"><label for="st-{{ r.code }}">{{ t.status }}</label>
<select id="st-{{ r.code }}" name="status">{% for key, label in statuses %}
<option value="{{ key }}"{% if key == r.status_key %} selected{% endif %}>{{ label }}</option>
{% endfor %}</select></div>
<div class="cc-field"><label for="an-{{ r.code }}">{{ t.answer }}</label>
<textarea id="an-{{ r.code }}" name="answer" rows="2" maxlength="1000">{{ r.answer }}</textarea>
</div>
<div class="cc-field"><label for="mg-{{ r.code }}">{{ t.merge }}</label>
<input id="mg-{{ r.code }}" name="merged_into" value="{{ r.merged_into }}" maxlength="16"></div>
<div class="cc-field"><label for="ln-{{ r.code }}">{{ t.link }}</label>
<input id="ln-{{ r.code }}" name="link" value="{{ r.link }}" list="cc-report-links" maxlength="300">
</div>
<button type="submit" class="cc-btn cc-btn-primary">{{ t.save }}</button></form></section>
{% else %}<p class="cc-panel">{{ t.none }}</p>{% endfor %}
</main></div></body></html>
"""

_SIGN_IN = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ t.staff_title }} · City Cockpit</title>
{% for href in css %}<link rel="stylesheet" href="{{ href }}">{% endfor %}</head>
<body><div class="cc-page cc-reports"><header class="cc-header"><h1>{{ t.staff_title }}</h1>
</header>
<main><section class="cc-panel"><p>{{ t.staff_only }} <a href="{{ signin }}">{{ t.sign_in }}</a></p>
</section></main></div></body></html>
"""

_WORDS: Final = {
    "title": _("Report a problem"),
    "languages": _("Languages"),
    "back": _("Back to the city's data"),
    "what": _("What is it about?"),
    "text": _("What is wrong? (a few words)"),
    "where": _("Where?"),
    "about_site": _("About the sensor"),
    "at_position": _("At your position (rounded to the block)."),
    "district": _("or choose a district"),
    "photo": _("A photo (optional)"),
    "privacy_title": _("What is stored"),
    "send": _("Send report"),
    "follow": _("Follow a report: its code"),
    "look_up": _("Look up"),
    "status_title": _("Your report"),
    "thanks": _("Thank you. The city's staff will look at your report."),
    "your_code": _("Your report's code: keep it to follow what happens."),
    "status": _("Status"),
    "sent": _("Sent"),
    "answer": _("Answer from the city"),
    "keep_link": _("Link to this page"),
    "unknown": _("There is no report with this code. Reports are deleted after a while."),
    "another": _("Report another problem"),
    "staff_title": _("Citizen reports"),
    "filter": _("Show reports"),
    "all": _("all"),
    "photo_link": _("photo"),
    "merge": _("Merge into report (code)"),
    "link": _("Link to a sensor issue or an alert"),
    "save": _("Save"),
    "none": _("No reports."),
    "staff_only": _("This page is for city staff."),
    "sign_in": _("Sign in"),
}


def _language(config: CityConfig, asked: str | None = None) -> str:
    """The page's language: ``asked`` (or ``?lang=``) when the city offers it, else the
    browser's preferred one among the city's."""
    languages = list(config.city.languages) or ["en"]
    asked = asked or flask.request.args.get("lang", "")
    if asked in languages:
        return asked
    return flask.request.accept_languages.best_match(languages) or languages[0]


def _privacy_words(config: CityConfig, lang: str, _t: Callable[[str], str]) -> dict[str, str]:
    rules = config.reports
    return {
        "privacy_kept": _t(
            "We keep: the category, your text (e-mail addresses and phone numbers are"
            " removed), the place rounded to about {m} m, your photo re-encoded without"
            " its location and camera data, the time and the language."
        ).format(m=format_number(rules.position_m, lang)),
        "privacy_not": _t(
            "We do not ask for your name or address, and we keep neither your network"
            " address nor anything that identifies your phone. To stop floods, a phone may"
            " send {n} reports an hour; it is counted for that hour only, as a hash."
        ).format(n=rules.per_device_per_hour),
        "privacy_time": _t(
            "Reports are deleted {days} days after they were sent. Staff may publish your"
            " text and the rounded place on the city's map; never your photo."
        ).format(days=format_number(rules.keep_days, lang)),
    }


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add the report form, the status pages, the staff's moderation list and the open
    data of published reports to the app's server (when ``[reports] enabled``)."""
    config = city.config
    rules = config.reports
    if not rules.enabled:
        return
    server: flask.Flask = app.server
    prefix = app.config.requests_pathname_prefix
    css = [f"{prefix}{href}" for href in _CSS]
    staff_css = [f"{prefix}assets/cockpit.css", f"{prefix}assets/staff.css"]
    photo_max = rules.photo_max_kb * 1024
    allow_body(app, "/report", photo_max + FORM_OVERHEAD_BYTES)
    hour = 3600.0

    def limiters() -> tuple[WindowLimiter, WindowLimiter]:
        salt = str(server.secret_key or "")
        cache = city.shared_cache()
        return (
            WindowLimiter(cache, "report-device", rules.per_device_per_hour, hour, salt, city_now),
            WindowLimiter(
                cache, "report-address", rules.per_address_per_hour, hour, salt, city_now
            ),
        )

    def city_now() -> float:
        return city.clock().timestamp()

    purged_at: list[float] = []

    def kept_since() -> datetime:
        """The oldest time a report may be from and still be kept."""
        return city.clock() - timedelta(days=rules.keep_days)

    def purge() -> None:
        """Delete the reports past their retention, at most once a minute per process
        (reads also skip them, so none is shown in between)."""
        now = city.clock()
        if purged_at and 0 <= now.timestamp() - purged_at[-1] < 60:
            return
        purged_at[:] = [now.timestamp()]
        gone = journal.purge_reports(kept_since())
        if gone:
            journal.audit(
                "city-cockpit",
                "purge reports",
                f"{gone} reports older than {rules.keep_days:g} days",
                now=now,
            )

    def others(lang: str, path: str, query: dict[str, str]) -> list[tuple[str, str]]:
        return [
            (code, f"{prefix}{path}?{urlencode({**query, 'lang': code})}")
            for code in config.city.languages
            if code != lang
        ]

    def wants_json() -> bool:
        best = flask.request.accept_mimetypes.best_match(["text/html", "application/json"])
        return best == "application/json"

    # -- the citizen's form -------------------------------------------------------------
    def form_page(lang: str, fields: dict[str, str], message: str, status: int) -> Response:
        _t = translator(lang, "reports")
        words = {k: _t(v) for k, v in _WORDS.items()} | _privacy_words(config, lang, _t)
        view = city.view("public")
        site = fields.get("site", "")
        names = view.sites.set_index("id")["name"] if not view.sites.empty else pd.Series()
        site_name = str(names.get(site, "")) if site else ""
        query = {k: fields[k] for k in ("lat", "lon", "district", "site") if fields.get(k)}
        html = flask.render_template_string(
            _FORM,
            lang=lang,
            others=others(lang, "report", query),
            city=config.city.name,
            css=css,
            t=words,
            back=f"{prefix}c?lang={lang}",
            message=message,
            action=f"{prefix}report",
            lookup=f"{prefix}report/status",
            csrf=csrf_token(),
            categories=[(key, category_words(key, _t)) for key in CATEGORIES],
            chosen=fields.get("category", ""),
            text=fields.get("text", ""),
            text_max=1000,
            site=site if site_name else "",
            site_name=site_name,
            lat=fields.get("lat", ""),
            lon=fields.get("lon", ""),
            districts=district_names(view.sites),
            district=fields.get("district", ""),
        )
        return flask.make_response(html, status)

    def refused(lang: str, fields: dict[str, str], message: str, status: int) -> Response:
        journal.audit(_CITIZEN_ACTOR, "file report refused", message, now=city.clock())
        if wants_json():
            return flask.make_response(flask.jsonify({"error": message}), status)
        return form_page(lang, fields, message, status)

    @server.route("/report", methods=["GET", "POST"])
    def report_form() -> Response:
        request = flask.request
        if request.method == "GET":
            fields = {k: request.args.get(k, "")[:100] for k in ("lat", "lon", "district", "site")}
            if fields["lat"] or fields["lon"]:  # the citizen page rounds; round again here
                try:
                    place = parse_place(fields, pd.DataFrame(), config.city.bbox, rules.position_m)
                    fields["lat"], fields["lon"] = str(place.lat), str(place.lon)
                except ReportRefused:
                    fields["lat"] = fields["lon"] = ""
            return form_page(_language(config), fields, "", 200)
        form = request.form
        lang = _language(config, form.get("lang", ""))
        _t = translator(lang, "reports")
        fields = {
            k: str(form.get(k, ""))[:2000]
            for k in ("category", "text", "lat", "lon", "district", "site")
        }
        if not valid_csrf(form.get("csrf")):
            return refused(lang, fields, _t("The form had expired. Please send it again."), 400)
        device, address = limiters()
        # The device first: its refusals do not use up the address's reports.
        for limiter, key in ((device, str(form.get("csrf"))), (address, client_address())):
            wait = limiter.take(key)
            if wait is not None:
                answer = refused(
                    lang,
                    fields,
                    _t("Too many reports from here. Please try again in {minutes} min.").format(
                        minutes=max(1, round(wait / 60))
                    ),
                    429,
                )
                answer.headers["Retry-After"] = str(wait)
                return answer
        try:
            report = _report_from(fields, lang, _t)
        except ReportRefused as exc:
            return refused(lang, fields, str(exc), 400)
        upload = request.files.get("photo")
        photo: bytes | None = None
        if upload is not None and upload.filename:
            data = upload.stream.read(photo_max + 1)
            if len(data) > photo_max:
                message = _t("The photo is too large: at most {kb} KiB.")
                return refused(lang, fields, message.format(kb=rules.photo_max_kb), 413)
            try:
                photo = clean_photo(data, photo_max)
            except PhotoError:
                message = _t("The photo was not taken: send a JPEG, PNG or WebP photo.")
                return refused(lang, fields, message, 400)
        purge()
        for _attempt in range(3):  # a code already taken (40 random bits): draw again
            filed = replace(report, code=new_code(), photo=photo)
            try:
                journal.file_report(filed, now=city.clock())
                break
            except ValueError as exc:
                if "taken" not in str(exc):
                    return refused(lang, fields, str(exc), 400)
        else:
            return refused(lang, fields, "no free report code", 503)
        detail = f"{filed.code} {filed.category}" + (" with photo" if photo else "")
        journal.audit(_CITIZEN_ACTOR, "file report", detail, now=city.clock())
        status_url = f"{prefix}report/{filed.code}?lang={lang}"
        if wants_json():
            body = {"code": filed.code, "status": filed.status, "status_url": status_url}
            return flask.make_response(flask.jsonify(body), 201)
        return flask.redirect(f"{status_url}&new=1", 303)

    def _report_from(fields: dict[str, str], lang: str, _t: Callable[[str], str]) -> Report:
        if fields["category"] not in CATEGORIES:
            raise ReportRefused(_t("Please choose what the report is about."))
        try:
            text = clean_text(fields["text"])
        except ValueError:
            raise ReportRefused(_t("The text is too long (at most 1,000 characters).")) from None
        if not text:
            raise ReportRefused(_t("Please say in a few words what is wrong."))
        place = parse_place(
            fields, city.view("public").sites, config.city.bbox, rules.position_m, _t
        )
        return Report(
            code="AAAA-AAAA",
            category=fields["category"],
            text=text,
            created=city.clock(),
            lat=place.lat,
            lon=place.lon,
            site_id=place.site_id,
            language=lang,
        )

    # -- the public status of one report ------------------------------------------------
    @server.route("/report/status")
    def report_lookup() -> Response:
        lang = _language(config)
        code = normal_code(flask.request.args.get("code", "")) or "-"
        return flask.redirect(f"{prefix}report/{quote(code)}?lang={lang}", 303)

    @server.route("/report/<code>")
    def report_status(code: str) -> Response:
        lang = _language(config)
        _t = translator(lang, "reports")
        words = {k: _t(v) for k, v in _WORDS.items()}
        wanted = normal_code(code)
        purge()
        report = journal.report(wanted) if wanted else None
        if report is not None and report.created < kept_since():
            report = None
        tz = config.city.timezone
        html = flask.render_template_string(
            _STATUS,
            lang=lang,
            others=others(lang, f"report/{wanted or '-'}", {}),
            city=config.city.name,
            css=css,
            t=words,
            back=f"{prefix}c?lang={lang}",
            report=report,
            new=flask.request.args.get("new") == "1",
            code=wanted or "",
            status=status_words(report, _t) if report else "",
            category=category_words(report.category, _t) if report else "",
            sent=format_time(report.created, lang, tz, "d MMM y, HH:mm") if report else "",
            status_url=f"{prefix}report/{wanted}?lang={lang}",
            form=f"{prefix}report?lang={lang}",
        )
        return flask.make_response(html, 200 if report else 404)

    # -- staff ------------------------------------------------------------------------
    def moderator() -> str | None:
        viewer = current_viewer()
        if viewer.signed_in and may_do(config, viewer.role, "moderate_reports"):
            return viewer.user
        return None

    def sign_in_page(lang: str) -> Response:
        _t = translator(lang, "reports")
        words = {k: _t(v) for k, v in _WORDS.items()}
        signin = f"{prefix}signin?next={quote(prefix + 'reports')}"
        html = flask.render_template_string(
            _SIGN_IN, css=staff_css, signin=signin, lang=lang, t=words
        )
        return flask.make_response(html, 401)

    def staff_page(lang: str, user: str, message: str, status: int) -> Response:
        _t = translator(lang, "reports")
        words = {k: _t(v) for k, v in _WORDS.items()}
        purge()
        wanted = flask.request.args.get("status", "")
        statuses = (wanted,) if wanted in STATUSES else ()
        shown = journal.reports(statuses, _STAFF_LIST, since=kept_since())
        tz = config.city.timezone
        view = city.view("executive" if current_viewer().role == "executive" else "staff")
        names = view.sites.set_index("id")["name"] if not view.sites.empty else pd.Series()
        rows = []
        for r in shown:
            place = str(names.get(r.site_id, r.site_id)) if r.site_id else ""
            if r.lat is not None:
                place = (place + " · " if place else "") + f"{r.lat:.4f}, {r.lon:.4f}"
            rows.append(
                {
                    "code": r.code,
                    "category": category_words(r.category, _t),
                    "status": status_words(r, _t),
                    "status_key": r.status,
                    "text": r.text,
                    "answer": r.answer,
                    "merged_into": r.merged_into,
                    "link": r.link,
                    "place": place,
                    "sent": format_time(r.created, lang, tz, "d MMM, HH:mm"),
                    "photo": f"{prefix}reports/{r.code}/photo" if r.has_photo else "",
                    "action": f"{prefix}reports/{r.code}?lang={lang}",
                }
            )
        html = flask.render_template_string(
            _STAFF,
            lang=lang,
            others=others(lang, "reports", {}),
            city=config.city.name,
            css=staff_css,
            t=words,
            nav=[
                # The staff pages' own words, from their catalogues.
                (f"{prefix}m?lang={lang}", translator(lang, "mobile")("Staff view")),
                (f"{prefix}?lang={lang}", translator(lang, "cockpit")("Cockpit")),
                (f"{prefix}signout", translator(lang, "cockpit")("Sign out")),
            ],
            message=message,
            filters=[(key, status_name(key, _t)) for key in STATUSES],
            status=wanted,
            here=f"{prefix}reports?lang={lang}",
            rows=rows,
            statuses=[(key, status_name(key, _t)) for key in STATUSES],
            links=_link_options(city, current_viewer().role),
            csrf=csrf_token(),
        )
        response = flask.make_response(html, status)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @server.route("/reports")
    def reports_list() -> Response:
        lang = _language(config)
        user = moderator()
        if user is None:
            return sign_in_page(lang)
        return staff_page(lang, user, "", 200)

    @server.route("/reports/<code>", methods=["POST"])
    def reports_change(code: str) -> Response:
        lang = _language(config)
        _t = translator(lang, "reports")
        user = moderator()
        if user is None:
            journal.audit("", "moderate report refused", code[:20], client_address())
            return sign_in_page(lang)
        form = flask.request.form
        if not valid_csrf(form.get("csrf")):
            return staff_page(lang, user, _t("The form had expired. Please try again."), 400)
        wanted = normal_code(code)
        merged_raw = str(form.get("merged_into", "")).strip()
        merged = normal_code(merged_raw) if merged_raw else ""
        if wanted is None or merged is None:
            return staff_page(lang, user, _t("There is no report with this code."), 404)
        change = ReportChange(
            status=str(form.get("status", "")) or None,
            answer=str(form.get("answer", ""))[:2000],
            merged_into=merged,
            link=str(form.get("link", ""))[:400],
        )
        try:
            done = journal.change_report(wanted, change, now=city.clock())
        except ValueError as exc:
            return staff_page(lang, user, str(exc), 400)
        if done is None:
            return staff_page(lang, user, _t("There is no report with this code."), 404)
        detail = f"{wanted}: {done.status}" + (
            f", merged into {done.merged_into}" if done.merged_into else ""
        )
        detail += (f", linked to {done.link}" if done.link else "") + (
            ", answered" if done.answer else ""
        )
        journal.audit(user, "moderate report", detail, client_address(), now=city.clock())
        return flask.redirect(f"{prefix}reports?lang={lang}#report-{wanted}", 303)

    @server.route("/reports/<code>/photo")
    def reports_photo(code: str) -> Response:
        user = moderator()
        if user is None:
            return flask.make_response("This photo is for city staff.", 401)
        wanted = normal_code(code)
        report = journal.report(wanted, photo=True) if wanted else None
        if report is None or report.photo is None:
            return flask.make_response("No such photo.", 404)
        # A citizen's photo is the most personal part of a report: who looked is kept.
        journal.audit(user, "view report photo", wanted or "", client_address(), now=city.clock())
        response = flask.make_response(report.photo, 200)
        response.mimetype = "image/jpeg"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    # -- open data ----------------------------------------------------------------------
    def published_rows() -> list[dict[str, Any]]:
        return [
            open_data_row(r, rules.position_m)
            for r in journal.reports(("published",), limit=-1, since=kept_since())
        ]

    @server.route("/reports/published.geojson")
    def reports_geojson() -> Response:
        features = [
            {
                "type": "Feature",
                "geometry": None
                if row["lat"] is None
                else {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")},
            }
            for row in published_rows()
        ]
        response = flask.jsonify({"type": "FeatureCollection", "features": features})
        response.mimetype = "application/geo+json"
        return response

    @server.route(LAYER_PATH)
    def reports_layer() -> Response:
        lang = _language(config)
        _t = translator(lang, "reports")
        statuses = ("published", "received") if moderator() else ("published",)
        tz = config.city.timezone
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "title": category_words(r.category, _t),
                    "text": r.text,
                    "answer": r.answer,
                    "date": format_time(r.created, lang, tz, "d MMM y"),
                    "status": r.status,
                    "status_label": status_name(r.status, _t),
                },
            }
            for r in journal.reports(statuses, _STAFF_LIST, since=kept_since())
            if r.lat is not None and r.lon is not None
        ]
        response = flask.jsonify({"type": "FeatureCollection", "features": features})
        response.mimetype = "application/geo+json"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @server.route("/reports/published.csv")
    def reports_csv() -> Response:
        out = io.StringIO()
        columns = ["date", "category", "status", "text", "answer", "site_id", "lat", "lon"]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in published_rows():
            writer.writerow(row)
        response = flask.make_response(out.getvalue(), 200)
        response.mimetype = "text/csv"
        response.headers["Content-Disposition"] = "attachment; filename=citizen-reports.csv"
        return response


def _link_options(city: City, role: str) -> list[tuple[str, str]]:
    """What staff may link a report to: flagged sensors (``health:<site>``) and alerts
    (``alert:<key>``) the viewer's role sees."""
    options = [
        (f"health:{h.site_id}", f"{h.name} ({h.status})")
        for h in city.sensor_health(role)
        if h.flagged
    ]
    options += [
        (f"alert:{a.key}", f"{a.site_name}: {a.rule}")
        for a in city.ranked_alerts(role)
        if a.closed is None
    ]
    return options[:200]
