"""The connector interface: what every connector implements, and the table that names them.

A source in the city config names its connector by a key of the table below;
``build_connector`` imports only the module it needs, so the core never imports a
connector implementation. ``register_connector`` adds a platform from outside the tree.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from cockpit.errors import ConfigError
from cockpit.model import Snapshot, validate_observations, validate_sites

if TYPE_CHECKING:
    from cockpit.config import CityConfig, SourceConfig

__all__ = [
    "SECRET_PARAMS",
    "Connector",
    "Explanation",
    "SourceContext",
    "Subscription",
    "build_connector",
    "explain_rows",
    "known_connectors",
    "native_id_text",
    "redact_url",
    "register_connector",
    "rejection_examples",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceContext:
    """What a connector knows about its source: id, config and the city's frame of reference."""

    source_id: str
    config: SourceConfig
    base_dir: Path = Path(".")
    bbox: tuple[float, float, float, float] | None = None
    timezone: str = "UTC"
    environ: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_city(cls, city: CityConfig, source_id: str, environ: dict[str, str]) -> SourceContext:
        """Context for ``source_id`` of ``city``; ``environ`` supplies the credentials."""
        return cls(
            source_id=source_id,
            config=city.sources[source_id],
            base_dir=city.base_dir,
            bbox=city.city.bbox,
            timezone=city.city.timezone,
            environ=dict(environ),
        )

    def secret(self, name: str) -> str | None:
        """The credential ``name`` (e.g. ``api_key``) from the environment variable the
        config names for it, or None when the config names none or the variable is unset."""
        env = self.config.credentials.get(name)
        return self.environ.get(env) if env else None


class Subscription(Protocol):
    """A platform's promise to push a source's new observations (an MQTT session, a
    broker subscription), held by one process of all (see ``cockpit.push``)."""

    def renew(self) -> None:
        """Keep the subscription alive (a broker's subscription expires); raises
        ``ConnectorError`` when the platform refuses."""
        ...

    def close(self) -> None:
        """End the subscription (delete it on the platform where it lives there)."""
        ...


class Connector(ABC):
    """Reads one source. Subclasses implement the three reads; all return canonical frames.

    Every method raises ``ConnectorError`` (or a subclass) when the platform cannot be read;
    rows that are read but invalid are dropped by ``snapshot`` with a logged reason.
    """

    def __init__(self, context: SourceContext) -> None:
        self.context = context
        self.source_id = context.source_id

    @abstractmethod
    def discover_sites(self) -> pd.DataFrame:
        """All sites of the source, as a canonical site frame."""

    @abstractmethod
    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        """The newest observation per site and metric, as a canonical observation frame."""

    @abstractmethod
    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        """Observations with ``start <= time < end`` (UTC), as a canonical observation frame."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions or files; the default holds none."""

    def subscribe(
        self, sites: pd.DataFrame, on_observations: Callable[[pd.DataFrame], None]
    ) -> Subscription:
        """Ask the platform to push new observations of ``sites``.

        Observations that come over a connection the subscription holds (MQTT) go to
        ``on_observations`` as canonical frames; those a platform posts to the cockpit
        come through ``read_notification``. Raises ``ConfigError`` for a platform that
        cannot push, ``ConnectorError`` when the platform refuses.
        """
        raise ConfigError(
            "city config", f"sources.{self.source_id}.push", "this platform cannot push"
        )

    def read_notification(self, body: Any, sites: pd.DataFrame) -> pd.DataFrame:
        """The observations in one notification the platform posted (parsed JSON), for
        ``sites``, as a canonical observation frame. Raises ``ParseError`` for a body
        that is not a notification, ``ConfigError`` for a platform that posts none."""
        raise ConfigError(
            "city config", f"sources.{self.source_id}.push", "this platform posts no notifications"
        )

    def snapshot(self, now: datetime | None = None) -> Snapshot:
        """Discover sites and read the latest observations, keeping only valid rows.

        Returns a ``Snapshot``; raises ``ConnectorError`` when the platform cannot be read.
        """
        sites, bad_sites = validate_sites(self.discover_sites(), self.context.bbox)
        observations = self.read_latest(sites)
        observations = observations[observations["site_id"].isin(sites["id"])]
        observations, bad_obs = validate_observations(observations)
        notes = _summarise("site", bad_sites) + _summarise("observation", bad_obs)
        for note in notes:
            log.warning("source %s: %s", self.source_id, note)
        return Snapshot(
            source=self.source_id,
            sites=sites,
            observations=observations.reset_index(drop=True),
            fetched_at=now or datetime.now(UTC),
            rejected=len(bad_sites) + len(bad_obs),
            notes=notes,
            examples={
                **rejection_examples("site", bad_sites),
                **rejection_examples("observation", bad_obs),
            },
        )

    def explain(self, limit: int = 5) -> list[Explanation]:
        """The first ``limit`` records of the source, each as read, as mapped and whether
        it was kept (with the reasons it was dropped).

        This default reads the canonical frames (a site and its observations stand for a
        record); connectors that read records override it to show them as served.
        Raises ``ConnectorError`` when the platform cannot be read.
        """
        sites = self.discover_sites()
        observations = self.read_latest(sites)
        out = []
        for _, site in sites.head(limit).iterrows():
            row = {k: _plain(v) for k, v in site.items()}
            obs = observations[observations["site_id"] == site["id"]]
            out.append(explain_rows(row, None, sites[sites["id"] == site["id"]], obs, self.context))
        return out


