"""The facade: what ``City`` answers, each answer kept once per data version and role,
answers of an older version given up for new data, and a public viewer never given what
comes from internal sources. Over the demo city (plus one internal source) in real
embedded stores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from cockpit.city import City, CityView
from tests.browser import T0, Clock, demo_runtime
from tests.layouts.test_permissions import INTERNAL_SOURCE, internal_city
from wiring.runtime import Runtime

ROLES = ("public", "staff")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp("city")
    rt = demo_runtime(folder / "data", Clock(T0), internal_city(folder))
    yield rt
    rt.close()


@pytest.fixture
def city(runtime: Runtime) -> City:
    return runtime.city


def new_data(runtime: Runtime, source: str = "traffic") -> int:
    """Store the source's snapshot again (a new data version); returns the new version."""
    snap = runtime.store.snapshot(source)
    assert snap is not None
    runtime.store.put_snapshot(replace(snap))
    return runtime.city.version()


def internal_site(city: City) -> str:
    sites = city.view("staff").sites
    return str(sites.loc[sites["source"] == INTERNAL_SOURCE, "id"].iloc[0])


def site_of(view: CityView, domain: str) -> str:
    return str(view.sites.loc[view.sites["domain"] == domain, "id"].iloc[0])


# -- views ---------------------------------------------------------------------------


def test_a_view_is_built_once_per_data_version_and_role(runtime: Runtime, city: City) -> None:
    public, staff = city.view("public"), city.view("staff")
    assert city.view("public") is public and city.view("staff") is staff
    assert public is not staff
    assert public.version == staff.version == city.version()
    version = new_data(runtime)
    assert version > public.version
    fresh = city.view("public")
    assert fresh is not public and fresh.version == version


def test_a_new_data_version_gives_up_the_older_answers(runtime: Runtime, city: City) -> None:
    old = city.view("public")
    board = city.alert_board("public")
    version = new_data(runtime)
    city.view("public")
    # one answer per (role, question): the older view is gone, not kept beside the new
    assert city.answers.peek(old.version, "public", ("view",)) is None
    assert city.answers.peek(version, "public", ("view",)) is not None
    # slow answers hold across versions for their own time (the board: a minute)
    assert city.alert_board("public") is board


def test_ready_view_never_builds_and_warm_builds_the_roles_served(
    runtime: Runtime, city: City
) -> None:
    for role in ROLES:
        city.view(role)
    new_data(runtime)
    assert city.ready_view("public") is None
    assert city.ready_view("staff") is None
    warmed: list[CityView] = []
    city.warm_hooks.append(warmed.append)
    try:
        assert city.warm() == ["public", "staff"]
    finally:
        city.warm_hooks.remove(warmed.append)
    assert [v.role for v in warmed] == ["public", "staff"]
    assert city.ready_view("public") is city.view("public")
    assert city.warm() == []  # nothing behind any more


def test_view_at_is_kept_per_moment_and_version(runtime: Runtime, city: City) -> None:
    moment = T0.to_pydatetime() - timedelta(minutes=30)
    past = city.view_at("public", moment)
    assert city.view_at("public", moment) is past
    assert city.view_at("staff", moment) is not past
    new_data(runtime)
    assert city.view_at("public", moment) is not past


# -- the twin's answers ----------------------------------------------------------------


def test_the_live_twin_is_answered_once_per_version_and_role(runtime: Runtime, city: City) -> None:
    twin = city.twin_at(None, "public")
    assert city.twin_at(None, "public") is twin
    assert city.twin_at(None, "staff") is not twin
    assert twin.at == T0
    new_data(runtime)
    again = city.twin_at(None, "public")
    assert again is not twin
    # the baselines of this hour are read once, then kept across versions
    assert again.baselines is twin.baselines
    assert not twin.baselines.empty


def test_a_replayed_twin_is_the_twin_of_that_moment(city: City) -> None:
    moment = T0.to_pydatetime() - timedelta(hours=2)
    twin = city.twin_at(moment, "public")
    assert twin.at == moment
    assert city.twin_at(moment, "public") is twin
    visible = set(city.view_at("public", moment).sites["id"].astype(str))
    assert set(twin.states["site_id"].astype(str)) <= visible


def test_answers_are_counted_as_hits(city: City) -> None:
    city.targets_and_co2("public")
    before = city.answers.hits
    city.targets_and_co2("public")
    city.sensor_health("public")
    city.sensor_health("public")
    city.site_pairs("public")
    assert city.site_pairs("public") is city.site_pairs("public")
    assert city.answers.hits >= before + 4


def test_remember_keeps_what_a_page_derives_per_view(runtime: Runtime, city: City) -> None:
    calls: list[str] = []

    def make(role: str) -> str:
        calls.append(role)
        return f"panel for {role}"

    for _ in range(3):
        for role in ROLES:
            assert city.remember(city.view(role), "panel", lambda r=role: make(r)) == (
                f"panel for {role}"
            )
    assert calls == ["public", "staff"]
    new_data(runtime)
    city.remember(city.view("public"), "panel", lambda: make("public"))
    assert calls == ["public", "staff", "public"]


def test_free_bays_and_forecasts_answer_for_visible_sites(city: City) -> None:
    view = city.view("public")
    bay = site_of(view, "parking")
    at = T0.to_pydatetime() + timedelta(hours=2)
    found = city.free_bays_forecast("public", bay, at)
    assert city.free_bays_forecast("public", bay, at) is found
    assert city.free_bays_forecast("public", "no-such-site", at) is None
    assert found is not None and found.places > 0
    ahead = city.site_forecast("public", site_of(view, "traffic"))
    assert ahead is not None and not ahead.empty
    assert city.site_forecast("public", "no-such-site") is None


