"""Parking: street bays (occupied or free) and car parks (occupancy and free spaces)."""

from __future__ import annotations

from cockpit.domains.registry import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="parking",
    title="Parking",
    metrics=(
        Metric("occupancy", "Occupancy", "%", "parking", 0, 100),
        Metric("free_spaces", "Free spaces", "count", "parking", 0, 100_000),
        # One parking bay: 1 occupied, 0 free.
        Metric("bay_occupied", "Bay occupied", "1", "parking", 0, 1),
    ),
    kpis=(
        # A share: occupied places of all places with a known state, so a car park of 500
        # weighs 500 bays; a mean of each site's percentage would weigh it as one bay.
        KpiSpec(
            key="parking",
            title="Parking occupancy",
            metrics=("bay_occupied", "occupancy"),
            unit="%",
            aggregation="share",
            warn=85,
            alert=95,
            method="parking_occupancy",
            # The number is the occupied share, so it says "occupied" beside it.
            figure_label="% occupied",
            levels={"ok": "spaces free", "warn": "filling up", "alert": "nearly full"},
        ),
    ),
    map=MapRule("bay_occupied", (0.5,), ("free", "occupied")),
    slide=SlideSpec(question="Where can I park?", short="Parking", order=30, content="free_bays"),
    phone=PhoneSummary(title="Parking", kpi="parking"),
    labels={
        "de": {
            "Parking": "Parken",
            "Parking occupancy": "Parkplatzbelegung",
            "Where can I park?": "Wo kann ich parken?",
            "Occupancy": "Belegung",
            "Free spaces": "Freie Plätze",
            "Bay occupied": "Stellplatz belegt",
            "% occupied": "% belegt",
            "spaces free": "Plätze frei",
            "filling up": "füllt sich",
            "nearly full": "fast voll",
            "free": "frei",
            "occupied": "belegt",
        }
    },
    entity_types={"OffStreetParking": "facility", "OnStreetParking": "zone", "ParkingSpot": "bay"},
    description="occupancy of parking places",
    themes=(("TRAN", "Transport"),),
)