@dataclass
class Explanation:
    """One record of a source followed through the connector: ``read`` as served,
    ``mapped`` after the source's mapping (None without one), what it gave and why it was
    kept or dropped."""

    read: Any
    mapped: Any
    sites: int
    observations: int
    kept: bool
    reasons: list[str]


def _plain(value: Any) -> Any:
    """A frame cell as plain JSON-friendly data: times as ISO text, gaps as None."""
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def explain_rows(
    read: Any,
    mapped: Any,
    sites: pd.DataFrame,
    observations: pd.DataFrame,
    context: SourceContext,
    problems: list[str] | None = None,
) -> Explanation:
    """An ``Explanation`` of one record that gave ``sites`` and ``observations`` (canonical
    frames): kept when a site and an observation pass the validators; the reasons are
    the validators' and ``problems`` (e.g. the mapping's)."""
    good_sites, bad_sites = validate_sites(sites, context.bbox)
    good_obs, bad_obs = validate_observations(observations)
    reasons = list(problems or [])
    reasons += [f"site: {r}" for r in bad_sites["reason"].unique()]
    reasons += [f"observation: {r}" for r in bad_obs["reason"].unique()]
    if sites.empty:
        reasons.append("gave no site")
    if observations.empty:
        reasons.append("gave no observation")
    kept = not good_sites.empty and not good_obs.empty
    return Explanation(read, mapped, len(good_sites), len(good_obs), kept, reasons)


def _summarise(what: str, rejected: pd.DataFrame) -> list[str]:
    if rejected.empty:
        return []
    counts = rejected["reason"].value_counts()
    return [f"rejected {n} {what}(s): {reason}" for reason, n in counts.items()]


def rejection_examples(
    what: str, rejected: pd.DataFrame, noun: str = ""
) -> dict[str, dict[str, Any]]:
    """Note text (as ``snapshot`` writes it) -> the first rejected row with that reason."""
    if rejected.empty:
        return {}
    counts = rejected["reason"].value_counts()
    out: dict[str, dict[str, Any]] = {}
    for reason, n in counts.items():
        row = rejected[rejected["reason"] == reason].iloc[0]
        note = f"rejected {n} {noun or what + '(s)'}: {reason}"
        out[note] = {str(k): _plain(v) for k, v in row.items() if k != "reason"}
    return out


def native_id_text(value: Any) -> str | None:
    """A platform's native id as text (numbers without a trailing ".0"), or None when it
    is not a number or a non-blank string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token", "password", "sig"})


def redact_url(url: str, secrets: tuple[str, ...] = ()) -> str:
    """``url`` without user info, secret query values, or any of ``secrets`` verbatim."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = [
        (k, "***" if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    clean = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="$,():'/ "), ""))
    for secret in secrets:
        if secret:
            clean = clean.replace(secret, "***")
    return clean


_CONNECTORS: dict[str, str] = {
    "melbourne-replay": "connectors.replay:MelbourneReplay",
    "sensorthings": "connectors.sensorthings:SensorThingsConnector",
    "ngsi-ld": "connectors.ngsi:NgsiLdConnector",
    "ngsi-v2": "connectors.ngsi:NgsiV2Connector",
    "opendatasoft": "connectors.opendatasoft:OpenDataSoftConnector",
    "ckan": "connectors.ckan:CkanConnector",
    "gbfs": "connectors.gbfs:GbfsConnector",
    "table": "connectors.table:TableConnector",
    "arcgis": "connectors.arcgis:ArcGisConnector",
    "socrata": "connectors.socrata:SocrataConnector",
}


def register_connector(name: str, target: str) -> None:
    """Name a connector class, given as ``"package.module:Class"``, for sources to use."""
    _CONNECTORS[name] = target


def known_connectors() -> frozenset[str]:
    """Names a source's ``connector`` key may take."""
    return frozenset(_CONNECTORS)


def build_connector(context: SourceContext) -> Connector:
    """Create the connector a source's config names; raises ``KeyError`` for an unknown one."""
    module_name, class_name = _CONNECTORS[context.config.connector].split(":")
    cls = getattr(import_module(module_name), class_name)
    connector: Connector = cls(context)
    return connector
