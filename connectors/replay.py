"""The demo city's platform: real Melbourne recordings replayed as live, plus a seeded
simulator where no recording exists.

Each dataset is read once from the files shipped under ``cities/demo-melbourne/``:

- ``pedestrians``: City of Melbourne pedestrian counts per hour (May 2025), replayed;
- ``traffic``: VicRoads SCATS 15-minute volumes at signalised intersections (Oct 2006),
  summed over a site's approaches, replayed;
- ``air``: EPA Victoria hourly averages at Alphington (2024), replayed; the other EPA
  stations inside the city get a simulated series shaped like Alphington's;
- ``parking``: City of Melbourne's on-street bays with their real status snapshot
  (exported in 2025); how they change over the day is simulated.

Replayed values play at the same weekday and hour as recorded (``connectors.replay_clock``).
Sites say ``origin`` replayed or simulated, so nothing simulated is shown as measured.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from cockpit.errors import ConnectorError
from cockpit.model import empty_observations, observations_frame, sites_frame
from cockpit.source import Connector, SourceContext
from connectors.replay_clock import ReplayClock
from connectors.units import canonical_unit_factor

__all__ = ["MelbourneReplay", "occupancy_profile"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_RECORDINGS: dict[tuple[str, str, int], Recording] = {}


@dataclass(frozen=True)
class Recording:
    """Sites and their recorded observations; ``recorded`` holds wall-clock times."""

    sites: pd.DataFrame
    observations: pd.DataFrame  # site_id, metric, recorded (naive local), value
    clock: ReplayClock


class MelbourneReplay(Connector):
    """Connector for the embedded demo city. ``options.dataset`` picks the dataset and
    ``options.files`` names its files, relative to the city config's folder."""

    def __init__(self, context: SourceContext) -> None:
        super().__init__(context)
        options = context.config.options
        self.dataset = str(options.get("dataset", ""))
        if self.dataset not in _LOADERS and self.dataset != "parking":
            raise ConnectorError(self.source_id, f"unknown demo dataset {self.dataset!r}")
        self.files = {k: context.base_dir / v for k, v in dict(options.get("files", {})).items()}
        self.seed = int(options.get("seed", 2025))
        # How far back "latest" looks for a site's newest value (its reporting interval).
        self.lookback = pd.Timedelta(hours=float(options.get("latest_lookback_hours", 3)))
        self.clock_now: Any = None  # tests may pin the replay clock

    def _now(self) -> pd.Timestamp:
        now = self.clock_now() if callable(self.clock_now) else pd.Timestamp.now(tz="UTC")
        return pd.Timestamp(now).tz_convert("UTC")

    def _recording(self) -> Recording:
        key = (self.source_id, str(sorted(self.files.items())), self.seed)
        with _LOCK:
            if key not in _RECORDINGS:
                _RECORDINGS[key] = self._load()
            return _RECORDINGS[key]

    def _load(self) -> Recording:
        try:
            if self.dataset == "parking":
                return _load_parking(self)
            return _LOADERS[self.dataset](self)
        except (OSError, ValueError, KeyError) as exc:
            raise ConnectorError(self.source_id, f"cannot read demo recording: {exc}") from exc

    def discover_sites(self) -> pd.DataFrame:
        return self._recording().sites

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        rec = self._recording()
        t0, t1 = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
        if self.dataset == "parking":
            frame = _simulate_parking(rec, t0, t1, self.seed)
        else:
            frame = _replay_window(rec, t0, t1)
        frame = frame[frame["site_id"].isin(sites["id"])]
        return observations_frame(frame) if not frame.empty else empty_observations()

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        now = self._now()
        window = self.read_window(sites, now - self.lookback, now + pd.Timedelta(seconds=1))
        if window.empty:
            return window
        window = window.sort_values("time")
        return window.groupby(["site_id", "metric"], sort=False).tail(1).reset_index(drop=True)


def _replay_window(rec: Recording, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    obs = rec.observations
    parts = []
    for lap in rec.clock.laps_between(start, end):
        times = rec.clock.played_at(obs["recorded"], lap)
        mask = ((times >= start) & (times < end)).to_numpy()
        if mask.any():
            part = obs.loc[mask, ["site_id", "metric", "value"]].copy()
            part["time"] = times[mask].to_numpy()
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["site_id", "metric", "time", "value"])
    return pd.concat(parts, ignore_index=True)


