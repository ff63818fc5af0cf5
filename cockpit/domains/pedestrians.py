"""Pedestrians: people walking past counting sensors, per hour (counts, never images)."""

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

DOMAIN = Domain(
    name="pedestrians",
    title="Pedestrians",
    metrics=(
        Metric("pedestrians", "Pedestrians", "persons/h", "pedestrians", 0, 100_000, people=True),
    ),
    kpis=(
        # A sum: people per hour add up over the counting places. The level compares the
        # sum with the same weekday and hour of earlier weeks (busier or quieter than
        # usual), so no numeric limits apply.
        KpiSpec(
            key="footfall",
            title="Footfall",
            metrics=("pedestrians",),
            unit="persons/h",
            aggregation="sum",
            method="footfall",
            figure_label="persons/h at all counters together",
            levels={"ok": "as usual", "warn": "busier than usual"},
        ),
    ),
    map=MapRule("pedestrians", (250, 1000), ("quiet", "busy", "crowded")),
    slide=SlideSpec(question="How busy is the centre?", short="Crowds", order=20, content="crowds"),
    phone=PhoneSummary(title="Pedestrians", kpi="footfall"),
    labels={
        "de": {
            "Crowds": "Andrang",
            "Footfall": "Passantenfrequenz",
            "Pedestrians": "Fußgänger",
            "How busy is the centre?": "Wie voll ist die Innenstadt?",
            "persons/h": "Personen/h",
            "persons/h at all counters together": "Personen/h an allen Zählern zusammen",
            "as usual": "wie üblich",
            "busier than usual": "belebter als üblich",
            "quieter than usual": "ruhiger als üblich",
            "quiet": "ruhig",
            "busy": "belebt",
            "crowded": "voll",
        }
    },
    # Fewer than 100 people an hour is a quiet street whatever its percentage change.
    noise_floors={"pedestrians": NoiseFloor(volume=100, counted=True)},
    entity_types={"CrowdFlowObserved": "counter"},
    description="hourly counts of pedestrians",
    themes=(("TRAN", "Transport"), ("REGI", "Regions and cities")),
)
