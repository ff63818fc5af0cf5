"""The city's open-data catalogue: each visible source as an entry, and as DCAT-AP 3.

``catalogue_entries`` lists what a viewer may see of each source (publisher, licence,
protocol, endpoint without secrets, refresh interval, last success, sites per domain,
health). ``dcat_catalog`` describes the same sources as a DCAT-AP 3.0 catalogue in
JSON-LD with an inline ``@context`` (no network fetch needed to read it): a
``dcat:Catalog`` with one ``dcat:Dataset`` per source and one ``dcat:Distribution`` per
export format, plus the cockpit's read-only API as a ``dcat:DataService``. When the city
takes citizens' reports, the published ones are a dataset too (``reports_dataset``):
category, text, answer, status, day and a rounded place; never a photo, a report's code
or anything about who sent it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Final

from cockpit.city import City, CityView
from cockpit.config import CityConfig
from cockpit.domains import domain_names
from cockpit.domains import get as get_domain
from cockpit.model import METRICS
from cockpit.present.export import iso, public_endpoint

__all__ = ["CONTEXT", "REPORTS_PATH", "catalogue_entries", "dcat_catalog", "reports_dataset"]

# Where the published citizens' reports are served, without the format's suffix.
REPORTS_PATH: Final = "/reports/published"

CONTEXT: Final[dict[str, str]] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}

_EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
_EU_FILE = "http://publications.europa.eu/resource/authority/file-type/"
_IANA = "https://www.iana.org/assignments/media-types/"


def _themes(domain: str) -> tuple[tuple[str, str], ...]:
    """The EU data themes its declaration gives a domain."""
    return get_domain(domain).themes if domain in domain_names() else ()


def _described(domain: str) -> str:
    """A domain's data in a few words, as its declaration gives them (else its name)."""
    return (get_domain(domain).description if domain in domain_names() else "") or domain


# Export formats: (path suffix, title, EU file type, IANA media type).
_FORMATS: Final = (
    ("csv", "CSV", "CSV", "text/csv"),
    ("geojson", "GeoJSON", "GEOJSON", "application/geo+json"),
)


def _domains(config: CityConfig, source: str) -> list[str]:
    return sorted({lay.domain for lay in config.layers.values() if source in lay.sources})


def catalogue_entries(city: City, view: CityView) -> list[dict[str, Any]]:
    """One entry per source the view's role may see: id, name, publisher, licence,
    licence_url, connector, endpoint (secrets removed), access, refresh_seconds,
    retention_days, origin, status, last_success and observed (ISO UTC), sites per
    domain, and the ids of the map layers it feeds."""
    config = city.config
    entries = []
    for source, info in view.sources.items():
        cfg = config.sources[source]
        sites = view.sites[view.sites["source"] == source]
        per_domain = Counter(str(d) for d in sites["domain"])
        entries.append(
            {
                "id": source,
                "name": info.name,
                "publisher": info.publisher,
                "licence": info.licence,
                "licence_url": info.licence_url or None,
                "connector": cfg.connector,
                "endpoint": public_endpoint(config, source) or None,
                "access": cfg.access,
                "refresh_seconds": cfg.refresh_seconds,
                "retention_days": cfg.retention_days or config.storage.history_days,
                "origin": info.origin,
                "status": info.status,
                "last_success": iso(info.last_success),
                "observed": iso(info.updated),
                "sites": dict(sorted(per_domain.items())),
                "layers": [
                    lid
                    for lid, lay in config.layers.items()
                    if source in lay.sources and lid in view.layers
                ],
                "attribution": info.credit(),
            }
        )
    return entries


def _text(value: str) -> dict[str, str]:
    return {"@value": value, "@language": "en"}


