"""The trend chart: one line per metric in the city's local time, the forecast as a dashed
line in its band, the time machine's cursor, and a blank chart that says why."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cockpit.model import observations_frame
from layouts.components.trend import cursor_shapes, empty_trend, pair_figure, trend_figure

TZ = "Australia/Melbourne"
START = pd.Timestamp("2025-05-13 00:00", tz="UTC")  # 10:00 in Melbourne


def hourly(metric: str, values: list[float]) -> pd.DataFrame:
    return observations_frame(
        [
            {"site_id": "s", "metric": metric, "time": START + pd.Timedelta(hours=i), "value": v}
            for i, v in enumerate(values)
        ]
    )


def test_a_blank_chart_says_why() -> None:
    fig = empty_trend("Nothing here yet.")
    assert not fig.data
    assert fig.layout.annotations[0].text == "Nothing here yet."
    assert fig.layout.xaxis.visible is False
    empty = trend_figure(observations_frame([]), "Site", TZ)
    assert empty.layout.annotations[0].text == "No observations in the history for this site yet."
    assert pair_figure(pd.DataFrame(), "Pair", TZ, "Vehicles").layout.annotations


def test_one_line_per_metric_in_local_time_with_label_and_unit() -> None:
    series = pd.concat([hourly("vehicle_flow", [100, 200]), hourly("speed", [40, 35])])
    fig = trend_figure(series, "Swanston St", TZ)
    assert fig.layout.title.text == "Swanston St"
    assert [t.name for t in fig.data] == ["Speed (km/h)", "Vehicle flow (veh/h)"]
    flow = fig.data[1]
    assert list(flow.y) == [100, 200]
    assert pd.Timestamp(flow.x[0]) == pd.Timestamp("2025-05-13 10:00")  # Melbourne, naive
    assert fig.layout.shapes == ()  # live: no cursor


def test_a_bay_steps_between_free_and_occupied() -> None:
    fig = trend_figure(hourly("bay_occupied", [0, 1, 0]), "Bay 1", TZ)
    assert fig.data[0].line.shape == "hv"
    assert trend_figure(hourly("pm25", [5, 6]), "Air", TZ).data[0].line.shape == "linear"


def test_the_forecast_continues_the_line_inside_its_band() -> None:
    series = hourly("pedestrians", [300, 320])
    ahead = pd.DataFrame(
        {
            "metric": "pedestrians",
            "time": [START + pd.Timedelta(hours=2), START + pd.Timedelta(hours=3)],
            "expected": [340.0, 360.0],
            "low": [300.0, 310.0],
            "high": [380.0, 410.0],
        }
    )
    labels = {"forecast": "Prognose", "band": "wahrscheinlicher Bereich"}
    fig = trend_figure(series, "Counter", TZ, forecast=ahead, labels=labels)
    names = [t.name for t in fig.data]
    assert names == [
        "Pedestrians (persons/h)",
        "Pedestrians wahrscheinlicher Bereich (high)",
        "Pedestrians wahrscheinlicher Bereich",
        "Pedestrians Prognose",
    ]
    high, low, expected = fig.data[1], fig.data[2], fig.data[3]
    # Every forecast trace starts at the last observation, so the line does not break.
    assert list(expected.y) == [320.0, 340.0, 360.0] and expected.line.dash == "dash"
    assert list(low.y) == [320.0, 300.0, 310.0] and low.fill == "tonexty"
    assert list(high.y) == [320.0, 380.0, 410.0] and high.showlegend is False


def test_the_cursor_marks_the_time_machines_moment_in_local_time() -> None:
    assert cursor_shapes(None, TZ) == []
    (line,) = cursor_shapes(datetime(2025, 5, 13, 3, 0, tzinfo=UTC), TZ)
    assert line["x0"] == line["x1"] == "2025-05-13T13:00:00"
    assert (line["yref"], line["y0"], line["y1"]) == ("paper", 0, 1)
    moment = datetime(2025, 5, 13, 1, 0, tzinfo=UTC)
    fig = trend_figure(hourly("no2", [20, 30]), "Air", TZ, moment=moment)
    assert fig.layout.shapes[0].x0 == "2025-05-13T11:00:00"


def test_the_pair_chart_puts_pollutants_on_the_right_axis() -> None:
    frame = pd.DataFrame(
        {
            "time": [START, START + pd.Timedelta(hours=1)],
            "vehicle_flow": [900.0, 1200.0],
            "no2": [30.0, 45.0],
            "pm25": [float("nan"), float("nan")],  # no PM2.5 data: no empty line for it
        }
    )
    fig = pair_figure(frame, "Traffic and air", TZ, "Vehicles per hour")
    assert [t.name for t in fig.data] == ["Vehicles per hour", "NO₂ (µg/m³)"]
    assert fig.data[1].yaxis == "y2" and fig.layout.yaxis2.side == "right"
    assert fig.layout.yaxis.title.text == "veh/h"
