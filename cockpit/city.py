"""The one way a layout reads data: a ``City`` over the store, answering for a role.

Layouts never call a connector, the history or the runtime. They ask the ``City`` for a
``CityView`` (sites, latest observations, KPIs, source statuses, all filtered to what the
viewer's role may see), for a site's recent history, and for the twin's answers (the twin
at a moment, the alert board, forecasts, targets, sensor health). Every answer is kept in
one cache (``cockpit.twin.answers.Answers``) by data version, role and question, so a
refresh that brings nothing new costs almost nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar, cast

import pandas as pd

from cockpit.auth import may_see
from cockpit.config import CityConfig
from cockpit.domains import KpiSpec, all_domains
from cockpit.geo import DistrictShape, district_shapes, districts_of
from cockpit.model import METRICS, empty_observations, empty_sites
from cockpit.privacy import masked_label, suppressed
from cockpit.storage import Decision, HistoryStore, SharedCache, SnapshotStore
from cockpit.twin import alerts as alert_rules
from cockpit.twin import (
    attention,
    crossdomain,
    freshness,
    kpi,
    occupancy,
    panels,
    rules,
    sensor_health,
)
from cockpit.twin.answers import Answers
from cockpit.twin.attention import AttentionItem
from cockpit.twin.baseline import DECISION_METRICS, BeforeAfter, before_after
from cockpit.twin.climate import Co2Estimate
from cockpit.twin.districts import (
    DistrictFigure,
    Measure,
    district_figures,
    measure_of,
    typical_words,
)
from cockpit.twin.forecast import FreeBays
from cockpit.twin.hexgrid import Grid, HexLayer, columns
from cockpit.twin.panels import Board, Twin
from cockpit.twin.states import site_states
from cockpit.twin.targets import TargetProgress

__all__ = ["City", "CityView", "SourceInfo", "overall_status"]

T = TypeVar("T")

log = logging.getLogger(__name__)

# How long an answer read from weeks of history still holds after new data arrives.
QUARTER_HOUR_S = 900.0
# The alert board is made again at most this often, in the background (see ``Answers``).
BOARD_REFRESH_S = 60.0


@dataclass(frozen=True)
class SourceInfo:
    """Where a figure comes from: shown beside it, so every number can be traced."""

    id: str
    name: str
    publisher: str
    licence: str
    licence_url: str
    url: str
    origin: str  # e.g. "May 2025, replayed" or "simulated"
    status: str  # ok | stale | down
    updated: datetime | None  # newest observation
    last_success: datetime | None
    age_s: float | None
    error: str

    @property
    def stale(self) -> bool:
        return self.status != "ok"

    def credit(self) -> str:
        """One line naming source, publisher, licence and origin."""
        return f"{self.name} · {self.publisher} · {self.licence} · {self.origin}"


@dataclass
class CityView:
    """Everything one role may see at one data version."""

    version: int
    role: str
    generated: datetime
    sites: pd.DataFrame
    latest: pd.DataFrame
    sources: dict[str, SourceInfo]
    kpis: list[kpi.Kpi]
    layers: dict[str, pd.DataFrame]  # layer id -> site states
    # Counts of people below this are shown as "< k" (config privacy.min_group_size).
    min_group_size: int = 0
    # Rows of ``latest`` whose stream's newest observation is older than its source's
    # stream limit (with ``limit_s``): left out of KPIs and alerts, named in sensor health.
    stale_streams: pd.DataFrame = field(default_factory=empty_observations)
    # Per-view cache of ``layer_table`` results (a view never changes once built).
    _tables: dict[tuple[str, str], pd.DataFrame] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def fresh(self) -> pd.DataFrame:
        """``latest`` without the stale streams: what KPIs and alerts are made of."""
        if self.stale_streams.empty:
            return self.latest
        stale = pd.MultiIndex.from_frame(self.stale_streams[["site_id", "metric"]])
        keys = pd.MultiIndex.from_frame(self.latest[["site_id", "metric"]])
        return self.latest[~keys.isin(stale)].reset_index(drop=True)

    def layer_table(self, layer_id: str, timezone: str) -> pd.DataFrame:
        """The layer's sites with the text the map shows, one row per site (columns
        ``LAYER_COLUMNS``), computed once per view: values and times are formatted once
        per distinct value, not once per site."""
        key = (layer_id, timezone)
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        states = self.layers.get(layer_id)
        if states is None or states.empty:
            table = pd.DataFrame({c: pd.Series(dtype=object) for c in LAYER_COLUMNS})
            self._tables[key] = table
            return table
        joined = states.merge(self.sites, left_on="site_id", right_on="id", how="inner")
        infos = self.sources
        source = joined["source"].astype(str)
        stale = source.isin([s for s, i in infos.items() if i.stale])
        metric = joined["metric"].astype(str)
        if not self.stale_streams.empty:
            dead = pd.MultiIndex.from_frame(self.stale_streams[["site_id", "metric"]])
            keys = pd.MultiIndex.from_arrays([joined["site_id"].astype(str), metric])
            stale = stale | pd.Series(keys.isin(dead), index=joined.index)
        value = joined["value"].astype(float)
        pairs = pd.MultiIndex.from_arrays([metric, value]).unique()
        texts = {(m, v): format_value(m, v, self.min_group_size) for m, v in pairs}
        local = pd.to_datetime(joined["time"], utc=True).dt.tz_convert(timezone)
        when = {t: f"{t:%a %d %b %H:%M}" for t in local.unique()}
        fetched = {s: _local(i.last_success, timezone) for s, i in infos.items()}
        table = pd.DataFrame(
            {
                "id": joined["site_id"].astype(str),
                "lon": joined["lon"].astype(float),
                "lat": joined["lat"].astype(float),
                "name": joined["name"].astype(str),
                "district": joined["district"].fillna("").astype(str),
                "value": [texts[p] for p in zip(metric, value, strict=True)],
                "metric": metric.map({m: METRICS[m].label for m in metric.unique()}),
                "state": joined["state"].astype(str),
                "level": joined["level"].astype(str).where(~stale, "stale"),
                "time": local.map(when),
                "source": source.map({s: i.name for s, i in infos.items()}),
                "origin": source.map({s: i.origin for s, i in infos.items()}).where(
                    joined["origin"] != "simulated", "simulated"
                ),
                "fetched": source.map(fetched),
            }
        )
        self._tables[key] = table
        return table

    def layer_features(self, layer_id: str, timezone: str) -> dict[str, Any]:
        """The layer's sites as a GeoJSON FeatureCollection for the map.

        Properties carry text only (name, value with unit, state, observation time,
        source, origin, retrieval time); the map builds popups from them as text, never
        as HTML. Small counts of people read "< k".
        """
        table = self.layer_table(layer_id, timezone)
        names = LAYER_COLUMNS[3:]
        columns = [table["id"].tolist(), *(table[c].tolist() for c in names)]
        keys = ["id", *names]
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": dict(zip(keys, row, strict=True)),
            }
            for lon, lat, *row in zip(
                table["lon"].tolist(), table["lat"].tolist(), *columns, strict=True
            )
        ]
        return {"type": "FeatureCollection", "features": features}


# The question whose answer is a role's current ``CityView``.
_VIEW = ("view",)

# The map's text per site, in the order ``CityView.layer_table`` gives them.
LAYER_COLUMNS = [
    "id",
    "lon",
    "lat",
    "name",
    "district",
    "value",
    "metric",
    "state",
    "level",
    "time",
    "source",
    "origin",
    "fetched",
]


def format_value(metric: str, value: float, min_group_size: int = 0) -> str:
    """``value`` with its metric's unit, as people read it (e.g. "1,240 veh/h"); a count
    of people below ``min_group_size`` reads "< k persons/h" (see ``cockpit.privacy``)."""
    m = METRICS[metric]
    if suppressed(metric, value, min_group_size):
        return f"{masked_label(min_group_size)} {m.unit}"
    if metric == "bay_occupied":
        return "occupied" if value >= 0.5 else "free"
    return f"{value:,.{m.decimals}f} {m.unit}"


def _forecast_question(now: datetime) -> tuple[str, int]:
    """The city's forecast is one answer per clock hour."""
    return ("forecasts", int(pd.Timestamp(now).floor("h").timestamp()))


