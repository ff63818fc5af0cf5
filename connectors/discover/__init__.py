"""``city-cockpit discover URL``: what a platform serves at a URL, recognised by the
shape of its answers (never by its address alone), listed with sample records, field
kinds, units and ranges, and proposed as sources of a draft city config.

Each platform is one module with ``recognise(answer, probe)``; the first that knows the
answer wins. An answer no platform knows is followed by each platform's well-known
paths on the same host (``ROOTS``). Nothing is asked of any other host.
"""

from __future__ import annotations

from typing import Any

from cockpit.domains import domain_names
from connectors.discover import (
    arcgis,
    ckan,
    gbfs,
    ngsi,
    opendatasoft,
    sensorthings,
    socrata,
    table,
)
from connectors.discover.draft import draft_toml, listing
from connectors.discover.found import Collection, Discovery, FieldInfo, Guess
from connectors.discover.metrics import load_shipped_domains
from connectors.discover.probe import Answer, DiscoveryError, Probe

__all__ = [
    "Collection",
    "Discovery",
    "DiscoveryError",
    "FieldInfo",
    "Guess",
    "discover",
    "draft_toml",
    "listing",
]

# Most specific answers first: a CSV file or a JSON array is the last guess.
_PLATFORMS = (sensorthings, ngsi, opendatasoft, ckan, gbfs, arcgis, socrata, table)


def _recognise(
    answer: Answer, probe: Probe, platforms: tuple[Any, ...] = _PLATFORMS
) -> Discovery | None:
    """The first platform's reading of ``answer``; a platform whose reading breaks on an
    answer shaped unlike its own is passed over (and named if nothing else fits)."""
    for platform in platforms:
        try:
            found = platform.recognise(answer, probe)
        except DiscoveryError:
            raise
        except Exception as exc:  # an odd answer must not stop the others, nor crash
            name = platform.__name__.rsplit(".", 1)[-1]
            probe.broken.append(f"{name}: {type(exc).__name__}: {exc}"[:160])
            continue
        if found is not None:
            return found
    return None


def discover(url: str, domain: str = "", probe: Probe | None = None) -> Discovery:
    """What is served at ``url``: the platform and its collections, each with a proposed
    source; ``domain`` (the officer's word for what the data is) narrows the proposals.
    Raises ``DiscoveryError`` (one line) when the URL cannot be read, ``domain`` is not a
    domain, or nothing in the answers is recognised."""
    load_shipped_domains()
    if domain and domain not in domain_names():
        raise DiscoveryError(f"unknown domain {domain!r}; known: {', '.join(domain_names())}")
    own = probe is None
    probe = probe or Probe(url, domain=domain)
    try:
        first = probe.get(url)
        # An address some platforms know (an ArcGIS layer, a Socrata dataset) is tried
        # even when it answers an error itself: its API paths say what it is.
        found = _recognise(first, probe)
        if found is not None:
            return found
        base = url.split("?", 1)[0].rstrip("/")
        for platform in _PLATFORMS:
            for path in getattr(platform, "ROOTS", ()):
                answer = probe.get(base + path)
                if answer.ok:
                    found = _recognise(answer, probe, (platform,))
                    if found is not None:
                        return found
        if not first.ok:
            raise DiscoveryError(f"{url} answered HTTP {first.status}, and no known API path")
        shown = first.text[:60].replace("\n", " ").strip()
        kind = first.content_type or "no content type"
        broken = f"; answers that could not be read: {probe.broken[0]}" if probe.broken else ""
        raise DiscoveryError(
            f"no known platform recognised at {url} ({kind}: {shown!r}); "
            "known: SensorThings, NGSI-LD, NGSI v2, OpenDataSoft, CKAN/DKAN, GBFS, ArcGIS, "
            f"Socrata, CSV/JSON files{broken}"
        )
    finally:
        if own:
            probe.close()
