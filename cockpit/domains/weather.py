"""Weather: air temperature, wind and rain at the city's weather stations."""

from __future__ import annotations

from cockpit.domains.registry import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="weather",
    title="Weather",
    metrics=(
        Metric("air_temperature", "Temperature", "°C", "weather", -60, 60, decimals=1),
        Metric("wind_speed", "Wind speed", "m/s", "weather", 0, 120, decimals=1),
        Metric("precipitation", "Rain", "mm/h", "weather", 0, 500, decimals=1),
    ),
    kpis=(
        # A mean: temperatures do not add up; the typical station.
        KpiSpec(
            key="temperature",
            title="Temperature",
            metrics=("air_temperature",),
            unit="°C",
            aggregation="mean",
            warn=30,
            alert=35,
            decimals=1,
            levels={"ok": "", "warn": "hot", "alert": "very hot"},
        ),
        # The windiest station: Beaufort 6 (strong breeze) and 8 (gale) from 10.8, 17.2 m/s.
        KpiSpec(
            key="wind",
            title="Wind",
            metrics=("wind_speed",),
            unit="m/s",
            aggregation="max",
            warn=10.8,
            alert=17.2,
            decimals=1,
            levels={"ok": "calm to breezy", "warn": "strong wind", "alert": "gale"},
        ),
        # The wettest station: moderate rain from 2.5 mm/h, heavy from 7.6 mm/h.
        KpiSpec(
            key="rain",
            title="Rain",
            metrics=("precipitation",),
            unit="mm/h",
            aggregation="max",
            warn=2.5,
            alert=7.6,
            decimals=1,
            levels={"ok": "dry or light rain", "warn": "moderate rain", "alert": "heavy rain"},
        ),
    ),
    map=MapRule("wind_speed", (10.8, 17.2), ("calm", "strong wind", "gale")),
    slide=SlideSpec(
        question="Do I need an umbrella?",
        short="Weather",
        order=70,
        figure_label="°C in the city",
    ),
    phone=PhoneSummary(title="Weather", kpi="temperature"),
    labels={
        "de": {
            "Weather": "Wetter",
            "Temperature": "Temperatur",
            "Wind": "Wind",
            "Rain": "Regen",
            "Do I need an umbrella?": "Brauche ich einen Schirm?",
            "°C in the city": "°C in der Stadt",
            "hot": "heiß",
            "very hot": "sehr heiß",
            "calm to breezy": "ruhig bis windig",
            "strong wind": "starker Wind",
            "gale": "Sturm",
            "dry or light rain": "trocken oder leichter Regen",
            "moderate rain": "mäßiger Regen",
            "heavy rain": "starker Regen",
        }
    },
    description="temperature, wind and rain measured at weather stations",
    themes=(("ENVI", "Environment"),),
)
