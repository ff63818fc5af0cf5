"""The connector interface: source contexts, the snapshot a connector takes, the
connector table, and the text helpers every connector shares."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from cockpit.config import CityConfig, SourceConfig
from cockpit.model import empty_observations, observations_frame, sites_frame
from cockpit.source import (
    SECRET_PARAMS,
    Connector,
    SourceContext,
    build_connector,
    known_connectors,
    native_id_text,
    redact_url,
    register_connector,
)

NOW = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def _config(demo_config: CityConfig, source: str) -> SourceConfig:
    return demo_config.sources[source]


def test_context_from_city_carries_the_city_frame(demo_config: CityConfig) -> None:
    source = next(iter(demo_config.sources))
    context = SourceContext.from_city(demo_config, source, {"X": "1"})
    assert context.source_id == source
    assert context.config is demo_config.sources[source]
    assert context.base_dir == demo_config.base_dir
    assert context.bbox == demo_config.city.bbox
    assert context.timezone == demo_config.city.timezone
    assert context.environ == {"X": "1"}


def test_a_secret_comes_from_the_variable_the_config_names(demo_config: CityConfig) -> None:
    source = next(iter(demo_config.sources))
    config = demo_config.sources[source].model_copy(update={"credentials": {"api_key": "CITY_KEY"}})
    context = SourceContext(source, config, environ={"CITY_KEY": "s3cret"})
    assert context.secret("api_key") == "s3cret"
    assert context.secret("token") is None  # the config names no variable for it
    assert SourceContext(source, config, environ={}).secret("api_key") is None  # unset


class _Fixed(Connector):
    """A connector answering fixed frames."""

    def __init__(self, context: SourceContext, sites: pd.DataFrame, latest: pd.DataFrame):
        super().__init__(context)
        self._sites = sites
        self._latest = latest

    def discover_sites(self) -> pd.DataFrame:
        return self._sites

    def read_latest(self, sites: pd.DataFrame) -> pd.DataFrame:
        return self._latest

    def read_window(self, sites: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
        return empty_observations()


def _site(site_id: str, lat: float, lon: float) -> dict[str, object]:
    return {
        "id": site_id,
        "name": site_id,
        "domain": "air",
        "lat": lat,
        "lon": lon,
        "source": "air",
        "native_id": site_id,
    }


def _row(site_id: str, value: float) -> dict[str, object]:
    return {
        "site_id": site_id,
        "metric": "pm10",
        "time": pd.Timestamp("2026-11-23 23:00", tz="UTC"),
        "value": value,
        "unit": "µg/m³",
        "source": "air",
    }


def test_a_snapshot_keeps_valid_rows_of_known_sites_and_counts_the_rest(
    demo_config: CityConfig, caplog: pytest.LogCaptureFixture
) -> None:
    context = SourceContext("air", _config(demo_config, "air"), bbox=(144.0, -39.0, 146.0, -37.0))
    sites = sites_frame([_site("air:1", -37.8, 144.9), _site("air:far", 10.0, 10.0)])
    latest = observations_frame([_row("air:1", 12.5), _row("air:far", 3.0), _row("air:1", -1)])
    snap = _Fixed(context, sites, latest).snapshot(now=NOW)
    assert snap.source == "air" and snap.fetched_at == NOW
    assert list(snap.sites["id"]) == ["air:1"]  # the far site lies outside the city
    assert list(snap.observations["value"]) == [12.5]
    assert list(snap.observations.index) == [0]
    assert snap.rejected == 2  # the far site and the negative concentration
    assert len(snap.notes) == 2 and all(n.startswith("rejected 1 ") for n in snap.notes)
    assert all("source air: rejected" in r.getMessage() for r in caplog.records)


def test_a_snapshot_keeps_an_example_row_per_rejection_reason(demo_config: CityConfig) -> None:
    context = SourceContext("air", _config(demo_config, "air"), bbox=(144.0, -39.0, 146.0, -37.0))
    sites = sites_frame([_site("air:1", -37.8, 144.9), _site("air:far", 10.0, 10.0)])
    latest = observations_frame([_row("air:1", 12.5), _row("air:1", -1), _row("air:1", -2)])
    snap = _Fixed(context, sites, latest).snapshot(now=NOW)
    assert snap.examples["rejected 1 site(s): coordinates outside the city"]["id"] == "air:far"
    example = snap.examples["rejected 2 observation(s): value outside the metric's range"]
    assert example == {
        "site_id": "air:1",
        "metric": "pm10",
        "time": "2026-11-23T23:00:00+00:00",
        "value": -1.0,
        "unit": "µg/m³",
    }


def test_explain_follows_each_site_and_says_why_it_was_dropped(
    demo_config: CityConfig,
) -> None:
    context = SourceContext("air", _config(demo_config, "air"), bbox=(144.0, -39.0, 146.0, -37.0))
    sites = sites_frame([_site("air:1", -37.8, 144.9), _site("air:far", 10.0, 10.0)])
    latest = observations_frame([_row("air:1", 12.5), _row("air:far", 3.0)])
    kept, dropped = _Fixed(context, sites, latest).explain(5)
    assert kept.kept and (kept.sites, kept.observations) == (1, 1) and kept.reasons == []
    assert kept.read["id"] == "air:1" and kept.mapped is None
    assert not dropped.kept
    assert dropped.reasons == ["site: coordinates outside the city"]


def test_native_ids_read_as_text() -> None:
    assert native_id_text(17) == "17"
    assert native_id_text(17.0) == "17"
    assert native_id_text(17.5) == "17.5"
    assert native_id_text("  A-3 ") == "A-3"
    for nothing in (None, True, "", "   ", float("nan"), float("inf"), [1], {"id": 1}):
        assert native_id_text(nothing) is None, nothing


def test_a_url_is_shown_without_its_secrets() -> None:
    url = "https://user:pw@example.org:8443/v1/data?token=abc&limit=10&API_KEY=k#frag"
    shown = redact_url(url)
    masked = "%2A%2A%2A"  # "***", URL-encoded in the query
    assert shown == f"https://example.org:8443/v1/data?token={masked}&limit=10&API_KEY={masked}"
    assert "pw" not in shown and "abc" not in shown and "frag" not in shown
    assert redact_url("https://example.org/k/XYZ123/data", ("XYZ123", "")) == (
        "https://example.org/k/***/data"
    )
    assert {"apikey", "token", "password"} <= SECRET_PARAMS


def test_the_table_names_every_platform() -> None:
    assert {"melbourne-replay", "sensorthings", "ngsi-ld", "ngsi-v2", "opendatasoft", "ckan"} <= (
        known_connectors()
    )


@pytest.fixture
def outside_module() -> Iterator[str]:
    """A connector module from outside the tree, importable as ``outside_platform``."""
    module = types.ModuleType("outside_platform")
    module.Outside = type(  # type: ignore[attr-defined]
        "Outside",
        (_Fixed,),
        {"__init__": lambda self, context: _Fixed.__init__(self, context, None, None)},
    )
    sys.modules["outside_platform"] = module
    yield "outside_platform:Outside"
    del sys.modules["outside_platform"]


def test_a_registered_connector_is_built_for_its_sources(
    demo_config: CityConfig, outside_module: str
) -> None:
    register_connector("outside", outside_module)
    try:
        assert "outside" in known_connectors()
        config = _config(demo_config, "air").model_copy(update={"connector": "outside"})
        connector = build_connector(SourceContext("air", config, base_dir=Path(".")))
        assert type(connector).__name__ == "Outside" and connector.source_id == "air"
    finally:
        from cockpit import source

        source._CONNECTORS.pop("outside", None)


def test_an_unknown_connector_is_a_key_error(demo_config: CityConfig) -> None:
    config = _config(demo_config, "air").model_copy(update={"connector": "no-such-platform"})
    with pytest.raises(KeyError):
        build_connector(SourceContext("air", config))
