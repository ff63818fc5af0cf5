"""The demo badge beside a view's title: shown while a figure is replayed or simulated,
in the viewer's language, and never for a city measured live."""

from __future__ import annotations

import dataclasses

from layouts.components.demo_badge import demo_badge_tag
from tests.layouts.components.small_view import view


def test_a_city_measured_live_has_no_badge() -> None:
    assert demo_badge_tag(view(), "en") is None


def test_a_replayed_source_or_a_simulated_place_brings_the_badge() -> None:
    live = view()
    replayed = dict(live.sources)
    replayed["parking"] = dataclasses.replace(replayed["parking"], origin="May 2025, replayed")
    badge = demo_badge_tag(dataclasses.replace(live, sources=replayed), "de")
    assert badge is not None and badge.children == "Demo: wiedergegebene und simulierte Daten"
    simulated = live.sites.assign(origin=["measured"] * 5 + ["simulated"])
    badge = demo_badge_tag(dataclasses.replace(live, sites=simulated), "en")
    assert badge is not None and badge.children == "Demo: replayed and simulated data"
