"""The state of each site on the map: a level for its colour and a word for people.

Colours alone never carry the state: every state also has a label (and the map an icon
shape), so the map reads for colour-blind people too.
"""

from __future__ import annotations

import pandas as pd

from cockpit.config import LayerConfig
from cockpit.twin.airindex import band_label, band_of

__all__ = ["LEVELS", "site_states"]

# Ordered from calm to urgent; the map's palette (colour-blind safe) follows this order.
LEVELS = ("ok", "warn", "alert")


def _level(position: int, count: int) -> str:
    if count <= 1:
        return "ok"
    if position == 0:
        return "ok"
    return "alert" if position == count - 1 else "warn"


def site_states(latest: pd.DataFrame, layer: LayerConfig) -> pd.DataFrame:
    """One row per site of ``latest`` with the layer's metric: site_id, metric, value,
    unit, time, state (a label such as "busy") and level (ok / warn / alert).

    For the ``eaqi`` layer the state is the European AQI band of the site's worst
    pollutant, and the value shown is that pollutant's concentration.
    """
    if layer.metric == "eaqi":
        obs = latest[latest["metric"].isin(["pm25", "pm10", "no2", "o3"])].copy()
        if obs.empty:
            return _empty()
        obs["band"] = [band_of(m, v) for m, v in zip(obs["metric"], obs["value"], strict=True)]
        obs = obs.dropna(subset=["band"]).sort_values(["band", "value"])
        worst = obs.groupby("site_id", sort=False).tail(1).copy()
        worst["state"] = worst["band"].map(lambda b: band_label(int(b)))
        worst["level"] = worst["band"].map(
            lambda b: "ok" if b <= 1 else "warn" if b == 2 else "alert"
        )
        return worst[_COLUMNS].reset_index(drop=True)
    obs = latest[latest["metric"] == layer.metric].copy()
    if obs.empty:
        return _empty()
    obs = obs.sort_values("time").groupby("site_id", sort=False).tail(1)
    position = pd.Series(
        pd.cut(
            obs["value"],
            [-float("inf"), *layer.thresholds, float("inf")],
            labels=False,
            right=False,
        ),
        index=obs.index,
    ).astype(int)
    obs["state"] = position.map(lambda i: layer.labels[i])
    obs["level"] = position.map(lambda i: _level(i, len(layer.labels)))
    return obs[_COLUMNS].reset_index(drop=True)


_COLUMNS = ["site_id", "metric", "value", "unit", "time", "state", "level"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=_COLUMNS)
