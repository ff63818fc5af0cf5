"""Air quality: pollutant concentrations at monitoring stations, rated by the European
Air Quality Index."""

from __future__ import annotations

from cockpit.domains.registry import (
    Domain,
    KpiSpec,
    MapRule,
    NoiseFloor,
    PhoneSummary,
    SlideSpec,
)
from cockpit.model import Metric

__all__ = ["DOMAIN"]

POLLUTANTS = ("pm25", "pm10", "no2", "o3")

DOMAIN = Domain(
    name="air",
    title="Air quality",
    metrics=(
        Metric("pm25", "PM2.5", "µg/m³", "air", 0, 1_000, 1),
        Metric("pm10", "PM10", "µg/m³", "air", 0, 2_000, 1),
        Metric("no2", "NO₂", "µg/m³", "air", 0, 2_000, 1),
        Metric("o3", "O₃", "µg/m³", "air", 0, 1_000, 1),
    ),
    kpis=(
        # The worst: one station in a poor band is what people with asthma need to know;
        # a mean over stations would hide it. The band (1 good .. 6 extremely poor) sets
        # the level, so no numeric limits apply.
        KpiSpec(
            key="air",
            title="Air quality",
            metrics=POLLUTANTS,
            unit="EAQI band",
            aggregation="max",
            method="air_quality",
            baseline_metric="no2",
        ),
    ),
    map=MapRule("eaqi"),
    slide=SlideSpec(question="Is the air good today?", short="Air", order=10, content="air_index"),
    phone=PhoneSummary(title="Air quality", kpi="air"),
    labels={
        "de": {
            "Air": "Luft",
            "Air quality": "Luftqualität",
            "Is the air good today?": "Ist die Luft heute gut?",
            "European Air Quality Index (EEA)": "Europäischer Luftqualitätsindex (EUA)",
            "good": "gut",
            "fair": "ausreichend",
            "moderate": "mäßig",
            "poor": "schlecht",
            "very poor": "sehr schlecht",
            "extremely poor": "äußerst schlecht",
            "good / fair": "gut / ausreichend",
            "poor or worse": "schlecht oder schlechter",
        }
    },
    # Concentrations follow the weather more than the hour of the week: a change against
    # the usual hour counts only where the air reaches the WHO's short-term guideline
    # level (2021: the 24-hour means of PM2.5, PM10 and NO₂, the 8-hour mean of O₃) and
    # is large against it in µg/m³ too, so a rise from 6 to 9 µg/m³ of PM2.5 on a clean
    # day stays quiet; whether the air is good or poor is the index's and the alerts' task.
    noise_floors={
        "pm25": NoiseFloor(volume=15),
        "pm10": NoiseFloor(volume=45),
        "no2": NoiseFloor(volume=25),
        "o3": NoiseFloor(volume=100),
    },
    entity_types={"AirQualityObserved": "station"},
    description="air-quality measurements at monitoring stations",
    themes=(("ENVI", "Environment"), ("HEAL", "Health")),
)