def _sites(records: pd.DataFrame, source: str, domain: str, kind: str, origin: Any) -> pd.DataFrame:
    frame = records.assign(source=source, domain=domain, kind=kind, access="public", origin=origin)
    frame["id"] = source + ":" + frame["native_id"].astype(str)
    return sites_frame(frame)


def _finish(sites: pd.DataFrame, obs: pd.DataFrame, timezone: str) -> Recording:
    obs = obs.dropna(subset=["value"])
    clock = ReplayClock.for_recording(obs["recorded"].min(), obs["recorded"].max(), timezone)
    # Values are stamped at the end of their interval: the one stamped at the end of the
    # cycle belongs at the start of the next lap, where nothing else is stamped.
    end = clock.start + clock.cycle
    if not (obs["recorded"] == clock.start).any():
        obs.loc[obs["recorded"] == end, "recorded"] = clock.start
    obs = obs[clock.in_recording(obs["recorded"])].reset_index(drop=True)
    return Recording(sites=sites, observations=obs, clock=clock)


def _load_pedestrians(conn: MelbourneReplay) -> Recording:
    """Wide monthly counts (one column per sensor description) joined to sensor locations."""
    wide = pd.read_csv(conn.files["counts"], na_values=["na", "undefined"], low_memory=False)
    locations = pd.read_csv(conn.files["locations"], sep=";")

    def key(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum())

    by_key = {
        key(d): row for row in locations.itertuples() for d in [cast(str, row.sensor_description)]
    }
    columns = [c for c in wide.columns if c not in ("Date", "Hour") and key(c) in by_key]
    skipped = len(wide.columns) - 2 - len(columns)
    if skipped:
        log.info("pedestrians: %d count series have no location and are left out", skipped)
    records = pd.DataFrame(
        {
            "native_id": [by_key[key(c)].location_id for c in columns],
            "name": columns,
            "lat": [by_key[key(c)].latitude for c in columns],
            "lon": [by_key[key(c)].longitude for c in columns],
            "attributes": [
                {
                    "sensor": by_key[key(c)].sensor_name,
                    "installed": by_key[key(c)].installation_date,
                }
                for c in columns
            ],
        }
    )
    sites = _sites(records, conn.source_id, "pedestrians", "counter", "replayed")
    hour_end = pd.to_datetime(wide["Date"], format="%d/%m/%Y") + pd.to_timedelta(
        wide["Hour"] + 1, unit="h"
    )
    long = wide[columns].set_axis(list(sites["id"]), axis=1).assign(recorded=hour_end)
    long = long.melt(id_vars="recorded", var_name="site_id", value_name="value")
    # A count covers the hour before its time stamp, so it is a rate in persons per hour.
    long["metric"] = "pedestrians"
    return _finish(sites, long, conn.context.timezone)


def _road_name(text: str) -> str:
    words = str(text).replace("_", " ").split()
    return " ".join(w.capitalize() if len(w) > 2 else w.upper() for w in words)


def _load_traffic(conn: MelbourneReplay) -> Recording:
    """SCATS 15-minute volumes per approach, summed per intersection."""
    raw = pd.read_csv(conn.files["volumes"], skiprows=1, encoding="utf-8-sig", dtype={0: str})
    volume_cols = [f"V{i:02d}" for i in range(96)]
    raw = raw.dropna(subset=["SCATS Number", "Date"])
    first = raw.groupby("SCATS Number").agg(
        location=("Location", "first"), lat=("NB_LATITUDE", "mean"), lon=("NB_LONGITUDE", "mean")
    )
    names = first["location"].str.split(" of ", n=1, regex=False)
    first["name"] = [
        f"{_road_name(p[0].rsplit(' ', 1)[0])} / {_road_name(p[1])}" if len(p) == 2 else p[0]
        for p in names
    ]
    records = first.reset_index().rename(columns={"SCATS Number": "native_id"})
    # A column of dicts: pandas-stubs allow only scalars in a list.
    records["attributes"] = [{"scats_site": n} for n in records["native_id"]]  # type: ignore[assignment]
    sites = _sites(records, conn.source_id, "traffic", "intersection", "replayed")
    per_site = raw.groupby(["SCATS Number", "Date"], sort=False)[volume_cols].sum().reset_index()
    long = per_site.melt(id_vars=["SCATS Number", "Date"], var_name="bin", value_name="value")
    day = pd.to_datetime(long["Date"], format="%d/%m/%Y")
    bin_index = long["bin"].str[1:].astype(int)
    # A volume counted over 15 minutes, times four, is a flow in vehicles per hour; its
    # time stamp is the end of the 15 minutes.
    long["recorded"] = day + pd.to_timedelta((bin_index + 1) * 15, unit="min")
    long["value"] = long["value"] * 4.0
    long["site_id"] = conn.source_id + ":" + long["SCATS Number"].astype(str)
    long["metric"] = "vehicle_flow"
    return _finish(sites, long[["site_id", "metric", "recorded", "value"]], conn.context.timezone)


