"""The map at a past moment: the moment read from the request, the files' URLs and the
route's answers (as the time machine asks them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dash import Dash
from flask.testing import FlaskClient

from layouts.routes.replay import ReplayRequestError, replay_moment, replay_urls
from tests.browser import AppServers
from wiring.app import create_app
from wiring.runtime import Runtime

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def runtime(app_server: AppServers) -> Runtime:
    return app_server.city(backfill=False)


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> FlaskClient:
    app: Dash = create_app(runtime, start_refresher=False)
    return app.server.test_client()


def test_a_moment_is_read_in_epoch_seconds() -> None:
    at = NOW - timedelta(hours=3)
    assert replay_moment(str(int(at.timestamp())), NOW) == at


@pytest.mark.parametrize(
    ("t", "message"),
    [
        (None, "epoch seconds"),
        ("", "epoch seconds"),
        ("yesterday", "epoch seconds"),
        ("1.5", "epoch seconds"),
        (str(int((NOW + timedelta(minutes=1)).timestamp())), "7 days"),
        (str(int((NOW - timedelta(days=9)).timestamp())), "7 days"),
        ("-1", "7 days"),  # before 1970
        ("9" * 30, "7 days"),  # no datetime reaches it
    ],
)
def test_a_moment_outside_the_replay_is_refused(t: str | None, message: str) -> None:
    with pytest.raises(ReplayRequestError, match=message) as raised:
        replay_moment(t, NOW)
    assert raised.value.status == 400


def test_each_layer_gets_its_file_at_the_moment(runtime: Runtime) -> None:
    view = runtime.city.view("public")
    urls = replay_urls(view, NOW)
    at = int(NOW.timestamp())
    assert urls == {layer: f"/map-data-at/{layer}.json?t={at}" for layer in view.layers}


def test_the_route_answers_a_layer_at_a_past_moment(client: FlaskClient, runtime: Runtime) -> None:
    city = runtime.city
    layer = next(iter(city.view("public").layers))
    at = int((city.clock() - timedelta(hours=1)).timestamp())
    answer = client.get(f"/map-data-at/{layer}.json?t={at}")
    assert answer.status_code == 200
    assert "no-store" in answer.headers["Cache-Control"]
    assert {"n", "x", "y", "columns"} <= set(answer.get_json())


def test_the_route_refuses_what_it_cannot_replay(client: FlaskClient, runtime: Runtime) -> None:
    at = int((runtime.city.clock() - timedelta(hours=1)).timestamp())
    assert client.get(f"/map-data-at/no-such-layer.json?t={at}").status_code == 404
    refused = client.get("/map-data-at/traffic.json?t=soon")
    assert refused.status_code == 400
    assert b"epoch seconds" in refused.data
