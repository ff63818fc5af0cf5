"""Traffic: vehicles counted at intersections and on roads, and how freely they move."""

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
    name="traffic",
    title="Traffic",
    metrics=(
        Metric("vehicle_flow", "Vehicle flow", "veh/h", "traffic", 0, 20_000),
        Metric("speed", "Speed", "km/h", "traffic", 0, 250),
    ),
    kpis=(
        # A mean: the flow at the typical counted intersection, which a person can picture
        # (a sum over 39 intersections is not a flow anywhere). The level is set by a
        # congestion index (the median site's flow over its usual busy-hour flow), so the
        # limits are shares of that usual flow, not vehicles.
        KpiSpec(
            key="traffic",
            title="Traffic flow",
            metrics=("vehicle_flow",),
            unit="veh/h",
            aggregation="mean",
            warn=0.6,
            alert=0.85,
            method="traffic_flow",
            figure_label="veh/h per counted intersection",
            levels={"ok": "light", "warn": "moderate", "alert": "heavy"},
        ),
    ),
    map=MapRule("vehicle_flow", (1500, 3000), ("light", "moderate", "heavy")),
    slide=SlideSpec(
        question="How is traffic moving?", short="Traffic", order=40, content="congestion"
    ),
    phone=PhoneSummary(title="Traffic", kpi="traffic"),
    labels={
        "de": {
            "Traffic": "Verkehr",
            "Traffic flow": "Verkehrsfluss",
            "How is traffic moving?": "Wie läuft der Verkehr?",
            "Vehicle flow": "Verkehrsstärke",
            "Speed": "Geschwindigkeit",
            "veh/h": "Fz/h",
            "veh/h per counted intersection": "Fz/h je Zählstelle",
            "light": "flüssig",
            "moderate": "mäßig",
            "heavy": "dicht",
        }
    },
    # A few hundred vehicles an hour is a quiet road at night; changes below that are noise.
    noise_floors={"vehicle_flow": NoiseFloor(volume=200, counted=True)},
    entity_types={"TrafficFlowObserved": "counter"},
    description="traffic volumes at counting sites",
    themes=(("TRAN", "Transport"),),
)
