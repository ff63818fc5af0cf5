"""Noise: the equivalent continuous A-weighted sound level (LAeq) at noise monitors."""

from __future__ import annotations

from cockpit.domains.registry import Domain, KpiSpec, MapRule, PhoneSummary, SlideSpec
from cockpit.model import Metric

__all__ = ["DOMAIN"]

DOMAIN = Domain(
    name="noise",
    title="Noise",
    metrics=(Metric("laeq", "Noise level (LAeq)", "dB(A)", "noise", 0, 140, decimals=1),),
    kpis=(
        # The loudest monitor: sound levels are logarithmic, so a mean of dB would mislead.
        # 55 dB(A) is the EU's reporting threshold for day-evening-night road noise and
        # 65 dB(A) the level many cities treat as a hot spot.
        KpiSpec(
            key="noise",
            title="Noise level",
            metrics=("laeq",),
            unit="dB(A)",
            aggregation="max",
            warn=55,
            alert=65,
            decimals=1,
            levels={"ok": "quiet", "warn": "loud", "alert": "very loud"},
        ),
    ),
    map=MapRule("laeq", (55, 65), ("quiet", "loud", "very loud")),
    slide=SlideSpec(
        question="How loud is the city?",
        short="Noise",
        order=80,
        figure_label="dB(A) at the loudest monitor",
    ),
    phone=PhoneSummary(title="Noise", kpi="noise"),
    labels={
        "de": {
            "Noise": "Lärm",
            "Noise level": "Lärmpegel",
            "How loud is the city?": "Wie laut ist die Stadt?",
            "dB(A) at the loudest monitor": "dB(A) an der lautesten Messstelle",
            "quiet": "ruhig",
            "loud": "laut",
            "very loud": "sehr laut",
        }
    },
    description="sound levels (LAeq) measured at noise monitors",
    themes=(("ENVI", "Environment"),),
)