# EPA Victoria reports NO2 and O3 in ppb and particles in µg/m³ (report metadata).
_EPA_COLUMNS = {
    "NO2": ("no2", "ppb"),
    "O3": ("o3", "ppb"),
    "PM10": ("pm10", "µg/m³"),
    "PM25": ("pm25", "µg/m³"),
}


def _load_air(conn: MelbourneReplay) -> Recording:
    """Alphington's real hourly series; other stations in the city simulated from it."""
    stations = pd.read_csv(conn.files["stations"])
    series = pd.read_csv(conn.files["series"], parse_dates=["datetime_local"])
    recorded_id = int(conn.context.config.options.get("recorded_station", 10001))
    bbox = conn.context.bbox
    if bbox is not None:
        inside = stations["longitude"].between(bbox[0], bbox[2]) & stations["latitude"].between(
            bbox[1], bbox[3]
        )
        stations = stations[inside]
    records = stations.rename(
        columns={
            "location_id": "native_id",
            "location_name": "name",
            "latitude": "lat",
            "longitude": "lon",
        }
    )
    # A column of dicts: pandas-stubs allow only scalars in a list.
    records["attributes"] = [{"epa_site": int(n)} for n in records["native_id"]]  # type: ignore[assignment]
    origin = np.where(records["native_id"] == recorded_id, "replayed", "simulated")
    sites = _sites(
        records[["native_id", "name", "lat", "lon", "attributes"]],
        conn.source_id,
        "air",
        "station",
        origin,
    )
    parts = []
    for column, (metric_name, unit) in _EPA_COLUMNS.items():
        factor = canonical_unit_factor(metric_name, unit)
        values = series[column].to_numpy(dtype=float) * factor
        parts.append(
            pd.DataFrame(
                {"recorded": series["datetime_local"], "metric": metric_name, "value": values}
            )
        )
    base = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(conn.seed)
    frames = []
    for native_id in records["native_id"]:
        frame = base.assign(site_id=f"{conn.source_id}:{native_id}")
        if native_id != recorded_id:
            # Same weather and daily rhythm as Alphington, a station's own level and noise.
            level = rng.uniform(0.7, 1.3)
            noise = np.exp(rng.normal(0.0, 0.15, len(frame)))
            frame = frame.assign(value=frame["value"] * level * noise)
        frames.append(frame)
    return _finish(sites, pd.concat(frames, ignore_index=True), conn.context.timezone)


_LOADERS = {"pedestrians": _load_pedestrians, "traffic": _load_traffic, "air": _load_air}


# Share of on-street bays occupied by weekday (Mon=0) and hour, as a shape; scaled so
# that it meets the real snapshot's share at the snapshot's weekday and hour.
_WEEKDAY_SHAPE = np.array(
    [
        0.30,
        0.25,
        0.22,
        0.22,
        0.24,
        0.30,
        0.45,
        0.62,
        0.80,
        0.92,
        0.97,
        1.00,
        1.00,
        0.98,
        0.95,
        0.92,
        0.88,
        0.85,
        0.78,
        0.70,
        0.62,
        0.52,
        0.42,
        0.35,
    ]
)
_WEEKEND_SHAPE = np.array(
    [
        0.40,
        0.35,
        0.30,
        0.28,
        0.26,
        0.26,
        0.30,
        0.38,
        0.50,
        0.65,
        0.78,
        0.85,
        0.88,
        0.88,
        0.85,
        0.80,
        0.75,
        0.72,
        0.70,
        0.68,
        0.62,
        0.55,
        0.48,
        0.42,
    ]
)


