"""Checks every built-in domain's own test module makes of its declaration: its words in
each language the app ships, and the states its map rule gives to values on the map."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cockpit.config import LayerConfig
from cockpit.domains import Domain
from cockpit.model import observations_frame, validate_observations
from cockpit.present.i18n import available_languages, translator
from cockpit.twin.states import site_states

__all__ = [
    "default_layer",
    "map_states",
    "missing_words",
    "range_verdicts",
    "untranslated_states",
]

NOW = pd.Timestamp("2025-05-13 08:00", tz="UTC")


def default_layer(domain: Domain) -> LayerConfig:
    """A layer of ``domain``'s map metric that names no thresholds or labels of its own,
    as a city's config may write it: the domain's map rule fills them in."""
    return LayerConfig(
        domain=domain.name, title=domain.title, sources=[domain.name], metric=domain.map.metric
    )


def _frame(readings: Sequence[tuple[str, float]]) -> pd.DataFrame:
    return observations_frame(
        [
            {"site_id": f"s{i:02d}", "metric": metric, "time": NOW, "value": value}
            for i, (metric, value) in enumerate(readings)
        ]
    )


def map_states(domain: Domain, readings: Sequence[tuple[str, float]]) -> list[tuple[str, str]]:
    """(state, level) of one site per ``(metric, value)`` reading, on the default layer."""
    states = site_states(_frame(readings), default_layer(domain)).sort_values("site_id")
    return list(zip(states["state"], states["level"], strict=True))


def range_verdicts(metric: str, values: Sequence[float]) -> list[str]:
    """For each of ``values`` of ``metric`` in its canonical unit: "kept", or the reason
    the model's validation rejects it."""
    good, rejected = validate_observations(_frame([(metric, v) for v in values]))
    verdicts = dict.fromkeys(good["site_id"], "kept")
    verdicts.update(zip(rejected["site_id"], rejected["reason"], strict=True))
    return [verdicts[f"s{i:02d}"] for i in range(len(values))]


def missing_words(domain: Domain) -> dict[str, list[str]]:
    """Per shipped language other than English, the domain's own words (title, kiosk
    question and tab, phone title, KPI titles) its ``labels`` leave untranslated."""
    words = {domain.title, domain.slide.question, domain.slide.short, domain.phone.title}
    words |= {k.title for k in domain.kpis}
    return {
        language: sorted(w for w in words if not domain.labels.get(language, {}).get(w))
        for language in available_languages()
        if language != "en"
    }


def untranslated_states(words: Sequence[str]) -> dict[str, list[str]]:
    """Per shipped language other than English, the state and level ``words`` the phone
    view (where people read them one by one) would show in English."""
    missing = {}
    for language in available_languages():
        if language == "en":
            continue
        gettext = translator(language, "mobile")
        missing[language] = [w for w in words if gettext(w) == w]
    return missing
