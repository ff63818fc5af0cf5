"""``/about/<domain>``: how a kind of sensor's data is collected, in plain words.

One short public page per domain (pedestrians, traffic, air, parking), reached from the
kiosk and the phone view: what is measured, how privacy is protected, who publishes the
data and under which licence (from the city config's public sources only). Text comes
from the ``about`` message catalogue; ``?lang=de`` picks a language, else the browser's
preferred one among the city's languages. Server-rendered HTML, every value escaped.
"""

from __future__ import annotations

import flask
from babel import Locale, UnknownLocaleError
from dash import Dash

from cockpit.auth import may_see
from cockpit.city import City
from cockpit.config import CityConfig
from cockpit.domains import get as get_domain
from cockpit.present.demo import site_origins
from cockpit.present.i18n import format_number, translator
from cockpit.storage import Journal

__all__ = ["DOMAINS", "about_text", "register", "simulated_text"]


def _(message: str) -> str:
    return message


# The built-in domains' texts (msgids of the ``about`` catalogue); another domain brings
# its own in its declaration (``Domain.about``, translated by its ``labels``).
DOMAINS: dict[str, dict[str, str]] = {
    "pedestrians": {
        "title": _("How we count pedestrians"),
        "what": _(
            "Sensors at {n} places count how many people walk past each hour, "
            "in both directions together."
        ),
        "privacy": _(
            "The sensors count crowds, not people: they do not recognise anyone and no "
            "images are stored. Only the number per hour leaves the sensor."
        ),
    },
    "traffic": {
        "title": _("How we count traffic"),
        "what": _(
            "Detector loops in the road at {n} traffic lights count the vehicles that pass, "
            "added up per hour."
        ),
        "privacy": _(
            "The loops only notice that a vehicle passed: no number plates, no images and "
            "nothing about the people in the vehicles is recorded."
        ),
    },
    "air": {
        "title": _("How we measure the air"),
        "what": _(
            "{n} monitoring stations measure fine dust (PM2.5 and PM10), nitrogen dioxide and "
            "ozone as hourly averages. The kiosk shows the European Air Quality Index band of "
            "the worst pollutant."
        ),
        "privacy": _("Air measurements contain no personal data."),
    },
    "parking": {
        "title": _("How we see free parking spaces"),
        "what": _(
            "A sensor in each of {n} street parking bays reports whether a vehicle stands above it."
        ),
        "privacy": _(
            "The sensors only detect whether the bay is taken: they do not see or store "
            "vehicles, number plates or who parks."
        ),
    },
}

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }} · {{ city }}</title>
<style>
body { margin: 0; font: 18px/1.5 system-ui, sans-serif; background: #0b0f14; color: #f2f5f8; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.2; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
a { color: #8cc8ff; } dt { font-weight: 700; } dd { margin: 0 0 0.6rem; }
nav { display: flex; gap: 1rem; flex-wrap: wrap; font-size: 0.95rem; }
</style></head>
<body><main class="cc-about-page">
<nav aria-label="{{ t.languages }}">{% for code, name in languages %}
<a href="?lang={{ code }}" lang="{{ code }}">{{ name }}</a>{% endfor %}</nav>
<h1>{{ t.title }}</h1>
<p class="cc-about-city">{{ city }}</p>
<h2>{{ t.what_head }}</h2><p class="cc-about-what">{{ t.what }}</p>
{% if t.simulated %}<p class="cc-about-simulated"><strong>{{ t.simulated }}</strong></p>{% endif %}
<h2>{{ t.privacy_head }}</h2><p class="cc-about-privacy">{{ t.privacy }}</p>
{% if t.small %}<p>{{ t.small }}</p>{% endif %}
<h2>{{ t.who_head }}</h2>
{% for s in sources %}<dl class="cc-about-source">
<dt>{{ t.source }}</dt><dd>{% if s.url %}<a href="{{ s.url }}">{{ s.name }}</a>
{% else %}{{ s.name }}{% endif %}</dd>
<dt>{{ t.publisher }}</dt><dd>{{ s.publisher }}</dd>
<dt>{{ t.licence }}</dt><dd>{% if s.licence_url %}
<a href="{{ s.licence_url }}">{{ s.licence }}</a>{% else %}{{ s.licence }}{% endif %}</dd>
<dt>{{ t.refresh_head }}</dt><dd>{{ s.refresh }}</dd>
</dl>{% else %}<p>{{ t.none }}</p>{% endfor %}
<p><a href="{{ phone }}">{{ t.phone }}</a></p>
</main></body></html>
"""


def _language_name(code: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(code) or code).capitalize()
    except (UnknownLocaleError, ValueError):
        return code


def _https(url: str) -> str:
    """Only web links from the config become links."""
    return url if url.startswith(("https://", "http://")) else ""


def _entry(domain: str) -> dict[str, str]:
    """The page's English texts for ``domain``; raises KeyError when it has none."""
    if domain in DOMAINS:
        return DOMAINS[domain]
    about = get_domain(domain).about
    if not {"title", "what", "privacy"} <= set(about):
        raise KeyError(f"domain {domain!r} has no about page")
    return dict(about)


def _has_page(domain: str) -> bool:
    try:
        _entry(domain)
    except KeyError:
        return False
    return True


def simulated_text(total: int, simulated: int, lang: str) -> str:
    """Which of a domain's ``total`` places are simulated, in ``lang``: empty when none
    is."""
    _t = translator(lang, "about")
    if not simulated:
        return ""
    if simulated >= total:
        return _t(
            "In this demonstration all {n} places are simulated: their values are made by a "
            "program, not measured."
        ).format(n=format_number(total, lang))
    return _t(
        "In this demonstration {simulated} of these {n} places are simulated: their values "
        "are made by a program, shaped like a real recording, not measured."
    ).format(simulated=format_number(simulated, lang), n=format_number(total, lang))


def about_text(
    config: CityConfig, domain: str, lang: str, sites: int, simulated: int = 0
) -> dict[str, object]:
    """The page's texts for ``domain`` in ``lang`` and its public sources (name,
    publisher, licence, refresh), saying how many of its ``sites`` places are
    ``simulated``; raises KeyError for an unknown domain."""
    entry = _entry(domain)
    _t = translator(lang, "about")
    k = config.privacy.min_group_size
    small = ""
    if get_domain(domain).counts_people and k:
        small = _t("Counts below {k} are shown as “< {k}”, so that no one can be singled out.")
        small = small.format(k=k)
    sources = []
    for source_id in config.sources_for(domain):
        cfg = config.sources[source_id]
        if not may_see("public", cfg.access):
            continue
        sources.append(
            {
                "name": cfg.name,
                "publisher": cfg.publisher,
                "licence": cfg.licence,
                "licence_url": _https(cfg.licence_url),
                "url": _https(cfg.url),
                "refresh": _t(
                    "Read every {s} seconds; marked as old after {m} minutes without news."
                ).format(
                    s=format_number(cfg.refresh_seconds, lang),
                    m=format_number(cfg.stale_after_seconds / 60, lang),
                ),
            }
        )
    title, what, privacy = entry["title"], entry["what"], entry["privacy"]
    texts = {
        "title": _t(title),
        "what": _t(what).format(n=format_number(sites, lang)),
        "privacy": _t(privacy),
        "small": small,
        "simulated": simulated_text(sites, simulated, lang),
        "what_head": _t("What is measured"),
        "privacy_head": _t("How your privacy is protected"),
        "who_head": _t("Who publishes the data"),
        "source": _t("Source"),
        "publisher": _t("Publisher"),
        "licence": _t("Licence"),
        "refresh_head": _t("How often"),
        "none": _t("No public source for this data yet."),
        "phone": _t("See the city's data on your phone"),
        "languages": _t("Languages"),
    }
    return {"t": texts, "sources": sources}


def register(app: Dash, city: City, journal: Journal) -> None:
    """Add ``/about/<domain>`` to the app's server."""
    config = city.config
    prefix = app.config.requests_pathname_prefix

    @app.server.route("/about/<domain>")
    def about(domain: str) -> flask.Response:
        languages = list(config.city.languages) or ["en"]
        asked = flask.request.args.get("lang", "")
        lang = asked if asked in languages else None
        lang = lang or flask.request.accept_languages.best_match(languages) or languages[0]
        if not _has_page(domain):
            _t = translator(lang, "about")
            return flask.make_response(_t("There is no such page."), 404)
        origins = site_origins(config, city.view("public"), domain)
        page = about_text(config, domain, lang, origins.total, origins.simulated)
        html = flask.render_template_string(
            _PAGE,
            lang=lang,
            city=config.city.name,
            languages=[(code, _language_name(code)) for code in languages],
            phone=config.kiosk.phone_url or f"{prefix}c?lang={lang}",
            **page,
        )
        return flask.make_response(html, 200)