def test_a_site_forecast_is_read_from_the_citys_forecast_of_the_hour(
    runtime: Runtime, city: City
) -> None:
    view = city.view("public")
    site = site_of(view, "traffic")
    question = ("forecasts", int(pd.Timestamp(city.clock()).floor("h").timestamp()))
    city.answers.clear()
    # before the warm-up has made the city's forecast, the site's own hours answer
    alone = city.site_forecast("public", site)
    assert alone is not None and not alone.empty
    assert city.answers.kept("public", question) is None
    every = city.forecasts("public")
    assert city.forecasts("public") is every  # once per role and clock hour
    assert {"traffic", "pedestrians", "air"} <= set(
        view.sites.set_index("id").loc[every["site_id"].unique(), "domain"]
    )
    assert not set(every["site_id"]) & set(view.sites.loc[view.sites["domain"] == "parking", "id"])
    made = city.answers.misses
    ahead = city.site_forecast("public", site)
    assert ahead is not None
    pd.testing.assert_frame_equal(ahead, every[every["site_id"] == site].reset_index(drop=True))
    assert city.answers.misses == made  # nothing fitted for the click
    new_data(runtime)
    assert city.forecasts("public") is every  # new minutes of data keep the hour's model
    assert city.site_forecast("public", "no-such-site") is None


# -- roles -----------------------------------------------------------------------------


def test_public_never_gets_internal_sources(city: City) -> None:
    hidden = internal_site(city)
    public = city.view("public")
    assert INTERNAL_SOURCE not in public.sources
    assert hidden not in set(public.sites["id"])
    assert INTERNAL_SOURCE in city.view("staff").sources

    start, end = T0 - pd.Timedelta(hours=6), T0 + pd.Timedelta(minutes=1)
    assert city.observations("public", [hidden], start, end).empty
    assert not city.observations("staff", [hidden], start, end).empty
    assert city.hourly("public", [hidden], start, end).empty
    assert city.site_forecast("public", hidden) is None

    board = city.alert_board("public")
    assert {a.site_id for a in board.alerts} <= set(public.sites["id"])
    assert {h.site_id for h in board.health} <= set(public.sites["id"])
    assert {h.site_id for h in city.sensor_health("public")} <= set(public.sites["id"])
    twin = city.twin_at(None, "public")
    assert hidden not in set(twin.states["site_id"])
    assert hidden not in set(city.hourly_metric("public", "pm10", start, end)["site_id"])


def test_shared_cache_is_the_store_every_process_shares(runtime: Runtime, city: City) -> None:
    city.shared_cache().set("facade-test", "seen")
    assert runtime.store.cache.get("facade-test") == "seen"


# -- per-stream freshness ------------------------------------------------------------


def test_a_dead_stream_leaves_kpis_and_is_named_in_sensor_health(
    runtime: Runtime, city: City
) -> None:
    from cockpit.twin import kpi

    original = runtime.store.snapshot("air")
    assert original is not None
    before = city.view("public")
    obs = original.observations.copy()
    row = obs.index[obs["metric"] == "pm10"][0]
    site_id, limit = obs.at[row, "site_id"], 7200.0
    runtime.config.sources["air"].stream_stale_after_seconds = limit
    # One stream's newest value is two years old (and would colour the whole air index).
    obs.at[row, "time"] = pd.Timestamp(before.generated) - pd.Timedelta(days=730)
    obs.at[row, "value"] = 900.0
    try:
        runtime.store.put_snapshot(replace(original, observations=obs))
        view = city.view("public")

        stale = view.stale_streams
        assert list(zip(stale["site_id"], stale["metric"], strict=True)) == [(site_id, "pm10")]
        assert stale["limit_s"].tolist() == [limit]
        assert not ((view.fresh["site_id"] == site_id) & (view.fresh["metric"] == "pm10")).any()
        # still on the map with its time, drawn stale: a person sees how old it is
        assert ((view.latest["site_id"] == site_id) & (view.latest["metric"] == "pm10")).any()
        layer = next(i for i, lay in runtime.config.layers.items() if lay.domain == "air")
        table = view.layer_table(layer, runtime.config.city.timezone).set_index("id")
        assert table.loc[site_id, "level"] == "stale"
        assert (table.drop(index=site_id)["level"] != "stale").all()
        air_ids = view.sites.loc[view.sites["domain"] == "air", "id"]
        fresh_air = view.fresh[view.fresh["site_id"].isin(air_ids)]
        [air_kpi] = [k for k in view.kpis if k.key == "air"]
        assert air_kpi.value == kpi.air_quality(fresh_air, view.sites).value
        without = before.latest[
            ~((before.latest["site_id"] == site_id) & (before.latest["metric"] == "pm10"))
            & before.latest["site_id"].isin(air_ids)
        ]
        assert air_kpi.value == kpi.air_quality(without, before.sites).value

        [flagged] = [h for h in city.sensor_health("public") if h.site_id == site_id]
        assert "stale_stream" in flagged.problems
        assert "pm10 last reading" in flagged.detail

        # /health names it under its source: counted, by site name and metric.
        name = view.sites.set_index("id").at[site_id, "name"]
        health = city.health("public")["sources"]
        assert health["air"]["stale_streams"] == {"count": 1, "streams": [f"{name} · pm10"]}
        assert all("stale_streams" not in e for s, e in health.items() if s != "air")
    finally:
        runtime.config.sources["air"].stream_stale_after_seconds = None
        runtime.store.put_snapshot(replace(original))
