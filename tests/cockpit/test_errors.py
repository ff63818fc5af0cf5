"""Typed errors say what a person needs to fix the cause, and keep it as attributes."""

from __future__ import annotations

import pytest

from cockpit import errors
from cockpit.errors import (
    CockpitError,
    ConfigError,
    ConnectorError,
    DataError,
    FetchError,
    MoveError,
    ParseError,
    ResponseTooLarge,
    TooManyPages,
    UpstreamStatusError,
)


def test_every_public_error_is_a_cockpit_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), CockpitError), name


def test_a_config_error_names_the_file_the_key_and_the_reason() -> None:
    error = ConfigError("cities/x.toml", "sources.air.url", "expected an http(s) URL")
    assert str(error) == "cities/x.toml: sources.air.url: expected an http(s) URL"
    assert (error.file, error.key, error.reason) == (
        "cities/x.toml",
        "sources.air.url",
        "expected an http(s) URL",
    )


def test_a_connector_error_names_the_source_and_the_url_when_known() -> None:
    with_url = ConnectorError("air", "timed out", "https://example.org/v1.1")
    assert str(with_url) == "source 'air' (https://example.org/v1.1): timed out"
    assert (with_url.source, with_url.url, with_url.reason) == (
        "air",
        "https://example.org/v1.1",
        "timed out",
    )
    without = ConnectorError("air", "timed out")
    assert str(without) == "source 'air': timed out" and without.url is None


@pytest.mark.parametrize(
    "kind", [FetchError, ParseError, ResponseTooLarge, TooManyPages, UpstreamStatusError]
)
def test_every_read_failure_is_a_connector_error(kind: type[ConnectorError]) -> None:
    error = kind("parking", "went wrong", "https://example.org")
    assert isinstance(error, ConnectorError)
    assert str(error) == "source 'parking' (https://example.org): went wrong"


def test_an_upstream_status_error_keeps_the_status() -> None:
    error = UpstreamStatusError("traffic", "HTTP 503", "https://example.org", status=503)
    assert error.status == 503 and error.source == "traffic"
    assert UpstreamStatusError("traffic", "HTTP error").status == 0


@pytest.mark.parametrize("kind", [DataError, MoveError])
def test_plain_errors_carry_their_message(kind: type[CockpitError]) -> None:
    with pytest.raises(kind, match="column 'time' is missing"):
        raise kind("column 'time' is missing")
