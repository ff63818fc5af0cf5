"""Traffic sites paired with air stations, and their correlations, on constructed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cockpit.model import observations_frame, sites_frame
from cockpit.twin.crossdomain import correlation, pair_comparison, pair_sites


def sites() -> pd.DataFrame:
    def site(i: str, domain: str, lat: float, lon: float) -> dict[str, object]:
        return {"id": i, "name": i.upper(), "domain": domain, "lat": lat, "lon": lon,
                "source": i.split(":")[0]}  # fmt: skip

    return sites_frame(
        [
            site("traffic:a", "traffic", -37.8100, 144.9600),
            site("traffic:b", "traffic", -37.8500, 144.9900),
            site("traffic:far", "traffic", -37.6000, 145.3000),
            site("air:near-a", "air", -37.8110, 144.9600),  # about 111 m south of a
            site("air:near-b", "air", -37.8400, 144.9900),  # about 1.11 km north of b
            site("pedestrians:x", "pedestrians", -37.8100, 144.9601),
        ]
    )


def test_each_traffic_site_gets_its_nearest_station_within_the_limit() -> None:
    pairs = pair_sites(sites(), max_km=2.0)
    assert pairs["traffic_site"].tolist() == ["traffic:a", "traffic:b"]
    assert pairs["air_site"].tolist() == ["air:near-a", "air:near-b"]
    assert pairs["distance_km"].tolist() == pytest.approx([0.111, 1.112], abs=0.005)
    assert pairs["air_name"].tolist() == ["AIR:NEAR-A", "AIR:NEAR-B"]
    tight = pair_sites(sites(), max_km=0.5)
    assert tight["traffic_site"].tolist() == ["traffic:a"]
    assert pair_sites(sites()[sites()["domain"] != "air"]).empty


def test_pair_comparison_lines_up_hours_and_correlates() -> None:
    hours = pd.date_range("2026-11-23", periods=48, freq="h", tz="UTC")
    flow = 1000 + 800 * np.sin(np.arange(48) / 48 * 4 * np.pi) + 0.37 * np.arange(48)
    rows = []
    for t, f in zip(hours, flow, strict=True):
        for minute in (0, 30):  # two readings an hour: the hourly mean is f
            rows.append(("traffic:a", "vehicle_flow", t + pd.Timedelta(minutes=minute), f))
        rows.append(("air:near-a", "no2", t, 0.02 * f + 5))  # exactly linear
        rows.append(("air:near-a", "pm25", t, 60 - 0.01 * f))  # exactly opposite
        rows.append(("air:near-a", "pm10", t, (f / 100) ** 3))  # monotone, not linear
    frame = observations_frame(pd.DataFrame(rows, columns=["site_id", "metric", "time", "value"]))
    got = pair_comparison(
        frame, "traffic:a", "air:near-a", hours[0], hours[-1] + pd.Timedelta(hours=1)
    )
    assert len(got.frame) == 48
    assert got.frame["vehicle_flow"].to_numpy() == pytest.approx(flow)
    no2, pm25, pm10 = (got.correlations[m] for m in ("no2", "pm25", "pm10"))
    assert no2.pearson == pytest.approx(1.0) and no2.spearman == pytest.approx(1.0)
    assert pm25.pearson == pytest.approx(-1.0) and pm25.spearman == pytest.approx(-1.0)
    assert pm10.spearman == pytest.approx(1.0)
    assert pm10.pearson is not None and pm10.pearson < 0.99
    assert no2.n == 48
    short = pair_comparison(frame, "traffic:a", "air:near-a", hours[0], hours[4])
    assert short.correlations["no2"].pearson is None and short.correlations["no2"].n == 4


def test_correlation_needs_variation() -> None:
    flat = correlation(pd.Series([1.0] * 10), pd.Series(range(10), dtype=float))
    assert flat.pearson is None and flat.n == 10
