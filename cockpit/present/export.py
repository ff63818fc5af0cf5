"""What the cockpit shows, as tables and GeoJSON that carry their own provenance.

Every export row names its source, publisher, licence, origin (measured, replayed or
simulated), when the cockpit retrieved it and when it was observed; small counts of
people are masked as "< k" before anything leaves the server (``cockpit.privacy``).
The builders here are pure functions of a ``CityView`` and observation frames; the
routes in ``layouts.routes.downloads`` and ``layouts.routes.api`` only parse requests and send them.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import pandas as pd

from cockpit.city import CityView, SourceInfo
from cockpit.config import CityConfig
from cockpit.domains import domain_names, domain_of_kpi, kpi_spec
from cockpit.errors import CockpitError
from cockpit.model import METRICS
from cockpit.privacy import mask_frame
from cockpit.source import redact_url

__all__ = [
    "CSV_COLUMNS",
    "QueryError",
    "TimeRange",
    "csv_text",
    "csvw_metadata",
    "geojson",
    "iso",
    "kpi_table",
    "layer_latest",
    "layer_sites",
    "observation_table",
    "parse_hours",
    "parse_time",
    "provenance",
    "public_endpoint",
    "sites_table",
    "time_range",
]

CSV_COLUMNS: Final = (
    "site_id",
    "site_name",
    "domain",
    "lat",
    "lon",
    "metric",
    "unit",
    "time",
    "value",
    "origin",
    "source",
    "publisher",
    "licence",
    "licence_url",
    "fetched",
    "attribution",
)


class QueryError(CockpitError):
    """A request parameter is wrong: names the parameter and what was expected."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")

    def as_json(self) -> dict[str, str]:
        return {"error": "bad request", "parameter": self.parameter, "detail": self.reason}


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


def iso(when: datetime | pd.Timestamp | None) -> str | None:
    """``when`` as ISO 8601 in UTC with seconds, or None."""
    if when is None or pd.isna(when):
        return None
    return pd.Timestamp(when).tz_convert("UTC").isoformat(timespec="seconds")


