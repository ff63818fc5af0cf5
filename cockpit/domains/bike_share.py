"""Bike share: docking stations (bikes to hire, free docks, stations empty or full) and
free-floating vehicles parked in the street, counted per area."""

from __future__ import annotations

from cockpit.domains.registry import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="bike_share",
    title="Bike share",
    metrics=(
        Metric("hire_bikes", "Bikes to hire", "count", "bike_share", 0, 10_000),
        Metric("free_docks", "Free docks", "count", "bike_share", 0, 10_000),
        # Places of a station: its stated capacity, else bikes to hire plus free docks.
        Metric("dock_places", "Docking places", "count", "bike_share", 0, 10_000),
        # One station: 1 when no bike can be hired there (0 otherwise).
        Metric("station_empty", "Station empty", "1", "bike_share", 0, 1),
        # One station: 1 when no bike can be returned there (0 otherwise).
        Metric("station_full", "Station full", "1", "bike_share", 0, 1),
        # Free-floating bikes and scooters free to hire within one area of the city.
        Metric("parked_vehicles", "Vehicles to hire", "count", "bike_share", 0, 100_000),
    ),
    kpis=(
        # A share: bikes over the places of all stations, so a big station weighs more.
        KpiSpec(
            key="hire_bikes",
            title="Bikes to hire",
            metrics=("hire_bikes", "dock_places"),
            capacity_metric="dock_places",
            unit="% of docks",
            aggregation="share",
            levels={"ok": "bikes to hire"},
        ),
        # Mean of 0/1 per station in %: the share of stations where no bike can be hired.
        KpiSpec(
            key="empty_stations",
            title="Empty stations",
            metrics=("station_empty",),
            unit="% of stations",
            aggregation="share",
            warn=15,
            alert=30,
            levels={
                "ok": "bikes almost everywhere",
                "warn": "some stations empty",
                "alert": "many stations empty",
            },
        ),
        KpiSpec(
            key="full_stations",
            title="Full stations",
            metrics=("station_full",),
            unit="% of stations",
            aggregation="share",
            warn=15,
            alert=30,
            levels={
                "ok": "docks almost everywhere",
                "warn": "some stations full",
                "alert": "many stations full",
            },
        ),
        KpiSpec(
            key="parked_vehicles",
            title="Vehicles to hire",
            metrics=("parked_vehicles",),
            unit="vehicles",
            aggregation="sum",
        ),
    ),
    map=MapRule("station_empty", (0.5,), ("bikes to hire", "empty")),
    slide=SlideSpec(
        question="Can I hire a bike?",
        short="Bikes",
        order=50,
        figure_label="of the docks hold a bike",
    ),
    phone=PhoneSummary(title="Bike share", kpi="hire_bikes"),
    labels={
        "de": {
            "Bike share": "Leihräder",
            "Bikes": "Räder",
            "Bikes to hire": "Leihräder verfügbar",
            "Can I hire a bike?": "Kann ich ein Rad leihen?",
            "Empty stations": "Leere Stationen",
            "Full stations": "Volle Stationen",
            "Vehicles to hire": "Fahrzeuge zum Leihen",
            "of the docks hold a bike": "der Stellplätze haben ein Rad",
            "bikes to hire": "Räder verfügbar",
            "empty": "leer",
        }
    },
    description="bikes and docks available at bike-share stations, and free-floating vehicles",
    themes=(("TRAN", "Transport"),),
    about={
        "title": "How we count hire bikes",
        "what": "{n} stations and areas report the bikes and docks free to use.",
        "privacy": "A station reports a bike, never who rides it.",
    },
)
