"""A source's options table read into a connector's option model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cockpit.config import CityConfig
from cockpit.errors import ConfigError
from cockpit.source import SourceContext
from connectors.options import HTTP_LIMIT_KEYS, MetricName, known_metric, source_options
from tests.connectors.faults import TEST_OPTIONS


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1)
    page_size: int = Field(default=100, ge=1, le=100)
    fields: dict[str, str] = {}

    @model_validator(mode="after")
    def _needs_an_id(self) -> _Options:
        if self.fields and "id" not in self.fields:
            raise ValueError("fields: name the id field")
        return self


def _context(demo_config: CityConfig, options: dict[str, object]) -> SourceContext:
    config = demo_config.sources["air"].model_copy(update={"options": options})
    return SourceContext("air", config)


def test_the_connector_options_are_read_and_the_http_limits_left_to_the_client(
    demo_config: CityConfig,
) -> None:
    options = source_options(
        _Options, _context(demo_config, {"dataset": "air-quality", **TEST_OPTIONS})
    )
    assert options == _Options(dataset="air-quality")
    assert set(TEST_OPTIONS) == HTTP_LIMIT_KEYS


@pytest.mark.parametrize(
    ("options", "key", "reason"),
    [
        ({"dataset": ""}, "sources.air.options.dataset", "at least 1 character"),
        ({"dataset": "d", "page_size": 500}, "sources.air.options.page_size", "less than or equal"),
        ({"dataset": "d", "colour": "red"}, "sources.air.options.colour", "Extra inputs"),
        ({}, "sources.air.options.dataset", "Field required"),
        ({"dataset": "d", "fields": {"name": "n"}}, "sources.air.options", "fields: name the id"),
    ],
)
def test_a_wrong_option_is_a_config_error_naming_the_key(
    demo_config: CityConfig, options: dict[str, object], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        source_options(_Options, _context(demo_config, options))
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert not caught.value.reason.startswith("Value error")


class _Column(BaseModel):
    metric: MetricName


def test_a_metric_option_names_a_metric_of_the_model() -> None:
    assert _Column(metric="pm10").metric == "pm10"
    assert known_metric("pedestrians") == "pedestrians"
    with pytest.raises(ValidationError, match="unknown metric 'noise'; expected one of"):
        _Column(metric="noise")
