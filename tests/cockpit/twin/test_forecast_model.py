"""The fitted forecast model on recorded pedestrian counts (Melbourne, May 2025): it beats
the seasonal profile on days it was not fitted on and its 80 % band holds about 80 % of
them; ``forecast`` uses it once two weeks of history allow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.model import observations_frame
from cockpit.twin import forecast_model
from cockpit.twin.baseline import profile
from cockpit.twin.forecast import forecast

RECORDED = (
    Path(__file__).resolve().parents[3]
    / "cities/demo-melbourne/pedestrian-counts-hourly-wide_May_2025.csv"
)
TZ = "Australia/Melbourne"


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    """The recorded hourly counts as an hourly table (hours × (site_id, metric))."""
    wide = pd.read_csv(RECORDED, na_values=["na", "undefined"])
    hours = pd.to_datetime(wide.pop("Date"), format="%d/%m/%Y") + pd.to_timedelta(
        wide.pop("Hour"), unit="h"
    )
    wide.index = pd.DatetimeIndex(hours)
    wide = wide.loc[:, wide.notna().mean() > 0.9].sort_index()
    wide.columns = pd.MultiIndex.from_tuples(
        [(f"pedestrians:{c}", "pedestrians") for c in wide.columns], names=["site_id", "metric"]
    )
    return wide.reindex(pd.date_range(wide.index[0], wide.index[-1], freq="h"))


def test_fitted_model_beats_the_profile_and_its_band_is_calibrated(counts: pd.DataFrame) -> None:
    index = pd.DatetimeIndex(counts.index)
    median, _, _ = profile(counts, index, weeks=2, min_weeks=2)
    base, deviation = forecast_model.deviations(counts, median)
    metrics = counts.columns.get_level_values("metric")
    split = index[0] + pd.Timedelta(days=24)
    train = np.asarray(index < split)
    test = np.asarray(index >= split)
    model = forecast_model.fit(deviation, metrics, train, (1, 3))
    actual = counts.to_numpy(float)[test]
    seasonal = median.to_numpy(float)[test]
    for horizon in (1, 3):
        expected, low, high = forecast_model.predict(model, deviation, metrics, horizon)
        value = forecast_model.from_log(base + expected, metrics)[test]
        lo = forecast_model.from_log(base + low, metrics)[test]
        hi = forecast_model.from_log(base + high, metrics)[test]
        ok = ~np.isnan(actual) & ~np.isnan(seasonal)
        assert ok.sum() > 5_000
        model_mae = np.abs(value - actual)[ok].mean()
        seasonal_mae = np.abs(seasonal - actual)[ok].mean()
        assert model_mae < 0.8 * seasonal_mae  # at least 20 % better
        coverage = ((actual >= lo) & (actual <= hi))[ok].mean()
        assert 0.75 <= coverage <= 0.85, coverage


def test_a_metric_with_too_little_history_is_not_fitted(counts: pd.DataFrame) -> None:
    index = pd.DatetimeIndex(counts.index)
    median, _, _ = profile(counts, index, weeks=2, min_weeks=2)
    _, deviation = forecast_model.deviations(counts, median)
    metrics = counts.columns.get_level_values("metric")
    one_hour = np.asarray(index == index[-1])
    model = forecast_model.fit(deviation[:, :1], metrics[:1], one_hour, (1,))
    assert not model.knows("pedestrians", 1)
    expected, _, _ = forecast_model.predict(model, deviation[:, :1], metrics[:1], 1)
    assert np.isnan(expected).all()


def test_forecast_uses_the_fitted_model_once_history_allows(counts: pd.DataFrame) -> None:
    column = counts.columns[0]
    series = counts[column].dropna()
    times = series.index.tz_localize(TZ, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
    frame = observations_frame(
        pd.DataFrame(
            {"site_id": column[0], "metric": "pedestrians", "time": times, "value": series}
        ).dropna(subset=["time"])
    )
    now = pd.Timestamp("2025-05-29 12:30", tz=TZ)
    out = forecast(frame, now, TZ, hours=3, weeks=2, fit_days=10)
    assert out["basis"].tolist() == ["fitted"] * 3
    assert (out["low"] <= out["expected"]).all() and (out["expected"] <= out["high"]).all()
    rule = forecast(frame, now, TZ, hours=3, weeks=2, fit_days=0)
    assert rule["basis"].tolist() == ["rule"] * 3
    assert rule["profile"].tolist() == pytest.approx(out["profile"].tolist())
    after = series[
        (series.index > now.tz_localize(None))
        & (series.index <= now.tz_localize(None) + pd.Timedelta(hours=3))
    ]
    assert len(after) == 3
    assert np.abs(out["expected"].to_numpy() - after.to_numpy()).mean() < 0.5 * after.mean()


@pytest.mark.parametrize("hours", [0, 1, 2, 3, 30])
def test_features_of_a_history_shorter_than_the_lags_are_zero(hours: int) -> None:
    """A city just started (a few hours of history): features exist, unknown lags are 0."""
    deviation = np.arange(hours * 2, dtype=float).reshape(hours, 2) + 1.0
    x = forecast_model.features(deviation, horizon=3)
    assert x.shape == (hours, 2, 6)
    # The lag of 3 hours is known only from row 3 on.
    assert (x[:3, :, 0] == 0).all()
    assert np.array_equal(x[3:, :, 0], deviation[: max(0, hours - 3)])