def occupancy_profile(weekday: np.ndarray, hour: np.ndarray, level: float) -> np.ndarray:
    """Expected share of occupied bays at local ``weekday`` / ``hour``, peaking at ``level``."""
    shape = np.where(weekday >= 5, _WEEKEND_SHAPE[hour], _WEEKDAY_SHAPE[hour])
    return np.clip(shape * level, 0.0, 1.0)


def _load_parking(conn: MelbourneReplay) -> Recording:
    raw = pd.read_csv(conn.files["bays"], encoding="utf-8-sig")
    latlon = raw["Location"].str.split(",", n=1, expand=True).astype(float)
    status_time = pd.to_datetime(raw["Status_Timestamp"], utc=True)
    occupied = (raw["Status_Description"] == "Present").astype(float)
    records = pd.DataFrame(
        {
            "native_id": raw["KerbsideID"].astype(str),
            "name": "Bay " + raw["KerbsideID"].astype(str),
            "lat": latlon[0],
            "lon": latlon[1],
            "attributes": [
                {"zone": str(z), "snapshot_state": s, "snapshot_time": t.isoformat()}
                for z, s, t in zip(
                    raw["Zone_Number"], raw["Status_Description"], status_time, strict=True
                )
            ],
        }
    )
    sites = _sites(records, conn.source_id, "parking", "bay", "simulated")
    # Calibrate at the export time most rows share: that is when the snapshot was taken.
    exported = pd.to_datetime(raw["Lastupdated"], utc=True).mode().iloc[0]
    snap_local = exported.tz_convert(conn.context.timezone)
    shape_then = occupancy_profile(
        np.array([snap_local.weekday()]), np.array([snap_local.hour]), 1.0
    )[0]
    level = float(occupied.mean() / shape_then)
    obs = pd.DataFrame(
        {
            "site_id": sites["id"],
            "bias": np.where(occupied > 0, 0.15, -0.15),
            "recorded": pd.NaT,
            "metric": "bay_occupied",
            "value": occupied,
        }
    )
    clock = ReplayClock(
        start=pd.Timestamp("2025-03-24"), cycle=pd.Timedelta(days=7), timezone=conn.context.timezone
    )
    obs.attrs["level"] = level
    return Recording(sites=sites, observations=obs, clock=clock)


def _uniform(a: np.ndarray, b: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic uniforms in [0, 1) from integer pairs (a splitmix64 hash)."""
    salt = np.uint64((seed * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF)
    x = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (b.astype(np.uint64) + salt)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _simulate_parking(
    rec: Recording, start: pd.Timestamp, end: pd.Timestamp, seed: int
) -> pd.DataFrame:
    """Each bay may change state once an hour, at its own minute; the chance it is occupied
    follows the city's daily profile, nudged by the bay's real snapshot state."""
    bays = rec.observations
    n = len(bays)
    bay_index = np.arange(n)
    offset_min = (_uniform(bay_index, np.zeros(n), seed) * 60).astype(np.int64)
    first_hour = int(start.floor("h").timestamp() // 3600) - 1
    last_hour = int(end.ceil("h").timestamp() // 3600)
    hours = np.arange(first_hour, last_hour + 1)
    hh, bb = np.meshgrid(hours, bay_index, indexing="ij")
    seconds = hh.ravel() * 3600 + offset_min[bb.ravel()] * 60
    times = pd.to_datetime(seconds, unit="s", utc=True)
    mask = (times >= start) & (times < end)
    local = times[mask].tz_convert(rec.clock.timezone)
    b = bb.ravel()[mask]
    p = occupancy_profile(local.day_of_week.to_numpy(), local.hour.to_numpy(), bays.attrs["level"])
    p = np.clip(p + bays["bias"].to_numpy()[b], 0.02, 0.98)
    state = (_uniform(b, hh.ravel()[mask], seed + 1) < p).astype(float)
    return pd.DataFrame(
        {
            "site_id": bays["site_id"].to_numpy()[b],
            "metric": "bay_occupied",
            "time": times[mask],
            "value": state,
        }
    )
