"""Cycling: people riding past counting stations (loops, radar), per hour or per day."""

from __future__ import annotations

from cockpit.domains.registry import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="cycling",
    title="Cycling",
    metrics=(
        Metric("cyclists", "Cyclists", "cyclists/h", "cycling", 0, 100_000, people=True),
        # Counters that publish one total a day (many cities' yearly files).
        Metric(
            "cyclists_daily", "Cyclists a day", "cyclists/day", "cycling", 0, 1_000_000, people=True
        ),
    ),
    kpis=(
        # A sum: riders per hour add up over the counting places.
        KpiSpec(
            key="cycling",
            title="Cyclists",
            metrics=("cyclists",),
            unit="cyclists/h",
            aggregation="sum",
            levels={"ok": "counted"},
        ),
        KpiSpec(
            key="cycling_daily",
            title="Cyclists a day",
            metrics=("cyclists_daily",),
            unit="cyclists/day",
            aggregation="sum",
            levels={"ok": "counted"},
        ),
    ),
    map=MapRule("cyclists", (50, 200), ("quiet", "busy", "very busy")),
    slide=SlideSpec(
        question="How many people are cycling?",
        short="Cycling",
        order=60,
        figure_label="cyclists an hour at the counters",
    ),
    phone=PhoneSummary(title="Cycling", kpi="cycling"),
    labels={
        "de": {
            "Cycling": "Radverkehr",
            "Cyclists": "Radfahrende",
            "Cyclists a day": "Radfahrende pro Tag",
            "How many people are cycling?": "Wie viele fahren Rad?",
            "cyclists an hour at the counters": "Radfahrende pro Stunde an den Zählstellen",
            "counted": "gezählt",
        }
    },
    description="counts of people cycling past counting stations",
    themes=(("TRAN", "Transport"),),
    about={
        "title": "How we count cyclists",
        "what": "{n} counting stations count bicycles passing by.",
        "privacy": "A counter counts wheels passing a loop or a beam; it sees no one.",
    },
)