def _time(value: datetime) -> dict[str, str]:
    return {"@value": iso(value) or "", "@type": "xsd:dateTime"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _resource(url: str) -> dict[str, str]:
    # DCAT-AP's shapes ask access and endpoint URLs to be rdfs:Resource; said explicitly so
    # that a validator needs no RDFS inference.
    return {"@id": url, "@type": "rdfs:Resource"}


def _agent(base: str, name: str) -> dict[str, Any]:
    return {"@id": f"{base}#agent-{_slug(name)}", "@type": "foaf:Agent", "foaf:name": name}


def _bbox(config: CityConfig) -> dict[str, Any]:
    w, s, e, n = config.city.bbox
    wkt = f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
    return {
        "@type": "dct:Location",
        "rdfs:label": config.city.name,
        "dcat:bbox": {"@value": wkt, "@type": "gsp:wktLiteral"},
    }


def dcat_catalog(city: City, view: CityView, base_url: str) -> dict[str, Any]:
    """The sources ``view``'s role may see as a DCAT-AP 3.0 catalogue in JSON-LD.

    ``base_url`` is the cockpit's public root (e.g. ``https://cockpit.city.example/``);
    every identifier and access URL is built under it.
    """
    config = city.config
    base = base_url.rstrip("/")
    me = f"{base}/api/v1/catalog.jsonld"
    publisher = _agent(me, config.city.name)
    now = city.clock()
    datasets = []
    for entry in catalogue_entries(city, view):
        source = entry["id"]
        domains = _domains(config, source)
        info = view.sources[source]
        keep = timedelta(days=entry["retention_days"])
        metrics = sorted(
            {METRICS[m].label for m in view.latest["metric"].unique()}
            & {m.label for m in METRICS.values() if m.domain in domains}
        )
        themes = {code: label for d in domains for code, label in _themes(d)}
        licence = {
            "@id": info.licence_url or f"{base}/catalogue#licence-{_slug(source)}",
            "@type": "dct:LicenseDocument",
            "rdfs:label": info.licence,
        }
        distributions = [
            {
                "@id": f"{me}#distribution-{_slug(source)}-{_slug(layer)}-{suffix}",
                "@type": "dcat:Distribution",
                "dct:title": _text(f"{config.layers[layer].title}: latest values as {title}"),
                "dct:description": _text(
                    f"Latest value of each site, with source, licence and times ({title})."
                ),
                "dcat:accessURL": _resource(f"{base}/export/{layer}.{suffix}"),
                "dcat:downloadURL": _resource(f"{base}/export/{layer}.{suffix}"),
                "dct:license": licence,
                "dct:format": {"@id": _EU_FILE + eu, "@type": "dct:MediaTypeOrExtent"},
                "dcat:mediaType": {"@id": _IANA + media, "@type": "dct:MediaType"},
            }
            for layer in entry["layers"]
            for suffix, title, eu, media in _FORMATS
        ]
        distributions.append(
            {
                "@id": f"{me}#distribution-{_slug(source)}-api",
                "@type": "dcat:Distribution",
                "dct:title": _text(f"{info.name}: latest observations (JSON API)"),
                "dct:description": _text("The read-only City Cockpit API, described by OpenAPI."),
                "dcat:accessURL": _resource(f"{base}/api/v1/observations/latest?source={source}"),
                "dct:license": licence,
                "dct:format": {"@id": _EU_FILE + "JSON", "@type": "dct:MediaTypeOrExtent"},
                "dcat:mediaType": {"@id": _IANA + "application/json", "@type": "dct:MediaType"},
                "dcat:accessService": {"@id": f"{me}#api"},
            }
        )
        source_agent = _agent(me, info.publisher)
        contact: dict[str, Any] = {
            "@id": f"{me}#contact-{_slug(info.publisher)}",
            "@type": "vcard:Kind",
            "vcard:fn": info.publisher,
        }
        if entry["endpoint"]:  # the source's URL without credentials
            contact["vcard:hasURL"] = {"@id": entry["endpoint"]}
        dataset: dict[str, Any] = {
            "@id": f"{me}#dataset-{_slug(source)}",
            "@type": "dcat:Dataset",
            "dct:identifier": source,
            "dct:title": _text(info.name),
            "dct:description": _text(
                f"{info.name}: {', '.join(_described(d) for d in domains)} in "
                f"{config.city.name}, published by {info.publisher} ({info.licence}); "
                f"{info.origin}. Read by City Cockpit every {entry['refresh_seconds']:g} s "
                f"with its {entry['connector']} connector."
            ),
            "dct:publisher": source_agent,
            "dcat:contactPoint": contact,
            "dcat:keyword": [_text(w) for w in [*domains, *metrics, config.city.name]],
            "dcat:theme": [
                {"@id": _EU_THEME + code, "@type": "skos:Concept", "skos:prefLabel": _text(lab)}
                for code, lab in sorted(themes.items())
            ],
            "dct:spatial": _bbox(config),
            "dct:temporal": {
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": _time(now - keep),
                "dcat:endDate": _time(info.updated or now),
            },
            "dct:provenance": {"@type": "dct:ProvenanceStatement", "rdfs:label": info.origin},
            "dcat:distribution": distributions,
        }
        if entry["endpoint"]:
            dataset["dcat:landingPage"] = {"@id": entry["endpoint"], "@type": "foaf:Document"}
        if info.updated:
            dataset["dct:modified"] = _time(info.updated)
        datasets.append(dataset)
    if config.reports.enabled:
        datasets.append(reports_dataset(config, base, now))
    service = {
        "@id": f"{me}#api",
        "@type": "dcat:DataService",
        "dct:title": _text(f"City Cockpit API · {config.city.name}"),
        "dcat:endpointURL": _resource(f"{base}/api/v1/"),
        "dcat:endpointDescription": _resource(f"{base}/api/v1/openapi.json"),
        "dcat:servesDataset": [
            {"@id": d["@id"]} for d in datasets if d["dct:identifier"] != "citizen-reports"
        ],
    }
    return {
        "@context": CONTEXT,
        "@id": f"{me}#catalog",
        "@type": "dcat:Catalog",
        "dct:title": _text(f"{config.city.name}: open data of the City Cockpit"),
        "dct:description": _text(
            f"The live city data shown by the City Cockpit of {config.city.name}: traffic, "
            "air quality, parking and pedestrian counts, each with its publisher, licence "
            "and origin (measured, replayed or simulated)."
        ),
        "dct:publisher": publisher,
        "foaf:homepage": {"@id": f"{base}/catalogue", "@type": "foaf:Document"},
        "dct:spatial": _bbox(config),
        "dct:modified": _time(now),
        "dcat:dataset": datasets,
        "dcat:service": [service],
    }


def reports_dataset(config: CityConfig, base: str, now: datetime) -> dict[str, Any]:
    """The published citizens' reports as a DCAT-AP dataset with a CSV and a GeoJSON
    distribution, under the root ``base``."""
    me = f"{base}/api/v1/catalog.jsonld"
    rules = config.reports
    licence = {
        "@id": rules.licence_url or f"{base}/catalogue#licence-citizen-reports",
        "@type": "dct:LicenseDocument",
        "rdfs:label": rules.licence,
    }
    distributions = [
        {
            "@id": f"{me}#distribution-citizen-reports-{suffix}",
            "@type": "dcat:Distribution",
            "dct:title": _text(f"Published citizen reports as {title}"),
            "dct:description": _text(
                "Category, text, the city's answer, status, day and a place rounded to"
                f" about {rules.position_m:g} m of each published report ({title})."
            ),
            "dcat:accessURL": _resource(f"{base}{REPORTS_PATH}.{suffix}"),
            "dcat:downloadURL": _resource(f"{base}{REPORTS_PATH}.{suffix}"),
            "dct:license": licence,
            "dct:format": {"@id": _EU_FILE + eu, "@type": "dct:MediaTypeOrExtent"},
            "dcat:mediaType": {"@id": _IANA + media, "@type": "dct:MediaType"},
        }
        for suffix, title, eu, media in _FORMATS
    ]
    return {
        "@id": f"{me}#dataset-citizen-reports",
        "@type": "dcat:Dataset",
        "dct:identifier": "citizen-reports",
        "dct:title": _text(f"Citizen reports · {config.city.name}"),
        "dct:description": _text(
            f"What citizens of {config.city.name} reported about its sensors and places"
            " (a counter that looks wrong, parking shown wrongly, bad air) and the city"
            " published, with the city's answer. No photo, no name, no device and no exact"
            f" place: positions are rounded to about {rules.position_m:g} m. Reports are"
            f" kept {rules.keep_days:g} days."
        ),
        "dct:publisher": _agent(me, config.city.name),
        "dcat:contactPoint": {
            "@id": f"{me}#contact-citizen-reports",
            "@type": "vcard:Kind",
            "vcard:fn": config.city.name,
            "vcard:hasURL": {"@id": f"{base}/report"},
        },
        "dcat:keyword": [_text(w) for w in ("citizen reports", config.city.name)],
        "dcat:theme": [
            {
                "@id": _EU_THEME + "GOVE",
                "@type": "skos:Concept",
                "skos:prefLabel": _text("Government and public sector"),
            }
        ],
        "dct:spatial": _bbox(config),
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _time(now - timedelta(days=rules.keep_days)),
            "dcat:endDate": _time(now),
        },
        "dct:provenance": {
            "@type": "dct:ProvenanceStatement",
            "rdfs:label": "Sent by citizens from the citizen page; published by city staff.",
        },
        "dcat:distribution": distributions,
    }