def parse_time(text: str, parameter: str, timezone: str) -> datetime:
    """An ISO 8601 time from a query parameter; without an offset it is the city's local
    time. Raises ``QueryError`` naming ``parameter`` when it is not a time."""
    try:
        stamp = pd.Timestamp(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise QueryError(
            parameter, f"expected an ISO 8601 time such as 2026-11-24T08:00:00Z, got {text!r}"
        ) from None
    if not 1970 <= stamp.year <= 2200:
        raise QueryError(parameter, "expected a time between the years 1970 and 2200")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC").to_pydatetime()


def time_range(
    start: str | None,
    end: str | None,
    now: datetime,
    timezone: str,
    default_hours: float,
    max_days: float,
) -> TimeRange:
    """The ``from`` .. ``to`` window of a request (default: the last ``default_hours``).

    Raises ``QueryError`` when a bound is not a time, ``from`` is not before ``to``, or the
    window is longer than ``max_days``.
    """
    # An empty parameter is a wrong one, not a missing one.
    stop = parse_time(end, "to", timezone) if end is not None else now
    begin = (
        parse_time(start, "from", timezone)
        if start is not None
        else stop - timedelta(hours=default_hours)
    )
    if begin >= stop:
        raise QueryError("from", "must be earlier than 'to'")
    if stop - begin > timedelta(days=max_days):
        raise QueryError("to", f"the window may be at most {max_days:g} days long")
    return TimeRange(begin, stop)


def parse_hours(text: str | None, default: float, maximum: float) -> float:
    """The ``hours`` parameter: a number of hours in (0, ``maximum``]."""
    if text is None or text == "":
        return default
    try:
        hours = float(text)
    except ValueError:
        raise QueryError("hours", f"expected a number of hours, got {text!r}") from None
    if not 0 < hours <= maximum:
        raise QueryError("hours", f"expected a number of hours above 0 and at most {maximum:g}")
    return hours


def public_endpoint(config: CityConfig, source: str) -> str:
    """The source's URL without user info, secret parameters or the values of its
    credential environment variables."""
    cfg = config.sources[source]
    secrets = tuple(v for env in cfg.credentials.values() if (v := os.environ.get(env)))
    return redact_url(cfg.url, secrets) if cfg.url else ""


def provenance(info: SourceInfo, config: CityConfig) -> dict[str, Any]:
    """One source's provenance as JSON: who publishes it, under which licence, whether it
    is measured, replayed or simulated, when it was retrieved and observed."""
    return {
        "id": info.id,
        "name": info.name,
        "publisher": info.publisher,
        "licence": info.licence,
        "licence_url": info.licence_url or None,
        "url": public_endpoint(config, info.id) or None,
        "origin": info.origin,
        "status": info.status,
        "fetched": iso(info.last_success),
        "observed": iso(info.updated),
        "attribution": info.credit(),
    }


def layer_sites(view: CityView, config: CityConfig, layer_id: str) -> pd.DataFrame:
    """The sites of one layer the view's role may see."""
    layer = config.layers[layer_id]
    return view.sites[view.sites["source"].isin(layer.sources)]


def layer_latest(view: CityView, config: CityConfig, layer_id: str) -> pd.DataFrame:
    """Every latest observation of the layer's visible sites (all metrics)."""
    ids = layer_sites(view, config, layer_id)["id"]
    return view.latest[view.latest["site_id"].isin(ids)]


def observation_table(view: CityView, observations: pd.DataFrame) -> pd.DataFrame:
    """Observations joined with their site and source: one row per observation with the
    columns of ``CSV_COLUMNS`` plus ``suppressed`` and ``value_text``.

    Values below the minimum group size are already masked (``value`` NaN,
    ``value_text`` "< k"). Observations of sites the view does not hold are dropped.
    """
    masked = mask_frame(observations, view.min_group_size)
    sites = view.sites[["id", "name", "domain", "lat", "lon", "source", "origin"]]
    joined = masked.merge(sites, left_on="site_id", right_on="id", how="inner")
    joined = joined[joined["source"].isin(list(view.sources))]
    info = {s: view.sources[s] for s in joined["source"].unique()}
    out = pd.DataFrame(
        {
            "site_id": joined["site_id"].astype(str),
            "site_name": joined["name"].astype(str),
            "domain": joined["domain"].astype(str),
            "lat": joined["lat"].astype(float),
            "lon": joined["lon"].astype(float),
            "metric": joined["metric"].astype(str),
            "unit": joined["metric"].map(lambda m: METRICS[str(m)].unit),
            "time": [iso(t) for t in joined["time"]],
            "value": joined["value"].astype(float),
            "value_text": joined["value_text"].astype(str),
            "suppressed": joined["suppressed"].astype(bool),
            "origin": [
                "simulated" if o == "simulated" else info[s].origin
                for o, s in zip(joined["origin"], joined["source"], strict=True)
            ],
            "source": joined["source"].astype(str),
            "publisher": joined["source"].map(lambda s: info[s].publisher),
            "licence": joined["source"].map(lambda s: info[s].licence),
            "licence_url": joined["source"].map(lambda s: info[s].licence_url),
            "fetched": joined["source"].map(lambda s: iso(info[s].last_success)),
            "attribution": joined["source"].map(lambda s: info[s].credit()),
        }
    )
    return out.sort_values(["site_id", "metric", "time"]).reset_index(drop=True)


def csv_text(table: pd.DataFrame) -> str:
    """The table as CSV with ``CSV_COLUMNS``; a masked value reads "< k"."""
    out = table.assign(value=table["value_text"])[list(CSV_COLUMNS)]
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _or_list(names: tuple[str, ...]) -> str:
    """ "a, b or c" """
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def csvw_metadata(
    url: str, title: str, sources: list[SourceInfo], config: CityConfig
) -> dict[str, Any]:
    """A CSV on the Web (W3C CSVW) sidecar for an exported CSV: title, publisher,
    licence and provenance of each source, and the meaning of each column."""
    descriptions = {
        "site_id": "Site id (source:native id)",
        "site_name": "Site name",
        "domain": "Domain: " + _or_list(domain_names()),
        "lat": "Latitude, WGS84",
        "lon": "Longitude, WGS84",
        "metric": "Metric name",
        "unit": "Unit of the value",
        "time": "Observation time, UTC",
        "value": "Value; counts of people below the minimum group size read '< k'",
        "origin": "measured, replayed or simulated",
        "source": "Source id",
        "publisher": "Publisher of the source",
        "licence": "Licence of the source",
        "licence_url": "Licence text",
        "fetched": "When City Cockpit retrieved the data, UTC",
        "attribution": "Credit line to show with the data",
    }
    return {
        "@context": "http://www.w3.org/ns/csvw",
        "url": url,
        "dc:title": title,
        "dc:publisher": config.city.name,
        "dc:license": [s.licence_url or s.licence for s in sources],
        "dc:source": [provenance(s, config) for s in sources],
        "tableSchema": {
            "columns": [
                {"name": c, "titles": c, "dc:description": descriptions[c]} for c in CSV_COLUMNS
            ]
        },
    }


def geojson(
    table: pd.DataFrame, sources: list[SourceInfo], config: CityConfig, title: str
) -> dict[str, Any]:
    """A FeatureCollection, one Point per site with its observations, and top-level
    ``attribution``, ``license`` and ``sources`` members; each feature names its
    source, publisher, licence, origin and retrieval time."""
    features = []
    for site_id, rows in table.groupby("site_id", sort=True):
        first = rows.iloc[0]
        features.append(
            {
                "type": "Feature",
                "id": str(site_id),
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(first["lon"]), float(first["lat"])],
                },
                "properties": {
                    "id": str(site_id),
                    "name": str(first["site_name"]),
                    "domain": str(first["domain"]),
                    "source": str(first["source"]),
                    "publisher": str(first["publisher"]),
                    "licence": str(first["licence"]),
                    "origin": str(first["origin"]),
                    "fetched": first["fetched"],
                    "attribution": str(first["attribution"]),
                    "observations": [_observation(r) for r in rows.to_dict("records")],
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "name": title,
        "attribution": "; ".join(s.credit() for s in sources),
        "license": "; ".join(
            f"{s.name}: {s.licence}" + (f" <{s.licence_url}>" if s.licence_url else "")
            for s in sources
        ),
        "sources": [provenance(s, config) for s in sources],
        "features": features,
    }


def _observation(row: dict[Any, Any]) -> dict[str, Any]:
    value = row["value"]
    return {
        "metric": row["metric"],
        "unit": row["unit"],
        "time": row["time"],
        "value": None if pd.isna(value) else float(value),
        "display": row["value_text"],
        "suppressed": bool(row["suppressed"]),
    }


def sites_table(view: CityView) -> list[dict[str, Any]]:
    """The view's sites as JSON records (no attributes: they may hold platform text)."""
    return [
        {
            "id": str(r.id),
            "name": str(r.name),
            "domain": str(r.domain),
            "kind": str(r.kind),
            "lat": float(r.lat),  # type: ignore[arg-type]
            "lon": float(r.lon),  # type: ignore[arg-type]
            "source": str(r.source),
            "origin": "simulated"
            if r.origin == "simulated"
            else view.sources[str(r.source)].origin,
            "district": str(r.district or ""),
        }
        for r in view.sites.itertuples(index=False)
        if str(r.source) in view.sources
    ]


def kpi_table(view: CityView, config: CityConfig, key: str) -> pd.DataFrame:
    """The observations a KPI was computed from: the latest observations of its metrics at
    the sites of its domain that the view's role may see, masked and with provenance.

    The domain and metrics are those the KPI's declaration names (``cockpit.domains``).
    Footfall counts only sensors within an hour of the newest count, as ``kpi.footfall``
    does. Raises ``KeyError`` for an unknown KPI.
    """
    spec, domain = kpi_spec(key), domain_of_kpi(key).name
    sources = [s for s in config.sources_for(domain) if s in view.sources]
    ids = view.sites.loc[view.sites["source"].isin(sources), "id"]
    latest = view.latest[
        view.latest["site_id"].isin(ids) & view.latest["metric"].isin(list(spec.metrics))
    ]
    if spec.method == "footfall" and not latest.empty:
        latest = latest[latest["time"] >= latest["time"].max() - pd.Timedelta(hours=1)]
    return observation_table(view, latest)