def _local(when: datetime | None, timezone: str) -> str:
    return "" if when is None else f"{pd.Timestamp(when).tz_convert(timezone):%a %d %b %H:%M}"


class City:
    """Reads for layouts and routes: the latest view, a site's history, the twin's
    answers and health, each for a role."""

    def __init__(
        self,
        config: CityConfig,
        store: SnapshotStore,
        history: HistoryStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.history = history
        self.clock = clock
        self._lock = threading.Lock()
        # Every answer this city gives, by data version, role and question.
        self.answers = Answers()
        # Called by ``warm`` with each view it builds (layouts render their panels).
        self.warm_hooks: list[Callable[[CityView], object]] = []
        self._reference: tuple[str, pd.Series] | None = None
        self._districts: dict[str, str] = {}
        # The city's rules (``cockpit.twin.rules``): those of the config until the runtime
        # adds the ones written on the /rules page (kept in the journal).
        self.rules: Callable[[], list[rules.Rule]] = lambda: [
            rules.Rule(i, spec, "config") for i, spec in config.alerts.rules.items()
        ]
        # One background preparation of replayed moments at a time (``prepare_moments``).
        self._preparing = threading.Lock()
        # The roles whose viewers have looked at a site's forecast (``forecast_roles``).
        self._forecast_roles: set[str] = set()

    def version(self) -> int:
        """The data version; it changes whenever any source brings new data."""
        return self.store.version()

    def visible_sources(self, role: str) -> list[str]:
        return [s for s, cfg in self.config.sources.items() if may_see(role, cfg.access)]

    def view(self, role: str) -> CityView:
        """The current view for ``role``, computed once per data version."""
        version = self.version()
        return self.answers.get(version, role, _VIEW, lambda: self._build(version, role))

    def ready_view(self, role: str) -> CityView | None:
        """The current view for ``role`` if it is already built, else None (never builds)."""
        found: CityView | None = self.answers.peek(self.version(), role, _VIEW)
        return found

    def warm(self) -> list[str]:
        """Build, at the current data version, the views of the roles served at the last
        one, so that the browsers' next refresh finds them ready; returns those roles."""
        roles = self.answers.roles_behind(self.version(), _VIEW)
        for role in roles:
            view = self.view(role)
            for hook in self.warm_hooks:
                hook(view)
        return roles

    def view_at(self, role: str, moment: datetime) -> CityView:
        """What ``role`` would have seen at ``moment``, rebuilt from the history store.

        Each site shows its newest observation per metric at or before ``moment`` and no
        older than its source's stale limit; sites and access follow the same role
        filtering as ``view``. A source with no data in that span is marked stale.
        Raises nothing for a moment without data: the view is then simply empty.
        """
        question = ("view-at", int(moment.timestamp()))
        return self.answers.get(
            self.version(), role, question, lambda: self._build_at(role, moment)
        )

    def _build_at(self, role: str, moment: datetime) -> CityView:
        sites, latest, infos = [], [], {}
        for source in self.visible_sources(role):
            snap = self.store.snapshot(source)
            if snap is None:
                infos[source] = self._info_at(source, moment, None)
                continue
            visible = snap.sites[snap.sites["access"].map(lambda a: may_see(role, a))]
            obs = self._history_latest(source, list(visible["id"]), moment)
            infos[source] = self._info_at(
                source, moment, None if obs.empty else obs["time"].max().to_pydatetime()
            )
            sites.append(visible)
            latest.append(obs)
        site_frame = pd.concat(sites, ignore_index=True) if sites else empty_sites()
        obs = pd.concat(latest, ignore_index=True) if latest else empty_observations()
        site_frame["district"] = self._district_names(site_frame)
        layers = self._layer_states(site_frame, obs, role)
        view = CityView(self.version(), role, moment, site_frame, obs, infos, [], layers)
        view.min_group_size = self.config.privacy.min_group_size
        view.kpis = self._kpis(view)
        return view

    def prepare_moments(self, role: str, moments: Iterable[datetime]) -> threading.Thread | None:
        """Answer, in a background thread, what the time machine shows at each of
        ``moments`` (the view, the twin, what needs attention, targets and CO₂), so that a
        replay playing forward finds its next frames ready and advances at its speed.
        One preparation runs at a time: while one runs, this does nothing and returns None;
        else it returns the thread."""
        if not self._preparing.acquire(blocking=False):
            return None
        wanted = list(moments)

        def run() -> None:
            try:
                for moment in wanted:
                    self.view_at(role, moment)
                    self.needs_attention(role, moment)  # the twin at the moment with it
                    self.targets_and_co2(role, moment)
            except Exception:  # the frame is made on request instead
                log.exception("preparing replayed moments failed")
            finally:
                self._preparing.release()

        thread = threading.Thread(target=run, name="city-cockpit-replay", daemon=True)
        thread.start()
        return thread

    def _history_latest(self, source: str, site_ids: list[str], moment: datetime) -> pd.DataFrame:
        """Each site's newest observation per metric in the span before ``moment``."""
        cfg = self.config.sources[source]
        # Hourly sensors report once an hour: a site's value holds for at least an hour.
        start = moment - timedelta(seconds=max(cfg.stale_after_seconds, 3600))
        end = moment + timedelta(seconds=1)  # "at or before": window() excludes its end
        metrics = sorted(
            {
                m
                for lay in self.config.layers.values()
                if source in lay.sources
                for m in _layer_metrics(lay.metric)
            }
        )
        frames = [self.history.window(site_ids, start, end, metric=m) for m in metrics]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return empty_observations()
        obs = pd.concat(frames, ignore_index=True).sort_values("time")
        return obs.groupby(["site_id", "metric"], sort=False).tail(1).reset_index(drop=True)

    def _info_at(self, source: str, moment: datetime, newest: datetime | None) -> SourceInfo:
        """The source's provenance as of ``moment``: stale when it had no recent data."""
        now = self.source_info(source)
        fresh = newest is not None
        return SourceInfo(
            id=now.id,
            name=now.name,
            publisher=now.publisher,
            licence=now.licence,
            licence_url=now.licence_url,
            url=now.url,
            origin=now.origin,
            status="ok" if fresh else "stale",
            updated=newest,
            last_success=newest,
            age_s=(moment - newest).total_seconds() if newest else None,
            error="",
        )

    def source_info(self, source: str) -> SourceInfo:
        cfg = self.config.sources[source]
        status = self.store.status(source)
        now = self.clock()
        snap = self.store.snapshot(source)
        return SourceInfo(
            id=source,
            name=cfg.name,
            publisher=cfg.publisher,
            licence=cfg.licence,
            licence_url=cfg.licence_url,
            url=cfg.url,
            origin=_origin(cfg.options.get("recorded"), snap.sites if snap else None),
            status=status.state(now, cfg.stale_after_seconds),
            updated=status.newest_observation,
            last_success=status.last_success,
            age_s=status.age_s(now),
            # The error text names source and URL (secrets removed), never a stack trace.
            error=status.last_error,
        )

    def _build(self, version: int, role: str) -> CityView:
        sites, latest, infos = [], [], {}
        for source in self.visible_sources(role):
            infos[source] = self.source_info(source)
            snap = self.store.snapshot(source)
            if snap is not None:
                sites.append(snap.sites[snap.sites["access"].map(lambda a: may_see(role, a))])
                latest.append(snap.observations)
        site_frame = pd.concat(sites, ignore_index=True) if sites else empty_sites()
        obs = pd.concat(latest, ignore_index=True) if latest else empty_observations()
        obs = obs[obs["site_id"].isin(site_frame["id"])].reset_index(drop=True)
        site_frame["district"] = self._district_names(site_frame)
        layers = self._layer_states(site_frame, obs, role)
        view = CityView(version, role, self.clock(), site_frame, obs, infos, [], layers)
        view.min_group_size = self.config.privacy.min_group_size
        limits = {
            s: cfg.stream_stale_after_seconds
            for s, cfg in self.config.sources.items()
            if cfg.stream_stale_after_seconds is not None
        }
        _, view.stale_streams = freshness.split_stale_streams(
            obs, site_frame, limits, view.generated
        )
        view.kpis = self._kpis(view)
        return view

    def _district_names(self, sites: pd.DataFrame) -> pd.Series:
        """Each site's district from the city's area polygons (computed once per site)."""
        if not self.config.map.basemap or not self.config.map.basemap_label:
            return pd.Series("", index=sites.index, dtype="string")
        new = sites[~sites["id"].isin(list(self._districts))]
        if not new.empty:
            found = districts_of(
                new, self.config.resolve(self.config.map.basemap), self.config.map.basemap_label
            )
            self._districts.update({i: found.get(i, "") or "" for i in new["id"]})
        return sites["id"].map(self._districts).fillna("").astype("string")

    def _layer_states(
        self, site_frame: pd.DataFrame, obs: pd.DataFrame, role: str
    ) -> dict[str, pd.DataFrame]:
        """Each map layer ``role`` may see: its sites' states from their latest values."""
        return {
            layer_id: site_states(
                obs[obs["site_id"].isin(self._layer_sites(site_frame, layer))], layer
            )
            for layer_id, layer in self.config.layers.items()
            if may_see(role, layer.access)
        }

    @staticmethod
    def _layer_sites(sites: pd.DataFrame, layer: Any) -> pd.Series:
        return sites.loc[sites["source"].isin(layer.sources), "id"]

    def _domain(self, view: CityView, domain: str) -> tuple[pd.DataFrame, list[str]]:
        sources = [s for s in self.config.sources_for(domain) if s in view.sources]
        ids = view.sites.loc[view.sites["source"].isin(sources), "id"]
        fresh = view.fresh
        return fresh[fresh["site_id"].isin(ids)], sources

    def _kpis(self, view: CityView) -> list[kpi.Kpi]:
        """Every registered domain's KPIs, in registration order."""
        cfg = self.config.kpis
        out = []
        for domain in all_domains():
            latest, sources = self._domain(view, domain.name)
            for spec in domain.kpis:
                limits = _limits(cfg.get(spec.key), spec.warn, spec.alert)
                out.append(_attach(self._kpi(spec, view, latest, sources, limits), sources))
        for item in out:
            conf = cfg.get(item.key)
            if conf and conf.title:
                item.title = conf.title
        return out

    def _kpi(
        self,
        spec: KpiSpec,
        view: CityView,
        latest: pd.DataFrame,
        sources: list[str],
        limits: dict[str, Any],
    ) -> kpi.Kpi:
        """One KPI by its declared ``method`` (a refined calculation of
        ``cockpit.twin.kpi``), else by its plain aggregation."""
        if spec.method == "traffic_flow":
            return kpi.traffic_flow(latest, self._traffic_reference(sources, spec.metric), **limits)
        if spec.method == "air_quality":
            return kpi.air_quality(latest, view.sites)
        if spec.method == "parking_occupancy":
            return kpi.parking_occupancy(latest, view.sites, **limits)
        if spec.method == "footfall":
            past = self._footfall_history(latest, spec.metric)
            return kpi.footfall(latest, past, self.config.city.timezone)
        return kpi.aggregate(latest, spec, **limits)

    def _footfall_history(self, latest: pd.DataFrame, metric: str) -> pd.DataFrame:
        obs = latest[latest["metric"] == metric]
        if obs.empty:
            return empty_observations()
        newest = obs["time"].max().to_pydatetime()
        frames = [
            self.history.window(
                list(obs["site_id"]),
                # two hours either side: the same wall-clock hour across a DST change
                newest - timedelta(weeks=k, hours=2),
                newest - timedelta(weeks=k) + timedelta(hours=2),
                metric=metric,
            )
            for k in range(1, 5)
        ]
        return pd.concat(frames, ignore_index=True)

    def _traffic_reference(self, sources: list[str], metric: str) -> pd.Series:
        """Each traffic site's busy-hour flow: the 95th percentile of its history,
        computed once a day."""
        today = self.clock().date().isoformat() + ",".join(sources)
        if self._reference and self._reference[0] == today:
            return self._reference[1]
        # Kept in the history's marks too: other processes and restarts reuse it.
        kept = self.history.mark(f"traffic-reference:{today}")
        if kept is not None:
            ref = pd.Series(json.loads(kept), dtype=float)
            self._reference = (today, ref)
            return ref
        end = self.clock()
        frames = [
            self.history.source_window(s, metric, end - timedelta(days=28), end) for s in sources
        ]
        frame = pd.concat(frames) if frames else empty_observations()
        ref = (
            frame.groupby("site_id")["value"].quantile(0.95)
            if not frame.empty
            else pd.Series(dtype=float)
        )
        self.history.set_mark(f"traffic-reference:{today}", json.dumps(ref.to_dict()))
        self._reference = (today, ref)
        return ref

    def series(self, role: str, site_id: str, hours: float | None = None) -> pd.DataFrame:
        """A site's observations over the last ``hours`` (default: the config's trend
        window); empty when ``role`` may not see the site."""
        view = self.view(role)
        if site_id not in set(view.sites["id"]):
            return empty_observations()
        end = self.clock()
        start = end - timedelta(hours=hours or self.config.ui.trend_hours)
        return self.history.window([site_id], start, end + timedelta(minutes=1))

    def occupancy_around(
        self, role: str, site_id: str, metric: str, hours: float, radius_m: float = 150
    ) -> pd.DataFrame:
        """The hourly occupied share (%) of the bays ``role`` sees within ``radius_m`` of
        bay ``site_id`` over the last ``hours`` (``cockpit.twin.occupancy``); ``metric`` is
        the bays' 0/1 metric. Empty for a site ``role`` may not see."""
        view = self.view(role)
        ids = occupancy.bays_around(view.sites, site_id, radius_m)
        if not ids:
            return empty_observations()
        end = self.clock()
        frame = self.history.hourly(
            ids, end - timedelta(hours=hours), end + timedelta(minutes=1), metric=metric
        )
        return occupancy.occupancy_around(frame, metric, site_id)

    def _visible(self, role: str, site_ids: list[str]) -> list[str]:
        known = set(self.view(role).sites["id"].astype(str))
        return [s for s in site_ids if s in known]

    def observations(
        self, role: str, site_ids: list[str], start: datetime, end: datetime
    ) -> pd.DataFrame:
        """The observations of those of ``site_ids`` ``role`` may see, ``start <= time <
        end``."""
        return self.history.window(self._visible(role, site_ids), start, end)

    def hourly(
        self, role: str, site_ids: list[str], start: datetime, end: datetime
    ) -> pd.DataFrame:
        """Hourly means at those of ``site_ids`` ``role`` may see, ``start <= time < end``."""
        return self.history.hourly(self._visible(role, site_ids), start, end)

    def hourly_metric(self, role: str, metric: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Hourly means of ``metric`` at every site of its domain ``role`` may see."""
        sites = self.view(role).sites
        ids = set(sites.loc[sites["domain"] == METRICS[metric].domain, "id"].astype(str))
        return panels.hourly_metric(self.history, self.config, metric, start, end, ids)

    def alerts_at(self, role: str, moment: datetime) -> list[alert_rules.Alert]:
        """Every alert, open or closed, in the alert window before ``moment`` at the sites
        ``role`` sees: the built-in rules' and the city's own phone rules', as the history
        holds them (the alert board's evaluation, replayed). Kept once per moment."""
        sites = self.view(role).sites
        own = rules.phone_rules(self.rules())

        def make() -> list[alert_rules.Alert]:
            found = alert_rules.evaluate(self.config, self.history, sites, moment)
            if own:
                found += rules.evaluate_rules(own, self.config, self.history, sites, moment)
            return found

        question = ("alerts-at", int(moment.timestamp()))
        return self.answers.get(self.version(), role, question, make)

    def decision_effects(
        self, role: str, decision: Decision, days: int = 7, until: datetime | None = None
    ) -> list[tuple[str, BeforeAfter]]:
        """Each KPI of ``decision`` in the ``days`` before it and after it (up to
        ``until``, or now), against the usual, over the sites ``role`` may see
        (``cockpit.twin.baseline.before_after``)."""
        cfg = self.config
        sites = self.view(role).sites
        weeks = cfg.twin.baseline_weeks
        start = decision.effective - timedelta(days=days, weeks=weeks)
        end = min(decision.effective + timedelta(days=days), until or self.clock())
        out = []
        for key in decision.kpis:
            metric = DECISION_METRICS.get(key)
            if metric is None:
                continue
            ids = list(sites.loc[sites["domain"] == METRICS[metric].domain, "id"])
            frame = self.hourly_metric(role, metric, start, end)
            effect = before_after(
                frame, metric, ids, decision.effective, cfg.city.timezone, days, weeks
            )
            out.append((key, effect))
        return out

    def shared_cache(self) -> SharedCache:
        """The key-value cache every process of this cockpit shares (sessions, sign-in
        limits, the session-signing key)."""
        return self.store.cache

    # -- the twin's answers, each kept once per data version, role and question ----------
    def remember(
        self, view: CityView, question: Hashable, make: Callable[[], T], reuse_s: float = 0.0
    ) -> T:
        """What a page derives from ``view`` (e.g. a rendered panel), made once per data
        version, role and ``question`` and kept with the city's other answers."""
        return self.answers.get(view.version, view.role, ("page", question), make, reuse_s)

    def twin_at(self, moment: datetime | None, role: str) -> Twin:
        """Baselines, anomalies and KPI comparisons for ``role``: live when ``moment`` is
        None, else replayed at ``moment``. Baselines are read once per role and clock hour
        (new minutes of data hardly move weeks of history)."""
        at = moment or self.clock()
        hour = int(pd.Timestamp(at).floor("h").timestamp())
        view = self.view(role) if moment is None else self.view_at(role, moment)

        def make() -> Twin:
            base, anomalies = self.answers.get(
                view.version,
                role,
                ("twin-baselines", hour),
                lambda: panels.twin_baselines(self.history, self.config, view.sites, at),
                reuse_s=math.inf,
            )
            return panels.twin_of(self.config, view.latest, at, base, anomalies)

        question = ("twin", hour) if moment is None else ("twin-at", int(at.timestamp()))
        return self.answers.get(view.version, role, question, make)

    def district_shapes(self) -> tuple[DistrictShape, ...]:
        """The city's districts (the basemap's areas) as outlines ready to draw in 3D
        (``cockpit.geo.district_shapes``); none without a basemap that names its areas."""
        if not self.config.map.basemap or not self.config.map.basemap_label:
            return ()
        return district_shapes(
            str(self.config.resolve(self.config.map.basemap)), self.config.map.basemap_label
        )

    def districts(
        self, role: str, layer_id: str, moment: datetime | None = None
    ) -> tuple[Measure, list[DistrictFigure]] | None:
        """Map layer ``layer_id``'s figure per district (``cockpit.twin.districts``) as
        ``role`` sees it now (``moment`` None) or in the time machine at ``moment``, from
        the same view the 2D map draws, coloured against typical by the twin at that
        moment; None for a layer ``role`` may not see (or no such layer). Made once per
        data version, role, layer and moment."""
        view = self.view(role) if moment is None else self.view_at(role, moment)
        if layer_id not in view.layers:
            return None
        layer = self.config.layers[layer_id]

        def make() -> tuple[Measure, list[DistrictFigure]]:
            measure = measure_of(layer_id, layer.title, layer.domain, layer.metric)
            twin = self.twin_at(moment, role)
            stale = {s for s, info in view.sources.items() if info.stale}
            found = district_figures(
                view.layers[layer_id],
                view.sites,
                measure,
                typical_words(twin.states),
                stale_sources=stale,
                stale_sites=set(view.stale_streams["site_id"].astype(str)),
            )
            return measure, found

        at = None if moment is None else int(moment.timestamp())
        return self.answers.get(view.version, role, ("districts", layer_id, at), make)

    def hexagon_grid(self) -> Grid:
        """The 3D view's hexagon grid: ``twin.hexagon_km`` wide, centred on the city's
        districts (on its box without them) and holding every site in the city's box
        (``city.bbox``), so that sites outside the districts stand too."""
        shapes = self.district_shapes()
        size = self.config.twin.hexagon_km
        box = self.config.city.bbox
        lats = [v for s in shapes for v in s.lat]
        lons = [v for s in shapes for v in s.lon]
        if not lats:
            return Grid((box[1] + box[3]) / 2, (box[0] + box[2]) / 2, size, box)
        return Grid((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2, size, box)

    def columns(
        self, role: str, layer_id: str, moment: datetime | None = None
    ) -> tuple[Measure, HexLayer] | None:
        """Map layer ``layer_id``'s columns for the 3D view (``cockpit.twin.hexgrid``):
        one per site, or per hexagon once there are more than ``twin.max_columns``, as
        ``role`` sees the layer now (``moment`` None) or at ``moment``, from the same view
        the 2D map and the districts are made of; None for a layer ``role`` may not see
        (or no such layer). Made once per data version, role, layer and moment."""
        view = self.view(role) if moment is None else self.view_at(role, moment)
        if layer_id not in view.layers:
            return None
        layer = self.config.layers[layer_id]

        def make() -> tuple[Measure, HexLayer]:
            measure = measure_of(layer_id, layer.title, layer.domain, layer.metric)
            twin = self.twin_at(moment, role)
            found = columns(
                view.layers[layer_id],
                view.sites,
                measure,
                typical_words(twin.states),
                self.hexagon_grid(),
                self.config.twin.max_columns,
                stale_sources={s for s, info in view.sources.items() if info.stale},
                stale_sites=set(view.stale_streams["site_id"].astype(str)),
            )
            return measure, found

        at = None if moment is None else int(moment.timestamp())
        twin = self.config.twin
        question = ("columns", layer_id, at, twin.hexagon_km, twin.max_columns)
        return self.answers.get(view.version, role, question, make)

    def alert_board(self, role: str) -> Board:
        """Open alerts and sensor health of the sites ``role`` sees. After new data it is
        made again at most every ``BOARD_REFRESH_S`` seconds, in the background, while
        the previous board is given; the evaluation is deterministic from the history, so
        a new board keeps the alerts' keys."""
        view = self.view(role)
        own = rules.phone_rules(self.rules())
        # A rule written or switched on the /rules page shows with the next board.
        written = hashlib.sha256(
            "\n".join(f"{r.id} {r.spec.model_dump_json()}" for r in own).encode()
        ).hexdigest()[:16]
        return self.answers.get(
            view.version,
            role,
            ("alert-board", written),
            lambda: panels.alert_board(
                self.config, self.history, view.sites, view.fresh, self.clock(), own
            ),
            reuse_s=BOARD_REFRESH_S,
            background=True,
        )

    def ranked_alerts(self, role: str) -> list[alert_rules.Alert]:
        """The open alerts ``role`` sees (``alert_board``), the most severe first
        (``cockpit.twin.alerts.ranked``): threshold alerts and sensor faults together."""
        return alert_rules.ranked(self.alert_board(role).alerts)

    def targets_and_co2(
        self, role: str, moment: datetime | None = None
    ) -> tuple[list[TargetProgress], Co2Estimate | None]:
        """KPI target progress and the road-traffic CO₂ estimate of the day before, over
        the sources and sites ``role`` may see: now (read once per quarter hour), or in
        the time machine as they stood when ``moment``'s day began (read once per
        replayed day: they are means over days, and a replay steps through many
        moments of each)."""
        now = self.clock() if moment is None else _day_start(moment, self.config.city.timezone)
        view = self.view(role)

        def make() -> tuple[list[TargetProgress], Co2Estimate | None]:
            visible = set(self.visible_sources(role))
            ids = set(view.sites["id"].astype(str))
            return panels.targets_and_co2(self.history, self.config, visible, ids, now)

        question = ("targets", _quarter(now), moment is not None)
        return self.answers.get(view.version, role, question, make, reuse_s=math.inf)

    def needs_attention(
        self, role: str, moment: datetime | None = None, limit: int = 3
    ) -> list[AttentionItem]:
        """The places that need attention now (or at ``moment``), at most ``limit``,
        ranked (``cockpit.twin.attention``): today's anomalies at the sites ``role`` sees,
        without the sites whose sensors are faulty, which sensor health lists instead."""
        state = self.twin_at(moment, role)
        view = self.view(role) if moment is None else self.view_at(role, moment)
        return attention.needs_attention(
            state.anomalies, view.sites, self.faulty_sites(role, moment), limit
        )

    def faulty_sites(self, role: str, moment: datetime | None = None) -> set[str]:
        """Ids of the sites ``role`` sees whose sensors sensor health flags as faulty now
        (flat, impossible, a stale stream): their readings are sensor health's news, not
        anomalies. Sensor health is of now, so a replayed ``moment`` has none."""
        if moment is not None:
            return set()
        return {h.site_id for h in self.sensor_health(role) if h.problems}

    def backtest_rule(self, role: str, rule: rules.Rule) -> rules.Backtest:
        """What ``rule`` would have done over the last week at the sites ``role`` sees,
        from the history ("would have fired N times last week")."""
        return rules.backtest(rule, self.config, self.history, self.view(role).sites, self.clock())

    def sensor_health(self, role: str) -> list[sensor_health.SiteHealth]:
        """The health of each sensor ``role`` sees, read once per quarter hour."""
        now = self.clock()
        view = self.view(role)
        return self.answers.get(
            view.version,
            role,
            # A stream that died since is named at once, not at the next quarter hour.
            ("sensor-health", _quarter(now), _streams_key(view.stale_streams)),
            lambda: _with_stale_streams(
                sensor_health.read_health(self.history, view.sites, now, self.config.alerts),
                view.stale_streams,
                self.config.city.timezone,
            ),
            reuse_s=math.inf,
        )

    def site_pairs(self, role: str) -> pd.DataFrame:
        """Traffic sites paired with their nearest air station (``cockpit.twin.crossdomain``)
        among the sites ``role`` sees."""
        view = self.view(role)
        return self.answers.get(
            view.version,
            role,
            ("site-pairs",),
            lambda: crossdomain.pair_sites(view.sites, self.config.twin.max_pair_km),
            reuse_s=math.inf,
        )

    def forecast_roles(self) -> set[str]:
        """The roles whose viewers have asked for a site's forecast since this process
        started: the warm-up makes the city's forecast of each new hour for them."""
        return set(self._forecast_roles)

    def forecasts(self, role: str) -> pd.DataFrame:
        """The next hours of every site ``role`` may see (``panels.city_forecast``), made
        once per role and clock hour: its model learns from weeks of every site's history,
        which new minutes hardly change. The warm-up makes it before anyone asks."""
        view = self.view(role)
        now = self.clock()
        return self.answers.get(
            view.version,
            role,
            _forecast_question(now),
            lambda: panels.city_forecast(self.history, self.config, view.latest, now),
            reuse_s=math.inf,
        )

    def site_forecast(self, role: str, site_id: str) -> pd.DataFrame | None:
        """The next hours of a site ``role`` may see, from the city's forecast of this
        hour (``forecasts``; empty where the site has too little history); None for a site
        ``role`` may not see. Until the warm-up has made this hour's (from the first ask of
        ``role`` on, ``forecast_roles``), the site's own hours answer alone
        (``panels.site_forecast``, None without history): a click never waits for the whole
        city's model."""
        if not self._visible(role, [site_id]):
            return None
        self._forecast_roles.add(role)
        now = self.clock()
        kept: pd.DataFrame | None = self.answers.kept(role, _forecast_question(now))
        if kept is None:
            return panels.site_forecast(self.history, self.config, site_id, now)
        return kept[kept["site_id"] == site_id].reset_index(drop=True)

    def free_bays_forecast(
        self, role: str, site_id: str, at: datetime, radius_m: float = 300
    ) -> FreeBays | None:
        """Free places expected at ``at`` within ``radius_m`` of parking site ``site_id``,
        from the parking sites ``role`` may see; None for a site it may not see or
        without enough history."""
        view = self.view(role)
        sites = view.sites.set_index("id")
        if site_id not in sites.index:
            return None
        site = cast(pd.Series, sites.loc[site_id])  # site ids are unique
        lat, lon = float(site["lat"]), float(site["lon"])
        return self.answers.get(
            view.version,
            role,
            ("free-bays", site_id, int(at.timestamp()), radius_m),
            lambda: panels.free_bays(
                self.history, self.config, view.sites, lat, lon, radius_m, at, self.clock()
            ),
        )

    def health(self, role: str = "public") -> dict[str, Any]:
        """Each source's status, last success and age, for kiosks' watchdogs and load
        balancers (no data values, no secrets); with each source's streams whose newest
        observation is older than its stream limit (``stale_streams``: their count and
        at most ``STALE_STREAMS_SHOWN`` of them by site name and metric, of the sites
        ``role`` may see)."""
        now = self.clock()
        sources = {
            s: self.store.status(s).as_json(now, cfg.stale_after_seconds)
            for s, cfg in self.config.sources.items()
        }
        for entry in sources.values():
            entry.pop("notes", None)
        for source, streams in _stale_by_source(self.view(role)).items():
            if source in sources:
                sources[source]["stale_streams"] = streams
        return {
            "city": self.config.city.name,
            "status": overall_status(sources.values()),
            "version": self.version(),
            "time": now.isoformat(),
            "sources": sources,
        }


# At most this many stale streams are named per source on /health (all are counted).
STALE_STREAMS_SHOWN: Final = 20


def _stale_by_source(view: CityView) -> dict[str, dict[str, Any]]:
    """Source id -> ``{"count": n, "streams": ["<site name> · <metric>", …]}`` of the
    view's stale streams (names capped at ``STALE_STREAMS_SHOWN``, sorted)."""
    stale = view.stale_streams
    if stale.empty:
        return {}
    joined = stale.merge(view.sites[["id", "name", "source"]], left_on="site_id", right_on="id")
    out: dict[str, dict[str, Any]] = {}
    for source, own in joined.groupby("source", sort=True):
        names = sorted(f"{n} · {m}" for n, m in zip(own["name"], own["metric"], strict=True))
        out[str(source)] = {"count": len(names), "streams": names[:STALE_STREAMS_SHOWN]}
    return out


def _streams_key(stale: pd.DataFrame) -> int:
    return hash(tuple(zip(stale["site_id"].astype(str), stale["metric"].astype(str), strict=True)))


def _with_stale_streams(
    health: list[sensor_health.SiteHealth], stale: pd.DataFrame, timezone: str
) -> list[sensor_health.SiteHealth]:
    """``health`` with each site that has a stale stream flagged ``stale_stream`` and the
    streams named in its detail."""
    if stale.empty:
        return health
    details = freshness.stale_detail(stale, timezone)
    since = stale.groupby("site_id")["time"].min()
    out = []
    for item in health:
        detail = details.get(item.site_id)
        if detail is None:
            out.append(item)
            continue
        joined = "; ".join(p for p in (item.detail, detail) if p)
        out.append(
            replace(
                item,
                problems=(*item.problems, "stale_stream"),
                since=item.since or pd.Timestamp(since[item.site_id]).to_pydatetime(),
                detail=joined,
            )
        )
    return out


def overall_status(entries: Iterable[dict[str, Any]]) -> str:
    """The worst of the sources' ``status`` in ``entries``: ``down``, else ``stale``, else
    ``ok`` (also for no sources at all)."""
    worst = "ok"
    for entry in entries:
        if entry["status"] == "down" or (entry["status"] == "stale" and worst == "ok"):
            worst = entry["status"]
    return worst


def _day_start(moment: datetime, timezone: str) -> datetime:
    """The start of ``moment``'s day on the city's wall clock, in UTC."""
    local = pd.Timestamp(moment).tz_convert(timezone).normalize()
    return cast(datetime, local.tz_convert("UTC").to_pydatetime())


def _quarter(now: datetime) -> int:
    return int(pd.Timestamp(now).floor("15min").timestamp())


def _layer_metrics(metric: str) -> tuple[str, ...]:
    """The observed metrics a layer's state is computed from."""
    return ("pm25", "pm10", "no2", "o3") if metric == "eaqi" else (metric,)


def _limits(conf: Any, warn: float | None, alert: float | None) -> dict[str, Any]:
    return {
        "warn": conf.warn if conf and conf.warn is not None else warn,
        "alert": conf.alert if conf and conf.alert is not None else alert,
    }


def _attach(item: kpi.Kpi, sources: list[str]) -> kpi.Kpi:
    item.sources = sources
    return item


def _origin(recorded: Any, sites: pd.DataFrame | None) -> str:
    origins = set(sites["origin"]) if sites is not None and not sites.empty else set()
    when = f"{recorded}, " if recorded else ""
    if origins == {"simulated"}:
        return f"simulated (from {recorded})" if recorded else "simulated"
    if origins == {"replayed"}:
        return f"{when}replayed"
    if origins == {"replayed", "simulated"}:
        n = int((sites["origin"] == "simulated").sum()) if sites is not None else 0
        return f"{when}replayed; {n} sites simulated"
    return "measured"
